import os

import dagster as dg

from sudata.settings import TIMEZONE

# One partition per departmental drop date. end_offset=1 lets today's drops be ingested as soon as they land.
drop_date_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("SUDATA_PARTITIONS_START", "2026-01-01"),
    timezone=TIMEZONE,
    end_offset=1,
)


def _op_context(context):
    # Asset-check contexts wrap the op context that carries the run.
    return getattr(context, "op_execution_context", context)


def run_id(context) -> str:
    return _op_context(context).run_id


def run_drop_date(context) -> str | None:
    """The drop date a run was launched for (also visible to the unpartitioned assets of that run)."""
    return _op_context(context).run.tags.get("dagster/partition")
