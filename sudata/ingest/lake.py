"""The raw layer's partitions, and the proof that the lake holds what the ledger claims.

A partition is written to a temporary file, fsynced and renamed into place (then its folder fsynced)
BEFORE the ledger records it, so the ledger never gets ahead of the lake. The partition's footer carries
the ledger's content key; verification compares a partition's stat with the one the ledger recorded,
and reads the footer (row count and content key, never the data) only when the stat differs.
"""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sudata.ingest import state
from sudata.crash import crash_point
from sudata.registry import Source
from sudata.settings import Paths

CONTENT_KEY = b"sudata.content_key"


@dataclass(frozen=True)
class LakeFile:
    rows: int
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class LakeProblem:
    source: str
    drop_date: str
    problem: str

    def to_dict(self) -> dict:
        return {"source": self.source, "drop_date": self.drop_date, "problem": self.problem}


def partition_path(paths: Paths, source_id: str, drop_date: str) -> Path:
    return paths.lake / "raw" / source_id / f"{drop_date}.parquet"


def write_partition(table: pa.Table, target: Path, content_key: str | None = None) -> LakeFile:
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        stale.unlink(missing_ok=True)  # left by a process killed while writing
    if content_key is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), CONTENT_KEY: content_key.encode()})
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    crash_point("during_partition_write")
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    st = target.stat()
    return LakeFile(rows=table.num_rows, size=st.st_size, mtime_ns=st.st_mtime_ns)


def remove_partition(target: Path) -> None:
    if target.exists():
        target.unlink()
        _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def claim_problem(target: Path, claim) -> str | None:
    """Why the partition at ``target`` is not the one a ledger row claims (None when it is).

    ``claim`` is a row of the ledger's partitions table with a content key."""
    expected_rows = claim["lake_rows"] if claim["lake_rows"] is not None else claim["rows"]
    try:
        st = target.stat()
    except FileNotFoundError:
        return f"the ledger claims {expected_rows} rows in {target.name}, but the lake has no such partition"
    if claim["lake_size"] is not None and (st.st_size, st.st_mtime_ns) == (claim["lake_size"], claim["lake_mtime_ns"]):
        return None  # the very file written when the ledger recorded it
    try:
        meta = pq.read_metadata(target)
    except (pa.ArrowException, OSError) as exc:
        return f"the lake partition {target.name} is unreadable ({exc})"
    key = (meta.metadata or {}).get(CONTENT_KEY)
    if meta.num_rows != expected_rows:
        return f"the lake partition {target.name} holds {meta.num_rows} rows, the ledger claims {expected_rows}"
    if key is not None and key.decode() != claim["content_key"]:
        return f"the lake partition {target.name} was built from other files than the ledger records"
    return None


def lake_problems(paths: Paths, sources: dict[str, Source] | None = None) -> list[LakeProblem]:
    """Every drop date where the ledger and the lake disagree: a claimed partition missing or different, or
    loaded files recorded that no claimed partition holds (a run killed between the two, before this check)."""
    if not paths.state_db.exists():
        return []
    with closing(state.connect(paths.state_db)) as con:
        claims = con.execute("select * from partitions").fetchall()
        loaded = con.execute("select source, drop_date, sha256 from files where status = 'loaded'").fetchall()
    wanted = set(sources) if sources is not None else None
    files_key: dict[tuple[str, str], list[str]] = {}
    for r in loaded:
        files_key.setdefault((r["source"], r["drop_date"]), []).append(r["sha256"])
    problems = []
    by_date = {(c["source"], c["drop_date"]): c for c in claims}
    for (source, drop_date), shas in sorted(files_key.items()):
        claim = by_date.get((source, drop_date))
        if (wanted is None or source in wanted) and (claim is None or claim["content_key"] != ",".join(sorted(shas))):
            problems.append(LakeProblem(source, drop_date, "the ledger records loaded files that no partition of "
                                                           "the lake is recorded to hold"))
    for c in claims:
        if c["content_key"] is None or (wanted is not None and c["source"] not in wanted):
            continue
        problem = claim_problem(partition_path(paths, c["source"], c["drop_date"]), c)
        if problem:
            problems.append(LakeProblem(c["source"], c["drop_date"], problem))
    return sorted(problems, key=lambda p: (p.source, p.drop_date))
