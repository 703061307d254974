"""The fingerprint of what a dbt build reads (orchestration.build_inputs): equal exactly when a build would
repeat the last one."""

from __future__ import annotations

import os

import pytest

from orchestration.build_inputs import build_inputs, warehouse_stamp
from sudata.settings import Paths


@pytest.fixture
def setup(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: t\n", encoding="utf-8")
    (project / "models" / "m.sql").write_text(
        """select md5('{{ env_var("SUDATA_PSEUDONYM_SALT") }}' || x) from read_parquet('{{ env_var('SUDATA_HOME') }}')""",
        encoding="utf-8")
    paths = Paths(home=tmp_path / "home", raw=tmp_path / "raw")
    (paths.lake / "raw" / "schools").mkdir(parents=True)
    (paths.lake / "raw" / "schools" / "2026-11-23.parquet").write_bytes(b"PAR1")
    monkeypatch.setenv("SUDATA_PSEUDONYM_SALT", "one")
    return project, paths


def test_unchanged_inputs_give_the_same_fingerprint(setup, monkeypatch):
    project, paths = setup
    first = build_inputs(paths, project)
    assert build_inputs(paths, project) == first
    monkeypatch.setenv("SUDATA_HOME", "/elsewhere")  # where the home is, not what it holds
    monkeypatch.setenv("SUDATA_CRASH_AT", "inside_gate@1")  # a variable the project does not read
    assert build_inputs(paths, project) == first


@pytest.mark.parametrize("change", ["new drop", "redelivered drop", "model edited", "salt changed"])
def test_each_input_changes_the_fingerprint(setup, monkeypatch, change):
    project, paths = setup
    first = build_inputs(paths, project)
    drop = paths.lake / "raw" / "schools" / "2026-11-23.parquet"
    if change == "new drop":
        (drop.parent / "2026-11-24.parquet").write_bytes(b"PAR1")
    elif change == "redelivered drop":  # rewritten in place, same size: its modification time tells
        st = drop.stat()
        os.utime(drop, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    elif change == "model edited":
        (project / "models" / "m.sql").write_text("select 2", encoding="utf-8")
    else:
        monkeypatch.setenv("SUDATA_PSEUDONYM_SALT", "two")
    assert build_inputs(paths, project) != first


def test_the_warehouse_stamp_follows_every_write(tmp_path):
    paths = Paths(home=tmp_path, raw=tmp_path / "raw")
    assert warehouse_stamp(paths) is None
    paths.warehouse.write_bytes(b"x" * 10)
    first = warehouse_stamp(paths)
    st = paths.warehouse.stat()
    os.utime(paths.warehouse, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert warehouse_stamp(paths) != first and warehouse_stamp(paths)[0] == 10
