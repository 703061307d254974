"""The DuckDB settings of the dbt profile survive what a large night does: spill, then open more connections."""

from __future__ import annotations

import os
from contextlib import closing

import duckdb
import jinja2
import yaml

from sudata.settings import DBT_PROJECT_DIR, DEFAULT_DUCKDB_MEMORY_LIMIT, duckdb_memory_limit


def _profile_settings(home) -> dict[str, str]:
    env = {**os.environ, "SUDATA_HOME": str(home)}
    render = jinja2.Environment().from_string
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text("utf-8"))
    settings = profile["sudata"]["outputs"]["duckdb"]["settings"]
    return {k: render(str(v)).render(env_var=lambda name, default=None: env.get(name, default)) for k, v in settings.items()}


def test_profile_caps_memory_like_every_other_connection(tmp_path, monkeypatch):
    monkeypatch.delenv("SUDATA_DUCKDB_MEMORY_LIMIT", raising=False)
    assert _profile_settings(tmp_path)["memory_limit"] == DEFAULT_DUCKDB_MEMORY_LIMIT == duckdb_memory_limit()
    monkeypatch.setenv("SUDATA_DUCKDB_MEMORY_LIMIT", "900MB")
    assert _profile_settings(tmp_path)["memory_limit"] == "900MB" == duckdb_memory_limit()


def test_profile_settings_can_be_applied_again_after_a_spill(tmp_path, monkeypatch):
    # dbt-duckdb applies the profile's settings to each connection it opens during a build; a setting DuckDB
    # refuses to change once the database has spilled would fail every model after the first large one.
    monkeypatch.setenv("SUDATA_DUCKDB_MEMORY_LIMIT", "48MB")
    settings = _profile_settings(tmp_path)
    with closing(duckdb.connect(str(tmp_path / "warehouse.duckdb"))) as con:
        for key, value in settings.items():
            con.execute(f"set {key} = '{value}'")
        con.execute("set threads = 1")
        con.execute("create table t as select i, md5(cast(i as varchar)) as s from range(1500000) r(i)")
        # Sorting ~100 MB under a 48 MB cap only completes by spilling.
        assert con.execute("select count(*) from (select * from t order by s)").fetchone()[0] == 1_500_000
        for key, value in settings.items():
            con.execute(f"set {key} = '{value}'")


def _wal_after_a_large_update(database, settings: dict[str, str]) -> tuple[int, bool]:
    """The size of the write-ahead log just after a commit that writes ~50 MB of it, and whether closing
    the database leaves one."""
    wal = database.with_name(database.name + ".wal")
    con = duckdb.connect(str(database))
    for key, value in settings.items():
        con.execute(f"set {key} = '{value}'")
    con.execute("create table t as select i, md5(cast(i as varchar)) as s from range(1500000) r(i)")
    con.execute("checkpoint")
    con.execute("update t set s = md5(s)")
    size = wal.stat().st_size if wal.exists() else 0
    con.close()
    return size, wal.exists()


def test_a_builds_merges_are_checkpointed_once_when_dbt_closes_the_warehouse(tmp_path):
    # At DuckDB's default threshold the commit checkpoints at once (the other dbt thread waits meanwhile);
    # under the profile's settings the log is kept until the warehouse is closed, and then written.
    default_size, _ = _wal_after_a_large_update(tmp_path / "default.duckdb", {})
    assert default_size < 16 * 2**20
    size, left_behind = _wal_after_a_large_update(tmp_path / "profile.duckdb", _profile_settings(tmp_path))
    assert size > 16 * 2**20
    assert not left_behind
