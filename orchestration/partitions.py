import os

import dagster as dg

from sudata.settings import TIMEZONE

# One partition per departmental drop date. end_offset=1 lets today's drops be ingested as soon as they land.
drop_date_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("SUDATA_PARTITIONS_START", "2026-01-01"),
    timezone=TIMEZONE,
    end_offset=1,
)


PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def op_context(context):
    # Asset-check contexts wrap the op context that carries the run.
    return getattr(context, "op_execution_context", context)


def run_id(context) -> str:
    return op_context(context).run_id


def run_drop_date(context) -> str | None:
    """The (latest) drop date a run was launched for, also visible to the unpartitioned assets of that run."""
    tags = op_context(context).run.tags
    return tags.get(PARTITION_TAG) or tags.get(RANGE_END_TAG)


def drop_date_run(first: str, last: str) -> dict:
    """How to launch the nightly job for the drop dates first … last (keyword arguments that both
    ``RunRequest`` and ``execute_in_process`` take): one date is an ordinary partition run; several are one
    run over the range, in which ingestion lands each date and dbt, the gates and publication run once."""
    if first == last:
        return {"partition_key": first}
    return {"tags": {RANGE_START_TAG: first, RANGE_END_TAG: last}}
