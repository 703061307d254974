"""Named points where crash tests kill ingestion for real (SIGKILL: no cleanup, no exception handlers).

``SUDATA_CRASH_AT=<point>`` kills the process the first time it reaches that point;
``SUDATA_CRASH_AT=<point>@<n>`` the n-th time (e.g. ``between_dates@2``). Unset, a point costs one lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "between_files",          # a file of the drop was read, the next one not yet
    "before_partition_write",  # every file read and quarantine copies made, nothing written to the lake
    "during_partition_write",  # the temporary Parquet file is written, not yet renamed into place
    "after_partition_write",   # the partition is in the lake, the ledger does not know it yet
    "inside_ledger_write",     # the ledger transaction holds the file records, not yet committed
    "after_ledger_write",      # the date is committed in lake and ledger
    "between_dates",           # a date of a catch-up is done, the next one not started
)

_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get("SUDATA_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
