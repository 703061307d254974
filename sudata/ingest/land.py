"""Land one source's drop for one date as a single Parquet partition of the raw layer.

``lake/raw/<source>/<YYYY-MM-DD>.parquet`` holds every registered column as text, exactly as delivered,
plus lineage columns. The partition is a function of the drop folder's contents: re-delivering an
identical file adds nothing, a changed re-delivery rebuilds the partition, raw files are never touched.
Files that cannot be read are copied to quarantine with a reason; broken rows go to a rows file there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sudata.files import sha256_file
from sudata.ingest import state
from sudata.ingest.readers import Parsed, QuarantineError, read_file
from sudata.registry import Source
from sudata.settings import Paths

LINEAGE = [
    ("_source_file", pa.string()),
    ("_source_sha256", pa.string()),
    ("_drop_date", pa.date32()),
    ("_loaded_at", pa.timestamp("us")),
    ("_row_number", pa.int64()),
]


@dataclass
class IngestResult:
    source: str
    drop_date: str
    status: str                      # loaded | unchanged | duplicate | quarantined | missing
    rows: int = 0
    files: list[dict] = field(default_factory=list)
    quarantined_files: int = 0
    quarantined_rows: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def landed(self) -> bool:
        """Tonight's drop is usable downstream (fresh or an identical re-delivery)."""
        return self.status in ("loaded", "unchanged", "duplicate")


def arrow_schema(source: Source) -> pa.Schema:
    return pa.schema([(c, pa.string()) for c in source.column_names] + LINEAGE)


def partition_path(paths: Paths, source: Source, drop_date: str) -> Path:
    return paths.lake / "raw" / source.id / f"{drop_date}.parquet"


def drop_dates(paths: Paths, source: Source) -> list[str]:
    folder = paths.raw / source.folder
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _is_date(p.name))


def pending_drops(paths: Paths, sources: dict[str, Source]) -> dict[str, str]:
    """Drop dates holding a file the ledger has not seen (by path and content) → a fingerprint of those files."""
    seen: dict[tuple[str, str], tuple] = {}
    if paths.state_db.exists():
        with closing(state.connect(paths.state_db)) as con:
            seen = {(r[0], r[1]): (r[2], r[3], r[4])
                    for r in con.execute("select source, file, sha256, size, mtime_ns from files")}
    pending: dict[str, list[str]] = {}
    for source in sources.values():
        for d in drop_dates(paths, source):
            for f in _drop_files(paths, source, d):
                known_sha, size, mtime_ns = seen.get((source.id, str(f.relative_to(paths.raw))), (None, None, None))
                if known_sha and _untouched(f, size, mtime_ns):
                    continue  # the file the ledger hashed, untouched since: no need to read it again
                sha = sha256_file(f)
                if sha != known_sha:
                    pending.setdefault(d, []).append(sha)
    return {d: hashlib.sha256(",".join(sorted(v)).encode()).hexdigest()[:16] for d, v in sorted(pending.items())}


def pending_drop_dates(paths: Paths, sources: dict[str, Source]) -> list[str]:
    return list(pending_drops(paths, sources))


def _is_date(name: str) -> bool:
    try:
        datetime.strptime(name, "%Y-%m-%d")
        return True
    except ValueError:
        return False


def _drop_files(paths: Paths, source: Source, drop_date: str) -> list[Path]:
    folder = paths.raw / source.folder / drop_date
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(source.files) if p.is_file() and not p.name.startswith("."))



def ensure_empty_partition(paths: Paths, source: Source) -> None:
    """A zero-row file with the full schema, so the raw relation exists before the first drop."""
    target = paths.lake / "raw" / source.id / "_empty.parquet"
    if not target.exists():
        _write_atomic(arrow_schema(source).empty_table(), target)


def ingest_partition(paths: Paths, source: Source, drop_date: str) -> IngestResult:
    ensure_empty_partition(paths, source)
    files = _drop_files(paths, source, drop_date)
    result = IngestResult(source=source.id, drop_date=drop_date, status="missing")
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with closing(state.connect(paths.state_db)) as con:
        if not files:
            result.warnings.append(
                f"no file matching '{source.files}' in {paths.raw / source.folder / drop_date}: no drop delivered"
            )
            _record_partition(con, result, None)
            return result
        landed = _landed_unchanged(con, paths, source, drop_date, files)
        if landed is not None:
            return landed
        earlier = {
            r["sha256"]: (r["file"], r["drop_date"])
            for r in con.execute(
                "select sha256, file, drop_date from files where source = ? and drop_date < ? and status = 'loaded'",
                (source.id, drop_date),
            )
        }
        tables: list[pa.Table] = []
        content_key: list[str] = []
        in_this_drop: dict[str, str] = {}
        for path in files:
            rel = str(path.relative_to(paths.raw))
            st = path.stat()
            sha = sha256_file(path)
            entry = {"file": rel, "sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
            result.files.append(entry)
            if sha in earlier or sha in in_this_drop:
                first = earlier.get(sha) or (in_this_drop[sha], drop_date)
                entry.update(status="duplicate", reason=f"identical to {first[0]} (drop {first[1]}): not loaded again")
                _record_file(con, source, drop_date, entry)
                continue
            try:
                parsed = read_file(path, source)
                table, warnings = _to_table(parsed, source, rel, sha, drop_date, loaded_at)
            except QuarantineError as exc:
                entry.update(status="quarantined", reason=str(exc))
                kept = _quarantine_file(paths, source, drop_date, path)
                _record_file(con, source, drop_date, entry)
                _record_quarantine(con, source, drop_date, rel, sha, "file", 0, str(exc), kept)
                result.quarantined_files += 1
                continue
            result.warnings.extend(warnings)
            if parsed.bad_rows:
                kept = _quarantine_rows(paths, source, drop_date, path, parsed)
                reasons = sorted({r for _, r, _ in parsed.bad_rows})
                _record_quarantine(con, source, drop_date, rel, sha, "rows", len(parsed.bad_rows), "; ".join(reasons)[:2000], kept)
                result.quarantined_rows += len(parsed.bad_rows)
            entry.update(status="loaded", rows=table.num_rows, bad_rows=len(parsed.bad_rows))
            _record_file(con, source, drop_date, entry)
            in_this_drop[sha] = rel
            tables.append(table)
            content_key.append(sha)

        target = partition_path(paths, source, drop_date)
        key = ",".join(sorted(content_key)) or None
        previous = con.execute(
            "select content_key from partitions where source = ? and drop_date = ?", (source.id, drop_date)
        ).fetchone()
        if tables:
            combined = pa.concat_tables(tables)
            result.rows = combined.num_rows
            if previous and previous[0] == key and target.exists():
                result.status = "unchanged"
            else:
                _write_atomic(combined, target)
                result.status = "loaded"
        elif result.quarantined_files:
            # Nothing readable tonight. A partition loaded earlier from a good delivery stays: the lake
            # never loses rows because a redelivery was broken.
            result.status = "quarantined"
        else:
            result.status = "duplicate"
            target.unlink(missing_ok=True)
        _record_partition(con, result, key)
    return result


def _to_table(parsed: Parsed, source: Source, rel: str, sha: str, drop_date: str, loaded_at: datetime):
    expected = source.headers  # header → name
    header = parsed.header
    missing = [h for h in expected if h not in header]
    if missing:
        present = [h for h in header if h not in expected]
        hint = f"; unexpected columns {present}" if present else ""
        raise QuarantineError(
            f"schema drift: expected columns {missing} are missing{hint}. Update the registry entry of "
            f"'{source.id}' if the department changed its export, or ask for a redelivery"
        )
    warnings = []
    extra = [h for h in header if h not in expected and h]
    if extra:
        warnings.append(f"{rel}: columns not in the registry were ignored: {extra}")
    n = parsed.table.num_rows
    columns = {name: parsed.table.column(h) for h, name in expected.items()}
    columns["_source_file"] = pa.array([rel] * n, type=pa.string())
    columns["_source_sha256"] = pa.array([sha] * n, type=pa.string())
    columns["_drop_date"] = pa.array([datetime.strptime(drop_date, "%Y-%m-%d").date()] * n, type=pa.date32())
    columns["_loaded_at"] = pa.array([loaded_at] * n, type=pa.timestamp("us"))
    columns["_row_number"] = pa.array(parsed.numbers, type=pa.int64())
    return pa.table(columns, schema=arrow_schema(source)), warnings


def _write_atomic(table: pa.Table, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)


def _quarantine_file(paths: Paths, source: Source, drop_date: str, path: Path) -> str:
    """A copy of the delivered file; the original stays untouched in the landing zone."""
    dest = paths.quarantine / source.id / drop_date / path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, dest)
    return str(dest.relative_to(paths.home))


def _quarantine_rows(paths: Paths, source: Source, drop_date: str, path: Path, parsed: Parsed) -> str:
    dest = paths.quarantine / source.id / drop_date / f"{path.name}.rejected_rows.jsonl"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", encoding="utf-8") as f:
        for row_number, reason, text in parsed.bad_rows:
            f.write(json.dumps({"row_number": row_number, "reason": reason, "raw": text}, ensure_ascii=False) + "\n")
    return str(dest.relative_to(paths.home))


def _record_file(con, source: Source, drop_date: str, entry: dict) -> None:
    con.execute(
        "insert or replace into files (source, drop_date, file, sha256, status, rows, bad_rows, reason, at, size,"
        " mtime_ns) values (?,?,?,?,?,?,?,?,?,?,?)",
        (source.id, drop_date, entry["file"], entry["sha256"], entry["status"], entry.get("rows", 0),
         entry.get("bad_rows", 0), entry.get("reason"), state.now(), entry.get("size"), entry.get("mtime_ns")),
    )


def _untouched(path: Path, size: int | None, mtime_ns: int | None) -> bool:
    """The file still has the size and modification time the ledger recorded when it hashed it."""
    st = path.stat()
    return (size, mtime_ns) == (st.st_size, st.st_mtime_ns)


def _landed_unchanged(con, paths: Paths, source: Source, drop_date: str, files: list[Path]) -> IngestResult | None:
    """The partition as landed before, when the drop folder holds exactly the files the ledger recorded for it,
    none touched since (size and mtime): a re-run reads nothing. Otherwise None, and the drop is read."""
    previous = con.execute("select * from partitions where source = ? and drop_date = ?", (source.id, drop_date)).fetchone()
    if previous is None or previous["status"] not in ("loaded", "unchanged") or not partition_path(paths, source, drop_date).exists():
        return None
    ledger = {r["file"]: r for r in con.execute("select * from files where source = ? and drop_date = ?", (source.id, drop_date))}
    if set(ledger) != {str(f.relative_to(paths.raw)) for f in files}:
        return None
    for f in files:
        entry = ledger[str(f.relative_to(paths.raw))]
        if not _untouched(f, entry["size"], entry["mtime_ns"]):
            return None
    if ",".join(sorted(r["sha256"] for r in ledger.values() if r["status"] == "loaded")) != previous["content_key"]:
        return None
    result = IngestResult(source=source.id, drop_date=drop_date, status="unchanged", rows=previous["rows"],
                          quarantined_files=previous["quarantined_files"], quarantined_rows=previous["quarantined_rows"])
    for r in sorted(ledger.values(), key=lambda r: r["file"]):
        result.files.append({k: r[k] for k in ("file", "sha256", "status", "rows", "bad_rows", "reason", "size", "mtime_ns")
                             if r[k] is not None})
    _record_partition(con, result, previous["content_key"])
    return result


def _record_quarantine(con, source, drop_date, rel, sha, kind, rows, reason, kept) -> None:
    existing = con.execute(
        "select 1 from quarantine where source=? and drop_date=? and file=? and sha256=? and kind=?",
        (source.id, drop_date, rel, sha, kind),
    ).fetchone()
    if existing is None:
        con.execute(
            "insert into quarantine (source, drop_date, file, sha256, kind, rows, reason, kept_at, at)"
            " values (?,?,?,?,?,?,?,?,?)",
            (source.id, drop_date, rel, sha, kind, rows, reason, kept, state.now()),
        )


def _record_partition(con, result: IngestResult, key: str | None) -> None:
    con.execute(
        "insert or replace into partitions values (?,?,?,?,?,?,?,?,?)",
        (result.source, result.drop_date, result.status, result.rows, len(result.files),
         result.quarantined_files, result.quarantined_rows, key, state.now()),
    )
