"""dbt's Spark target: the gate and publication read Spark's Parquet tables, and the nightly job on the
sample run with Spark publishes what the DuckDB run published (make test-spark)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sudata.settings import PROJECT_ROOT, Paths

FIXTURE = Path(__file__).parent / "fixtures" / "sample_publication.json"


def test_spark_tables_are_read_under_their_schema_and_name(paths, monkeypatch):
    """Spark's layout: <warehouse>/<schema>.db/<table>/part-*.parquet, partitions in <column>=<value>
    folders, marker files beside them."""
    monkeypatch.setenv("SUDATA_DBT_TARGET", "spark")
    from sudata.warehouse import warehouse_connect

    db = paths.spark_warehouse / "sudata.db"
    mart = db / "schools"
    mart.mkdir(parents=True)
    pq.write_table(pa.table({"school_code": ["A1", "B2"], "pupils": [300, 420]}), mart / "part-00000-x.snappy.parquet")
    (mart / "_SUCCESS").write_bytes(b"")
    for day, codes in (("2026-11-23", ["A1", "B2"]), ("2026-11-24", ["C3"])):
        part = db / "stg_schools" / f"_drop_date={day}"
        part.mkdir(parents=True)
        pq.write_table(pa.table({"school_code": codes}), part / "part-00000-y.snappy.parquet")
    (db / "empty_table").mkdir()  # a table without files yet is not a relation

    con = warehouse_connect(paths)
    try:
        assert con.execute("select sum(pupils) from sudata.schools").fetchone()[0] == 720
        rows = con.execute("select _drop_date, count(*) from sudata.stg_schools group by 1 order by 1").fetchall()
        assert rows == [(dt.date(2026, 11, 23), 2), (dt.date(2026, 11, 24), 1)]
        with pytest.raises(duckdb.Error):
            con.execute("select * from sudata.empty_table")
    finally:
        con.close()


def _published(paths: Paths) -> dict:
    from sudata.files import content_hash
    from sudata.store import PublishedStore

    store = PublishedStore(paths.published)
    out = {}
    with duckdb.connect() as con:
        for d in store.datasets():
            v = store.current_version(d["name"])
            parquet = store.path(v["path"]) / v["files"]["parquet"]["path"]
            out[d["name"]] = {"rows": v["row_count"], "content_sha256": content_hash(con, parquet), "schema": v["schema"]}
    return out


@pytest.mark.spark
@pytest.mark.integration
def test_the_sample_night_on_spark_publishes_what_duckdb_publishes(tmp_path):
    """The DuckDB run of the bundled sample is tests/fixtures/sample_publication.json (rows, sorted-content
    hash and schema of every dataset, see test_pipeline_e2e); the Spark run must publish the same.

    `sudata run` runs in a process of its own, as an engineer starts it: the engine is chosen when the
    definitions load, and a test process may have loaded them for DuckDB already."""
    home, raw = tmp_path / "home", tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    env = {**os.environ, "SUDATA_HOME": str(home), "SUDATA_RAW": str(raw), "DAGSTER_HOME": str(home / "dagster"),
           "SUDATA_DBT_TARGET": "spark"}
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("sudata")), "run"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=1800)
    took = time.perf_counter() - started
    print(f"\nthe sample night on Spark: {took:.0f}s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "anomaly check failed" not in done.stderr, done.stderr[-3000:]
    assert (home / "spark" / "warehouse").is_dir() and not (home / "warehouse.duckdb").exists()

    expected = json.loads(FIXTURE.read_text("utf-8"))
    got = _published(Paths(home=home, raw=raw))
    assert sorted(got) == sorted(expected)
    for name, want in expected.items():
        assert (got[name]["rows"], got[name]["content_sha256"]) == (want["rows"], want["content_sha256"]), name
        assert got[name]["schema"] == want["schema"], name


def test_great_expectations_imports_in_a_process_started_with_python_c():
    """With pyspark installed, Great Expectations imports pyspark.sql.connect; without Spark Connect's
    requirements (the `spark` extra installs them) that import took a `python -c` process (and every
    pytest-xdist worker) for a doctest run and ended it with exit code 0, silently."""
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", "import great_expectations; print('imported')"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "imported", done.stderr[-2000:]
