"""The one place where Su Data Foundation's Dagster definitions are assembled."""

import dagster as dg

from orchestration.assets.harvest import build_harvest_assets, build_harvest_schedules
from orchestration.assets.ingestion import build_ingestion_assets
from orchestration.assets.publication import build_publication_assets
from orchestration.assets.transform import sudata_dbt_models
from orchestration.checks.anomalies import build_anomaly_checks
from orchestration.checks.freshness import build_delivery_checks, delivery_watch_job, delivery_watch_schedule
from orchestration.checks.quality_gate import build_quality_checks
from orchestration.code_references import with_code_references
from orchestration.jobs import nightly_job
from orchestration.progress import progress_logger
from orchestration.project import dbt_project
from orchestration.resources import build_resources
from orchestration.schedules import nightly_schedule
from orchestration.sensors import (
    alerts_after_failure,
    alerts_after_success,
    data_docs_after_failure,
    data_docs_after_success,
    new_drops_sensor,
)
from sudata.datasets import load_datasets, model_relation

datasets = load_datasets(dbt_project.manifest_path)
quarantine_model = model_relation(dbt_project.manifest_path, "int_quarantined_rows")
unusable_model = model_relation(dbt_project.manifest_path, "int_unusable_values")
delivery_checks = build_delivery_checks()
# a registry that declares no delivery (the benchmark's generated one) has nothing to watch
delivery_watch = [delivery_watch_job(delivery_checks)] if delivery_checks else []


defs = dg.Definitions(
    assets=with_code_references([*build_ingestion_assets(), sudata_dbt_models, *build_harvest_assets()],
                                referenced=build_publication_assets(datasets)),
    asset_checks=[*build_quality_checks(datasets, quarantine_model, unusable_model), *delivery_checks,
                  *build_anomaly_checks(datasets)],
    jobs=[nightly_job, *delivery_watch],
    schedules=[nightly_schedule, *(delivery_watch_schedule(job) for job in delivery_watch), *build_harvest_schedules()],
    sensors=[new_drops_sensor, data_docs_after_success, data_docs_after_failure, alerts_after_success,
             alerts_after_failure],
    resources=build_resources(),
    # the console as Dagster has it, and the progress lines that `sudata run` turns on
    loggers={**dg.default_loggers(), "progress": progress_logger},
)
