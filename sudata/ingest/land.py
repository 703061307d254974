"""Land one source's drop for one date as a single Parquet partition of the raw layer.

``lake/raw/<source>/<YYYY-MM-DD>.parquet`` holds every registered column as text, exactly as delivered,
plus lineage columns. The partition is a function of the drop folder's contents: re-delivering an
identical file adds nothing, a changed re-delivery rebuilds the partition, raw files are never touched.
Files that cannot be read are copied to quarantine with a reason; broken rows go to a rows file there.

Order of writes, so that a process killed at any point leaves nothing the next run does not repair: the
partition lands in the lake first (atomically, see ``lake``), then the ledger records the date's files,
quarantine and partition in ONE transaction. Every run checks that each partition the ledger claims is
in the lake; a date where it is not is pending again and is re-landed from its raw files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from sudata.files import sha256_file
from sudata.ingest import state
from sudata.crash import crash_point
from sudata.ingest.lake import LakeFile, claim_problem, lake_problems, remove_partition, write_partition
from sudata.ingest.lake import partition_path as _lake_path
from sudata.ingest.readers import Parsed, QuarantineError, read_file
from sudata.ingest.zone import Refused, drop_dates, misplaced, scan_drop
from sudata.registry import Source
from sudata.settings import Paths

LINEAGE = [
    ("_source_file", pa.string()),
    ("_source_sha256", pa.string()),
    ("_drop_date", pa.date32()),
    ("_loaded_at", pa.timestamp("us")),
    ("_row_number", pa.int64()),
]

__all__ = ["IngestResult", "drop_dates", "ingest_dates", "ingest_partition", "pending_drops", "pending_drop_dates"]


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
    return _lake_path(paths, source.id, drop_date)


def pending_drops(paths: Paths, sources: dict[str, Source]) -> dict[str, str]:
    """Drop dates holding a file the ledger has not seen (by path and content), or whose partition the ledger
    claims but the lake does not hold → a fingerprint of those files (and of the repair)."""
    seen: dict[tuple[str, str], tuple] = {}
    recorded: dict[tuple[str, str], list[str]] = {}  # (source, sha256) → the drop dates holding that content
    if paths.state_db.exists():
        with closing(state.connect(paths.state_db)) as con:
            for r in con.execute("select source, file, sha256, size, mtime_ns, drop_date from files"):
                seen[(r[0], r[1])] = (r[2], r[3], r[4])
                recorded.setdefault((r[0], r[2]), []).append(r[5])
    pending: dict[str, list[str]] = {}
    for source in sources.values():
        for d in drop_dates(paths, source):
            for f in scan_drop(paths, source, d)[0]:
                known_sha, size, mtime_ns = seen.get((source.id, str(f.relative_to(paths.raw))), (None, None, None))
                if known_sha and _untouched(f, size, mtime_ns):
                    continue  # the file the ledger hashed, untouched since: no need to read it again
                sha = sha256_file(f)
                if sha != known_sha:
                    pending.setdefault(d, []).append(sha)
                    # Later drops were judged against this file's old content: a file left out as identical
                    # to it must now be loaded, and a file loaded before may now be identical to the new
                    # content. A rebuild from the same landing zone judges them that way.
                    for content in {sha, known_sha} - {None}:
                        for later in recorded.get((source.id, content), []):
                            if later > d:
                                pending.setdefault(later, []).append(f"recheck:{content}")
    for problem in lake_problems(paths, sources):
        pending.setdefault(problem.drop_date, []).append(f"repair:{problem.source}")
    return {d: hashlib.sha256(",".join(sorted(v)).encode()).hexdigest()[:16] for d, v in sorted(pending.items())}


def pending_drop_dates(paths: Paths, sources: dict[str, Source]) -> list[str]:
    return list(pending_drops(paths, sources))


def ensure_empty_partition(paths: Paths, source: Source) -> None:
    """A zero-row file with the full schema, so the raw relation exists before the first drop."""
    target = paths.lake / "raw" / source.id / "_empty.parquet"
    if not target.exists():
        write_partition(arrow_schema(source).empty_table(), target)


def ingest_dates(paths: Paths, source: Source, drop_dates: list[str]) -> dict[str, IngestResult]:
    """Land several dates of one source in order (a catch-up)."""
    results = {}
    for i, d in enumerate(drop_dates):
        if i:
            crash_point("between_dates")
        results[d] = ingest_partition(paths, source, d)
    return results


@dataclass
class _Pending:
    """What the ledger will record for a date, collected while its files are read."""
    files: list[dict] = field(default_factory=list)
    quarantine: list[tuple] = field(default_factory=list)  # (file, sha256, kind, rows, reason, kept_at)


def ingest_partition(paths: Paths, source: Source, drop_date: str) -> IngestResult:
    ensure_empty_partition(paths, source)
    files, refused = scan_drop(paths, source, drop_date)
    result = IngestResult(source=source.id, drop_date=drop_date, status="missing")
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with closing(state.connect(paths.state_db)) as con:
        _record_refusals(con, source, "", misplaced(paths, source), result)
        if not files and not refused:
            result.warnings.append(
                f"no file matching '{source.files}' in {paths.raw / source.folder / drop_date}: no drop delivered"
            )
            _commit(con, source, result, _Pending(), _kept_claim(con, paths, source, drop_date))
            return result
        landed = _landed_unchanged(con, paths, source, drop_date, files)
        if landed is not None:
            for r in refused:  # recorded the first time they were seen; listed every time
                landed.files.append({"file": r.file, "status": "quarantined", "reason": r.reason})
                _record_quarantine(con, source, drop_date, r.file, None, "file", 0, r.reason, None)
            return landed
        earlier = _loaded_before(con, source, drop_date)
        todo = _Pending()
        for r in refused:
            result.files.append({"file": r.file, "status": "quarantined", "reason": r.reason})
            todo.quarantine.append((r.file, None, "file", 0, r.reason, None))
            result.quarantined_files += 1
        tables: list[pa.Table] = []
        content_key: list[str] = []
        in_this_drop: dict[str, str] = {}
        for i, path in enumerate(files):
            if i:
                crash_point("between_files")
            rel = str(path.relative_to(paths.raw))
            st = path.stat()
            sha = sha256_file(path)
            entry = {"file": rel, "sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
            result.files.append(entry)
            todo.files.append(entry)
            if sha in earlier or sha in in_this_drop:
                first = earlier.get(sha) or (in_this_drop[sha], drop_date)
                entry.update(status="duplicate", reason=f"identical to {first[0]} (drop {first[1]}): not loaded again")
                continue
            try:
                parsed = read_file(path, source)
                table, warnings = _to_table(parsed, source, rel, sha, drop_date, loaded_at)
            except QuarantineError as exc:
                entry.update(status="quarantined", reason=str(exc))
                kept = _quarantine_file(paths, source, drop_date, path)
                todo.quarantine.append((rel, sha, "file", 0, str(exc), kept))
                result.quarantined_files += 1
                continue
            result.warnings.extend(warnings)
            if parsed.bad_rows:
                kept = _quarantine_rows(paths, source, drop_date, path, parsed)
                reasons = sorted({r for _, r, _ in parsed.bad_rows})
                todo.quarantine.append((rel, sha, "rows", len(parsed.bad_rows), "; ".join(reasons)[:2000], kept))
                result.quarantined_rows += len(parsed.bad_rows)
            entry.update(status="loaded", rows=table.num_rows, bad_rows=len(parsed.bad_rows))
            in_this_drop[sha] = rel
            tables.append(table)
            content_key.append(sha)

        crash_point("before_partition_write")
        target = partition_path(paths, source, drop_date)
        key = ",".join(sorted(content_key)) or None
        kept = _kept_claim(con, paths, source, drop_date)
        if tables:
            combined = pa.concat_tables(tables)
            result.rows = combined.num_rows
            if kept is not None and kept[0] == key:
                result.status = "unchanged"
                lake = kept[1]
            else:
                lake = write_partition(combined, target, key)
                result.status = "loaded"
        elif result.quarantined_files:
            # Nothing readable tonight. A partition loaded earlier from a good delivery stays: the lake
            # never loses rows because a redelivery was broken.
            result.status = "quarantined"
            key, lake = kept if kept is not None else (None, None)
        else:
            result.status = "duplicate"
            remove_partition(target)
            lake = None
        crash_point("after_partition_write")
        _commit(con, source, result, todo, (key, lake) if key else None)
    crash_point("after_ledger_write")
    return result


def _loaded_before(con, source: Source, drop_date: str) -> dict[str, tuple[str, str]]:
    """sha256 → (file, drop date) of the files earlier drops of the source loaded: what a file of this drop
    is a duplicate of."""
    return {r["sha256"]: (r["file"], r["drop_date"]) for r in con.execute(
        "select sha256, file, drop_date from files where source = ? and drop_date < ? and status = 'loaded'",
        (source.id, drop_date))}


def _kept_claim(con, paths: Paths, source: Source, drop_date: str) -> tuple[str, LakeFile] | None:
    """(content key, lake file) of the partition the ledger claims for the date, if the lake really holds it."""
    claim = con.execute("select * from partitions where source = ? and drop_date = ?", (source.id, drop_date)).fetchone()
    if claim is None or claim["content_key"] is None:
        return None
    target = partition_path(paths, source, drop_date)
    if claim_problem(target, claim) is not None:
        return None
    st = target.stat()
    rows = claim["lake_rows"] if claim["lake_rows"] is not None else claim["rows"]
    return claim["content_key"], LakeFile(rows=rows, size=st.st_size, mtime_ns=st.st_mtime_ns)


def _commit(con, source: Source, result: IngestResult, todo: _Pending, claim: tuple[str, LakeFile] | None) -> None:
    """The date's files, quarantine records and partition, in one transaction: all of them or none."""
    con.execute("begin immediate")
    try:
        # the files of the drop as read now: a file no longer delivered is no longer recorded
        con.execute("delete from files where source = ? and drop_date = ?", (source.id, result.drop_date))
        for entry in todo.files:
            _record_file(con, source, result.drop_date, entry)
        for q in todo.quarantine:
            _record_quarantine(con, source, result.drop_date, *q)
        crash_point("inside_ledger_write")
        _record_partition(con, result, claim)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _record_refusals(con, source: Source, drop_date: str, refused: list[Refused], result: IngestResult) -> None:
    """Entries of the source folder that are no drop (not a date folder, a file outside one): recorded once."""
    for r in refused:
        result.warnings.append(f"{r.file}: {r.reason}")
        folder_date = Path(r.file).name if r.file.endswith("/") else drop_date
        _record_quarantine(con, source, folder_date, r.file, None, "file", 0, r.reason, None)


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
    if previous is None or previous["status"] not in ("loaded", "unchanged") or previous["content_key"] is None:
        return None
    if claim_problem(partition_path(paths, source, drop_date), previous) is not None:
        return None  # the lake lacks what the ledger claims: land the drop again from its raw files
    ledger = {r["file"]: r for r in con.execute("select * from files where source = ? and drop_date = ?", (source.id, drop_date))}
    if set(ledger) != {str(f.relative_to(paths.raw)) for f in files}:
        return None
    for f in files:
        entry = ledger[str(f.relative_to(paths.raw))]
        if not _untouched(f, entry["size"], entry["mtime_ns"]):
            return None
    loaded_here = {r["sha256"] for r in ledger.values() if r["status"] == "loaded"}
    if ",".join(sorted(loaded_here)) != previous["content_key"]:
        return None
    earlier = _loaded_before(con, source, drop_date)
    for r in ledger.values():  # judged against earlier drops that a redelivery has changed since
        if r["status"] == "duplicate" and r["sha256"] not in earlier and r["sha256"] not in loaded_here:
            return None
        if r["status"] == "loaded" and r["sha256"] in earlier:
            return None
    result = IngestResult(source=source.id, drop_date=drop_date, status="unchanged", rows=previous["rows"],
                          quarantined_files=previous["quarantined_files"], quarantined_rows=previous["quarantined_rows"])
    for r in sorted(ledger.values(), key=lambda r: r["file"]):
        result.files.append({k: r[k] for k in ("file", "sha256", "status", "rows", "bad_rows", "reason", "size", "mtime_ns")
                             if r[k] is not None})
    _record_partition(con, result, _kept_claim(con, paths, source, drop_date))
    return result


def _record_quarantine(con, source, drop_date, rel, sha, kind, rows, reason, kept) -> None:
    existing = con.execute(
        "select 1 from quarantine where source=? and drop_date=? and file=? and sha256 is ? and kind=?",
        (source.id, drop_date, rel, sha, kind),
    ).fetchone()
    if existing is None:
        con.execute(
            "insert into quarantine (source, drop_date, file, sha256, kind, rows, reason, kept_at, at)"
            " values (?,?,?,?,?,?,?,?,?)",
            (source.id, drop_date, rel, sha, kind, rows, reason, kept, state.now()),
        )


def _record_partition(con, result: IngestResult, claim: tuple[str, LakeFile] | None) -> None:
    key, lake = claim if claim else (None, None)
    con.execute(
        "insert or replace into partitions (source, drop_date, status, rows, files, quarantined_files,"
        " quarantined_rows, content_key, at, lake_rows, lake_size, lake_mtime_ns) values (?,?,?,?,?,?,?,?,?,?,?,?)",
        (result.source, result.drop_date, result.status, result.rows, len(result.files), result.quarantined_files,
         result.quarantined_rows, key, state.now(), lake.rows if lake else None, lake.size if lake else None,
         lake.mtime_ns if lake else None),
    )
