"""Notice drops that arrive outside the nightly window (late or corrected deliveries) and run them."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import nightly_job
from orchestration.partitions import drop_date_run
from sudata.ingest import pending_drops
from sudata.registry import load_registry
from sudata.settings import get_paths


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Requests a nightly run for the drop dates with files the ingestion ledger has not seen "
    "(one catch-up run when there are several).",
)
def new_drops_sensor(context: dg.SensorEvaluationContext):
    paths = get_paths()
    dates = pending_drops(paths, load_registry())
    if not dates:
        return dg.SkipReason("no new or changed drop in the landing zone")
    partitions = set(nightly_job.partitions_def.get_partition_keys())
    unseen = {}
    for d, fingerprint in dates.items():
        if d not in partitions:
            context.log.warning(f"drop date {d} is outside the partitions of the nightly job; ignored")
            continue
        unseen[d] = fingerprint
    if not unseen:
        return dg.SkipReason("new drops only outside the nightly job's partitions")
    # The run key names the unseen files, so a corrected redelivery triggers a new run, the same one never twice.
    run_key = ";".join(f"{d}:{fingerprint}" for d, fingerprint in sorted(unseen.items()))
    return [dg.RunRequest(run_key=run_key, **drop_date_run(min(unseen), max(unseen)))]


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[nightly_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the Great Expectations Data Docs and records the day's KPI figures once a nightly run"
    " has finished.",
)
def data_docs_after_success(context: dg.RunStatusSensorContext):
    build_data_docs_site()
    record_kpi()


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.FAILURE,
    monitored_jobs=[nightly_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the Data Docs after a nightly run with failures too: blocked gates are what they show best.",
)
def data_docs_after_failure(context: dg.RunStatusSensorContext):
    build_data_docs_site()
    record_kpi()


def build_data_docs_site():
    from sudata.quality import build_data_docs

    paths = get_paths()
    return build_data_docs(paths.data_docs / "validations", paths.data_docs / "data_docs")


def _alert_finished_run(context: dg.RunStatusSensorContext) -> None:
    from orchestration.alerting import alert_run

    for alert in alert_run(context.instance, context.dagster_run.run_id):
        context.log.warning(f"alert {alert.key}: {alert.message}")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (channels of alerts.yml, `sudata alerts`) for what a finished run found: late or missing "
    "drops, blocked datasets, quarantined files.",
)
def alerts_after_success(context: dg.RunStatusSensorContext):
    _alert_finished_run(context)


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts for a failed run (its failed steps and a link to it) and what it found before failing.",
)
def alerts_after_failure(context: dg.RunFailureSensorContext):
    _alert_finished_run(context)


def record_kpi():
    """The day's record of the city's targets (sudata.kpi): the history the KPI page charts."""
    from sudata.kpi import record, today_in_city
    from sudata.store import PublishedStore

    store = PublishedStore(get_paths().published)
    if store.exists():
        record(store, today_in_city())
