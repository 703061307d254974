"""The one place where Su Data Foundation's Dagster definitions are assembled."""

import os
import warnings

import dagster as dg

from orchestration.assets.harvest import build_harvest_assets, build_harvest_schedules
from orchestration.assets.ingestion import build_ingestion_assets
from orchestration.assets.publication import build_publication_assets
from orchestration.assets.transform import sudata_dbt_models
from orchestration.checks.anomalies import build_anomaly_checks
from orchestration.checks.freshness import build_delivery_checks, delivery_watch_job, delivery_watch_schedule
from orchestration.checks.quality_gate import build_quality_checks
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
from sudata.settings import PROJECT_ROOT

datasets = load_datasets(dbt_project.manifest_path)
quarantine_model = model_relation(dbt_project.manifest_path, "int_quarantined_rows")
unusable_model = model_relation(dbt_project.manifest_path, "int_unusable_values")
delivery_checks = build_delivery_checks()
# a registry that declares no delivery (the benchmark's generated one) has nothing to watch
delivery_watch = [delivery_watch_job(delivery_checks)] if delivery_checks else []



def with_code_references(assets: list) -> list:
    """Each asset links to the code that builds it: the Python function, and a dbt model's SQL file too.
    With SUDATA_GIT_URL set (e.g. the repository's GitHub or GitLab address) the links open there, at
    SUDATA_GIT_BRANCH (default main), instead of in the local checkout."""
    with warnings.catch_warnings():  # beta in this Dagster: otherwise a warning per asset
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = dg.with_source_code_references(assets)
        git_url = os.environ.get("SUDATA_GIT_URL")
        if not git_url:
            return list(assets)
        return list(dg.link_code_references_to_git(
            assets, git_url=git_url, git_branch=os.environ.get("SUDATA_GIT_BRANCH", "main"),
            file_path_mapping=dg.AnchorBasedFilePathMapping(local_file_anchor=PROJECT_ROOT / "pyproject.toml",
                                                            file_anchor_path_in_repository="pyproject.toml")))


defs = dg.Definitions(
    assets=with_code_references([*build_ingestion_assets(), sudata_dbt_models, *build_publication_assets(datasets),
                                 *build_harvest_assets()]),
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
