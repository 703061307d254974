"""The raw scan (c): one DuckDB process reading every delivered file of the landing zone once.

Each file is read in full by the DuckDB reader of its format and every column is hashed
(``count(*)`` alone would let DuckDB skip columns, or answer a Parquet count from metadata):

- CSV with ``read_csv`` (all columns as text, broken rows skipped rather than failing the file);
  GBK/GB18030 files are tokenised as Latin-1: DuckDB has no GBK decoder without the ``encodings``
  extension, and no GBK byte can be mistaken for a delimiter, quote or newline, so the scan does the
  same tokenising work (the text is not decoded, which makes this a slightly optimistic floor);
- JSON with ``read_json``, unnesting the list of records of an export object (``{"data": [...]}``);
- XLSX cannot be read by DuckDB without the ``excel`` extension (not installed here): for those the
  scan reads the Parquet partition ingestion wrote for that source and date (same rows and columns);
- a file no reader accepts (a deliberately broken drop) is read as bytes with ``read_blob``.

``python -m bench.scan --raw R [--lake L] --out result.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import closing
from pathlib import Path

import duckdb

from bench import emit_json
from sudata.sql import quote_literal

ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16",
             "latin-1": "latin-1", "gbk": "latin-1", "gb2312": "latin-1", "gb18030": "latin-1"}


RECORD_KEYS = ("data", "records", "rows", "result", "items")  # as sudata.ingest.readers looks for them



def _full_scan(con, relation_sql: str) -> int:
    row = con.execute(f"select count(*), bit_xor(hash(COLUMNS(*))) from ({relation_sql})").fetchone()
    return int(row[0])


def _scan_json(con, path: Path) -> int:
    """A list of records, or an export object holding it under one of the keys ingestion accepts."""
    size = min(2**32 - 1, max(16 * 2**20, 2 * path.stat().st_size))
    relation = f"read_json({quote_literal(path)}, maximum_object_size = {size})"
    for key in RECORD_KEYS:
        try:
            return _full_scan(con, f"select unnest({key}, recursive := true) from {relation}")
        except duckdb.BinderException:
            continue
    return _full_scan(con, f"select * from {relation}")


def delivered_files(raw: Path, sources: dict) -> list[tuple[Path, object, str]]:
    """(file, source or None, drop date) for every file under <raw>/<department>/<source>/<date>/."""
    out = []
    for path in sorted(Path(raw).rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        parts = path.relative_to(raw).parts
        source = sources.get(parts[1]) if len(parts) >= 4 else None
        out.append((path, source, parts[2] if len(parts) >= 4 else ""))
    return out


def scan_file(con, path: Path, source, drop_date: str, lake: Path | None) -> dict:
    fmt = (source.format if source else path.suffix.lstrip(".")).lower()
    suffix = path.suffix.lower().lstrip(".")
    entry = {"file": str(path), "format": fmt, "bytes": path.stat().st_size}
    t = time.perf_counter()
    try:
        if suffix == "csv" or (fmt == "csv" and suffix not in ("json", "xlsx")):
            enc = ENCODINGS.get((source.encoding if source else "utf-8").lower(), "utf-8")
            entry["reader"] = f"read_csv({enc})"
            entry["rows"] = _full_scan(con, (
                f"select * from read_csv({quote_literal(path)}, header = true, all_varchar = true, encoding = {quote_literal(enc)}, "
                "ignore_errors = true, strict_mode = false, null_padding = true, max_line_size = 16777216)"))
        elif suffix == "json" or fmt == "json":
            entry["reader"] = "read_json"
            entry["rows"] = _scan_json(con, path)
        elif suffix == "xlsx" and lake is not None and source is not None:
            part = Path(lake) / "raw" / source.id / f"{drop_date}.parquet"
            if not part.exists():
                raise FileNotFoundError(part)
            entry["reader"] = "read_parquet(lake partition)"
            entry["rows"] = _full_scan(con, f"select * from read_parquet({quote_literal(part)})")
        else:
            raise ValueError(f"no DuckDB reader for {path.name}")
    except Exception as exc:  # noqa: BLE001 - a broken drop is still read once, as bytes
        entry["reader"] = "read_blob"
        entry["note"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        entry["rows"] = 0
        con.execute(f"select sum(octet_length(content)), max(hash(content)) from read_blob({quote_literal(path)})").fetchone()
    entry["seconds"] = round(time.perf_counter() - t, 4)
    return entry


def run_scan(raw: Path, lake: Path | None) -> dict:
    from sudata.registry import load_registry

    sources = load_registry()
    started = time.perf_counter()
    files = []
    with closing(duckdb.connect()) as con:
        seen_xlsx_partitions: set = set()
        for path, source, drop_date in delivered_files(raw, sources):
            if path.suffix.lower() == ".xlsx" and source is not None:
                key = (source.id, drop_date)  # several workbooks of one drop share one lake partition
                if key in seen_xlsx_partitions:
                    files.append({"file": str(path), "format": "xlsx", "bytes": path.stat().st_size,
                                  "reader": "(in lake partition)", "rows": 0, "seconds": 0.0})
                    continue
                seen_xlsx_partitions.add(key)
            files.append(scan_file(con, path, source, drop_date, lake))
    total = time.perf_counter() - started
    by_reader: dict[str, dict] = {}
    for f in files:
        r = by_reader.setdefault(f["reader"].split("(")[0], {"files": 0, "rows": 0, "bytes": 0, "seconds": 0.0})
        r["files"] += 1
        r["rows"] += f["rows"]
        r["bytes"] += f["bytes"]
        r["seconds"] = round(r["seconds"] + f["seconds"], 4)
    return {"total_s": total, "files": len(files), "rows": sum(f["rows"] for f in files),
            "bytes": sum(f["bytes"] for f in files), "by_reader": by_reader, "detail": files}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scan", description=__doc__.split("\n\n")[0])
    ap.add_argument("--raw", required=True, type=Path, help="the landing zone")
    ap.add_argument("--lake", type=Path, help="the lake ($SUDATA_HOME/lake), for XLSX drops")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    emit_json(run_scan(args.raw, args.lake), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
