"""The published store as readers see it, comparable between runs, and what would make it lie."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq

from sudata.assembled import assembled_size, is_assembled, missing_pieces, sha256_of
from sudata.files import sha256_file
from sudata.store import PublishedStore


def store_of(home: Path) -> PublishedStore:
    return PublishedStore(home / "published")


def rows_hash(parquet: Path) -> str:
    table = pq.read_table(parquet)
    rows = sorted(repr(tuple(r.values())) for r in table.to_pylist())
    return hashlib.sha256("\n".join([",".join(table.column_names), *rows]).encode()).hexdigest()


def published_state(home: Path) -> dict[str, dict | None]:
    """Per dataset: its version numbers, the current one, and the sorted-content hash of its data and slices."""
    store = store_of(home)
    out: dict[str, dict | None] = {}
    for d in store.datasets():
        cur = store.current_version(d["name"])
        if cur is None:
            out[d["name"]] = None
            continue
        directory = store.path(cur["path"])
        out[d["name"]] = {
            "current": cur["version"], "versions": [v["version"] for v in store.versions(d["name"])],
            "rows": cur["row_count"], "data": rows_hash(directory / "data.parquet"),
            "slices": {s["unit_code"]: rows_hash(store.path(s["path"])) for s in store.slices(d["name"], cur["version"])},
        }
    return out


def content(state: dict | None) -> tuple | None:
    """What a dataset holds, whatever its version number."""
    return None if state is None else (state["rows"], state["data"], tuple(sorted(state["slices"].items())))


def store_problems(home: Path) -> list[str]:
    """Anything a reader could see of a version that is not complete: a current version whose directory,
    files, checksums, row count, descriptor or slices do not all match the index."""
    store, problems = store_of(home), []
    for d in store.datasets():
        cur = store.current_version(d["name"])
        if d["current_version"] is not None and cur is None:
            problems.append(f"{d['name']}: current version {d['current_version']} has no version row")
        if cur is None:
            continue
        directory = store.path(cur["path"])
        for fmt, f in cur["files"].items():
            if missing_pieces(directory, f) or _size(directory, f) != f["size"] or sha256_of(directory, f) != f["sha256"]:
                problems.append(f"{d['name']} v{cur['version']}: {fmt} file missing or not as indexed")
        if (directory / "data.parquet").is_file() and pq.read_metadata(directory / "data.parquet").num_rows != cur["row_count"]:
            problems.append(f"{d['name']} v{cur['version']}: row count differs from the index")
        if (directory / "datapackage.json").is_file():
            if json.loads((directory / "datapackage.json").read_text("utf-8"))["version"] != str(cur["version"]):
                problems.append(f"{d['name']} v{cur['version']}: descriptor of another version")
        for s in store.slices(d["name"], cur["version"]):
            p = store.path(s["path"])
            if not p.is_file() or sha256_file(p) != s["sha256"]:
                problems.append(f"{d['name']} v{cur['version']}: slice {s['unit_code']} missing or not as indexed")
    return problems


def _size(directory: Path, entry: dict) -> int:
    return assembled_size(entry["segments"]) if is_assembled(entry) else (directory / entry["path"]).stat().st_size


def orphans(home: Path) -> list[str]:
    """Version directories the index does not know and leftovers in .staging/ (invisible, swept later)."""
    store = store_of(home)
    known = {(d["name"], v["version"]) for d in store.datasets() for v in store.versions(d["name"])}
    found = [str(p.relative_to(store.root)) for p in (store.root / "datasets").glob("*/v*")
             if (p.parent.name, int(p.name[1:])) not in known]
    staging = store.root / ".staging"
    return found + ([str(p.relative_to(store.root)) for p in staging.iterdir()] if staging.exists() else [])
