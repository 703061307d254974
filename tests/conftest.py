"""Shared fixtures: every test gets its own SUDATA_HOME and SUDATA_RAW in a temporary directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sudata import dbt_codegen
from sudata.settings import PROJECT_ROOT, Paths

# pytest-xdist names each worker process; the controller (or a run without workers) has no name.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")

# The dbt project's generated part (from registry/), as every entry point renders it before dbt parses.
# Rendered once, before the workers start: two workers rendering at once would race on the same files.
if WORKER is None:
    dbt_codegen.write()

os.environ.setdefault("DAGSTER_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"sudata-test-dagster-{WORKER or 'main'}"))

# Column lineage costs every night about 25 s: the session's sample nights collect it (the UI tests read
# it there), the other nights of the suite do not.
os.environ.setdefault("SUDATA_COLUMN_LINEAGE", "0")

RAM_DISK, RAM_DISK_MIN_FREE = Path("/dev/shm"), 8 << 30


def pytest_configure(config):
    """Temporary homes on a RAM disk when the machine has room for them. The suite runs dozens of sample
    nights; each writes some 1,500 Dagster events to SQLite and syncs every published file, and on a disk
    those syncs are a third of a night. A SIGKILL loses no written page either way, so the crash tests
    mean the same. ``--basetemp`` (or SUDATA_TEST_TMP) chooses another place."""
    if config.option.basetemp:
        return
    root = os.environ.get("SUDATA_TEST_TMP") or (
        str(RAM_DISK) if RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK)
        and shutil.disk_usage(RAM_DISK).free >= RAM_DISK_MIN_FREE else None)
    if root:
        config.option.basetemp = tempfile.mkdtemp(prefix="sudata-tests-", dir=root)
        config._sudata_ram_basetemp = config.option.basetemp  # noqa: SLF001


# The modules that run whole nights, longest first (from `--durations`). With two workers the longest must
# start first, or the suite ends waiting on it; Makefile's `--no-loadscope-reorder` keeps this order.
LONGEST_FIRST = ("test_crash_pipeline", "test_spark", "test_incremental", "test_bad_night_e2e", "test_backfill",
                 "test_pipeline_e2e", "test_failure_paths", "test_new_source", "test_validity_rules",
                 "test_dagster_ui", "test_reexecution", "test_dbt_macros")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: the rest keep their order


def pytest_unconfigure(config):
    made = getattr(config, "_sudata_ram_basetemp", None)
    if made and not os.environ.get("SUDATA_TEST_TMP"):  # RAM is given back; a chosen place is kept
        shutil.rmtree(made, ignore_errors=True)


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


SAMPLE_FIRST_NIGHT = "2026-11-23"


def sudata_command(home: Path, raw: Path, *args: str, crash_at: str | None = None, env: dict | None = None):
    """``sudata ARGS`` in a process group of its own (a crash point kills the group: dbt's process too)."""
    import subprocess
    import sys

    env = {**os.environ, "SUDATA_HOME": str(home), "SUDATA_RAW": str(raw), "DAGSTER_HOME": str(home / "dagster"),
           **(env or {})}
    env.pop("SUDATA_CRASH_AT", None)
    if crash_at:
        env["SUDATA_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main(sys.argv[1:]))",
                           *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1800,
                          start_new_session=True)


@pytest.fixture(scope="session")
def sample_nights(tmp_path_factory) -> dict:
    """The bundled sample run uninterrupted, once per session: ``first`` is the home after the first night
    alone (copy it to start from there), ``home`` the home after the second night's `sudata run` too.
    Read-only for the tests that share it. With pytest-xdist the workers share one: the first to need it
    runs the nights under a lock, the others wait for it and read the same homes."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent if WORKER else tmp_path_factory.getbasetemp()
    base = shared / "sample_nights"
    raw, home = base / "raw", base / "home"
    with FileLock(shared / "sample_nights.lock"):
        if not (base / "done").exists():
            shutil.rmtree(base, ignore_errors=True)  # a worker that failed half-way left it
            shutil.copytree(PROJECT_ROOT / "raw", raw)
            lineage = {"SUDATA_COLUMN_LINEAGE": "1"}
            done = sudata_command(home, raw, "run", "--date", SAMPLE_FIRST_NIGHT, env=lineage)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            shutil.copytree(home, base / "first", symlinks=True)
            done = sudata_command(home, raw, "run", env=lineage)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            (base / "done").touch()
    return {"raw": raw, "first": base / "first", "home": home, "paths": Paths(home=home, raw=raw)}
