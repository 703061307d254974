"""The end state of ingestion in a SUDATA_HOME, comparable between runs: the rows of every lake partition
(sorted, without the load time), the ledger and the quarantine copies."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pyarrow.parquet as pq

from sudata.ingest import state
from sudata.settings import PROJECT_ROOT


def run_ingestion(home: Path, raw: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SUDATA_HOME": str(home), "SUDATA_RAW": str(raw)}
    env.pop("SUDATA_CRASH_AT", None)
    if crash_at:
        env["SUDATA_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "tests.ingest_night"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def partition_hashes(home: Path) -> dict[str, str]:
    """Sorted-content hash of each partition's rows, without the load time (the only column a re-run changes)."""
    out = {}
    for f in sorted((home / "lake" / "raw").rglob("*")):
        if f.is_dir():
            continue
        rel = str(f.relative_to(home / "lake"))
        if f.suffix != ".parquet":
            out[rel] = "stray file"
            continue
        table = pq.read_table(f).drop_columns(["_loaded_at"])
        rows = sorted(repr(tuple(r.values())) for r in table.to_pylist())
        out[rel] = hashlib.sha256("\n".join([",".join(table.column_names), *rows]).encode()).hexdigest()
    return out


def ledger(home: Path) -> dict[str, list]:
    with closing(state.connect(home / "state.sqlite")) as con:
        con.row_factory = None
        return {
            "files": sorted(con.execute("select source, drop_date, file, sha256, status, rows, bad_rows, reason from files")),
            # 'unchanged' only says a later run found the date already landed: the same claim as 'loaded'
            "partitions": sorted(con.execute(
                "select source, drop_date, case status when 'unchanged' then 'loaded' else status end, rows, files,"
                " quarantined_files, quarantined_rows, content_key, lake_rows from partitions")),
            "quarantine": sorted(con.execute(
                "select source, drop_date, file, coalesce(sha256, ''), kind, rows, reason, coalesce(kept_at, '')"
                " from quarantine")),
        }


def quarantine_copies(home: Path) -> dict[str, str]:
    root = home / "quarantine"
    return {str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(root.rglob("*")) if f.is_file()} if root.exists() else {}


def end_state(home: Path) -> dict:
    return {"lake": partition_hashes(home), "ledger": ledger(home), "quarantine": quarantine_copies(home)}
