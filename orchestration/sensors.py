"""Notice drops that arrive outside the nightly window (late or corrected deliveries) and run them."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import nightly_job
from sudata.ingest import pending_drops
from sudata.registry import load_registry
from sudata.settings import get_paths


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Requests a nightly run for each drop date with files the ingestion ledger has not seen.",
)
def new_drops_sensor(context: dg.SensorEvaluationContext):
    paths = get_paths()
    dates = pending_drops(paths, load_registry())
    if not dates:
        return dg.SkipReason("no new or changed drop in the landing zone")
    partitions = set(nightly_job.partitions_def.get_partition_keys())
    runs = []
    for d, fingerprint in dates.items():
        if d not in partitions:
            context.log.warning(f"drop date {d} is outside the partitions of the nightly job; ignored")
            continue
        # The run key names the unseen files, so a corrected redelivery triggers a new run, the same one never twice.
        runs.append(dg.RunRequest(partition_key=d, run_key=f"{d}:{fingerprint}"))
    return runs


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[nightly_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the Great Expectations Data Docs once a nightly run has finished.",
)
def data_docs_after_success(context: dg.RunStatusSensorContext):
    build_data_docs_site()


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.FAILURE,
    monitored_jobs=[nightly_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the Data Docs after a nightly run with failures too: blocked gates are what they show best.",
)
def data_docs_after_failure(context: dg.RunStatusSensorContext):
    build_data_docs_site()


def build_data_docs_site():
    from sudata.quality import build_data_docs

    paths = get_paths()
    return build_data_docs(paths.data_docs / "validations", paths.data_docs / "data_docs")
