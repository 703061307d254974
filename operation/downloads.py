"""Download authorisations (下载方式): what an approved application's credential may take out of the
platform, and how much of it per day.

- **Fields.** Only the fields the scope grants. A scope naming no field grants every field except the
  person-identifying ones (catalog ``pii``, or graded core): those leave only when named. When that is
  not every column of the file, the credential gets a projection: a CSV or Parquet file of the version
  with only those columns, written by DuckDB from the version's Parquet file (kept per application and
  version under ``$SUDATA_HOME/operation/projections``, deleted when the credential is revoked), never
  the published file.
- **Daily quota.** ``quota_per_day`` counts requests (files or pages served) or rows, as the scope's
  ``quota_unit`` says; it renews at midnight, Beijing time. A request that would go over it is refused
  (429 with ``Retry-After``); every counted answer says what is left (``X-RateLimit-*``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sudata.publish import export_columns

from .fields import identifying
from .store import Authorisation, QuotaExceeded, quota_headers, seconds_to_midnight

PROJECTION_FORMATS = ("csv", "parquet")


def granted_columns(auth: Authorisation, entry: dict) -> list[str]:
    """The dataset's columns this download authorisation opens, in the dataset's order."""
    columns = [c["name"] for c in entry["columns"]]
    named = auth.datasets.get(entry["name"]) or []
    if named:
        return [c for c in columns if c in named]
    hidden = identifying(entry)
    return [c for c in columns if c not in hidden]


@dataclass(frozen=True)
class Allowance:
    """What a download request may use of today's quota: the headers of its answer."""

    limit: int
    remaining: int
    reset: int

    @property
    def headers(self) -> dict[str, str]:
        return quota_headers(self.limit, self.remaining, self.reset)


def take(auth: Authorisation, used_requests: int, used_rows: int, rows: int | None) -> Allowance | None:
    """Today's allowance after one more request of ``rows`` rows (``None``: no quota), or
    :class:`QuotaExceeded` when it would go over."""
    if auth.quota_per_day is None:
        return None
    reset = seconds_to_midnight()
    if auth.quota_unit == "rows":
        used, cost, unit = used_rows, rows or 0, "rows"
    else:
        used, cost, unit = used_requests, 1, "requests"
    if used + cost > auth.quota_per_day:
        left = max(0, auth.quota_per_day - used)
        raise QuotaExceeded(f"the daily quota of {auth.quota_per_day} {unit} would be exceeded ({used} used today,"
                            f" {left} left; this request takes {cost})", reset, auth.quota_per_day, left)
    return Allowance(auth.quota_per_day, auth.quota_per_day - used - cost, reset)


def projections_of(directory: Path, application_id: int) -> Path:
    """Where the projections served to one application are kept."""
    return Path(directory) / f"application-{application_id}"


def remove_projections(directory: Path, application_id: int) -> int:
    """Delete the projections of an application whose credential ended; returns how many files went."""
    folder = projections_of(directory, application_id)
    count = sum(1 for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0
    shutil.rmtree(folder, ignore_errors=True)
    return count


def projection(directory: Path, application_id: int, dataset: str, version: int, parquet: Path,
               columns: list[str], fmt: str) -> Path:
    """The file of ``version`` with only ``columns``, written once per application and version."""
    if fmt not in PROJECTION_FORMATS:
        raise ValueError(f"a field subset is served as {' or '.join(PROJECTION_FORMATS)}, not {fmt}")
    # the name says which columns: a new approval with other fields never reuses an old file
    digest = hashlib.sha256("\0".join(columns).encode("utf-8")).hexdigest()[:12]
    target = projections_of(directory, application_id) / f"{dataset}-v{version:06d}-{digest}.{fmt}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=f".{fmt}")
    os.close(fd)
    try:
        with duckdb.connect(":memory:") as con:
            export_columns(con, parquet, columns, Path(tmp), fmt)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)  # atomic: a concurrent request sees the whole file or none
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
