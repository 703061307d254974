import dagster as dg

from orchestration.checks.freshness import delivery_check_keys
from orchestration.partitions import drop_date_partitions

# The nightly run: every drop of the date, every model, every gate, every publication. Harvesting runs
# on each source's own schedule (orchestration/assets/harvest.py).
nightly_job = dg.define_asset_job(
    name="nightly",
    # Delivery deadlines are judged at their own time by the delivery_watch job, not by the night;
    # harvested catalogs run on their own schedules.
    selection=(dg.AssetSelection.all() - dg.AssetSelection.checks(*delivery_check_keys())
               - dg.AssetSelection.groups("harvested")),
    partitions_def=drop_date_partitions,
    description="Ingest the day's departmental drops, rebuild the governed datasets, gate them on quality, publish.",
    executor_def=dg.in_process_executor,
    op_retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    tags={"sudata/job": "nightly"},
)
