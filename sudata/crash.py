"""Named points where crash tests kill a nightly run for real (SIGKILL: no cleanup, no exception handlers).

``SUDATA_CRASH_AT=<point>`` kills the process the first time it reaches that point;
``SUDATA_CRASH_AT=<point>@<n>`` the n-th time (e.g. ``between_dates@2``). Unset, a point costs one lookup.
A run that leads its own process group (a test starts it so) dies with its whole group, dbt's process
included, as when the machine or container running it goes down.
"""

from __future__ import annotations

import os
import signal

INGESTION_POINTS = (
    "between_files",          # a file of the drop was read, the next one not yet
    "before_partition_write",  # every file read and quarantine copies made, nothing written to the lake
    "during_partition_write",  # the temporary Parquet file is written, not yet renamed into place
    "after_partition_write",   # the partition is in the lake, the ledger does not know it yet
    "inside_ledger_write",     # the ledger transaction holds the file records, not yet committed
    "after_ledger_write",      # the date is committed in lake and ledger
    "between_dates",           # a date of a catch-up is done, the next one not started
)
PIPELINE_POINTS = (
    "dbt_model_built",         # dbt has built the n-th model of tonight's build (staging first, marts last)
    "inside_gate",             # a dataset's quality gate has its report, nothing of it is written yet
    "before_publication",      # a dataset passed its gate, its publication has not started
    "during_version_write",    # the version's Parquet file is in .staging/, its other files are not
    "after_version_rename",    # the version directory is in place, the index does not make it current yet
    "inside_index_write",      # the index transaction holds the new version, not yet committed
    "between_publications",    # a dataset's new version is current, the next dataset not yet published
)
POINTS = INGESTION_POINTS + PIPELINE_POINTS

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
        if os.getpgid(0) == os.getpid():
            os.killpg(0, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
