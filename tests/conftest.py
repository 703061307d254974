"""Shared fixtures: every test gets its own SUDATA_HOME and SUDATA_RAW in a temporary directory."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sudata import dbt_codegen
from sudata.settings import PROJECT_ROOT, Paths

# The dbt project's generated part (from registry/), as every entry point renders it before dbt parses.
dbt_codegen.write()

os.environ.setdefault("DAGSTER_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "sudata-test-dagster"))


@pytest.fixture
def paths(tmp_path, monkeypatch) -> Paths:
    home, raw = tmp_path / "home", tmp_path / "raw"
    home.mkdir()
    raw.mkdir()
    monkeypatch.setenv("SUDATA_HOME", str(home))
    monkeypatch.setenv("SUDATA_RAW", str(raw))
    return Paths(home=home, raw=raw)


@pytest.fixture
def sample_raw(paths) -> Paths:
    """A private copy of the bundled sample drops, safe to break."""
    shutil.copytree(PROJECT_ROOT / "raw", paths.raw, dirs_exist_ok=True)
    return paths
