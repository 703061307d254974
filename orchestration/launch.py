"""Run a job of this code location in the current process, as the code location's own run.

``JobDefinition.execute_in_process`` records a run without its code location: the Dagster UI lists it
under Runs but not on the job's page, its timeline or its partitions, and cannot re-execute it. Here the run
is created with the origin the workspace (``workspace.yaml``) gives the job, and executed in process
through the job's reconstructable form.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.workspace.load import location_origins_from_yaml_paths

from orchestration.partitions import PARTITION_TAG
from sudata.settings import PROJECT_ROOT

WORKSPACE = PROJECT_ROOT / "workspace.yaml"
DEFINITIONS_MODULE, DEFINITIONS_ATTRIBUTE = "orchestration.definitions", "defs"
REPOSITORY = "__repository__"  # the one repository of a Definitions object


def code_location_origin():
    (origin,) = [o for o in location_origins_from_yaml_paths([str(WORKSPACE)])
                 if getattr(o, "loadable_target_origin", None) and o.loadable_target_origin.module_name == DEFINITIONS_MODULE]
    return origin


def remote_job_origin(job_name: str) -> RemoteJobOrigin:
    return RemoteJobOrigin(RemoteRepositoryOrigin(code_location_origin(), REPOSITORY), job_name)


def reconstructable_job(job_name: str):
    """A job of this code location as Dagster loads it again in another process (or a re-execution)."""
    return ReconstructableRepository.for_module(
        DEFINITIONS_MODULE, DEFINITIONS_ATTRIBUTE, working_directory=str(PROJECT_ROOT)).get_reconstructable_job(job_name)


@dataclass(frozen=True)
class LaunchedRun:
    """What ``execute_in_process`` would have returned: the run and its events, read back from the instance."""

    run_id: str
    dagster_run: dg.DagsterRun
    all_events: list[dg.DagsterEvent]

    @property
    def success(self) -> bool:
        return self.dagster_run.status == dg.DagsterRunStatus.SUCCESS


def launch_in_process(job_name: str, instance: dg.DagsterInstance, *, run_config: dict | None = None,
                      partition_key: str | None = None, tags: dict | None = None) -> LaunchedRun:
    """Create the run under the code location's origin and execute it here; failures are in the run."""
    recon_job = reconstructable_job(job_name)
    job_def = recon_job.get_definition()
    run_tags = {**job_def.run_tags, **(tags or {}), **({PARTITION_TAG: partition_key} if partition_key else {})}
    run_config = run_config or {}
    plan = create_execution_plan(recon_job, run_config=run_config, instance_ref=instance.get_ref()
                                 if instance.is_persistent else None, tags=run_tags)
    run = instance.create_run_for_job(
        job_def=job_def, execution_plan=plan, run_config=run_config, tags=run_tags,
        remote_job_origin=remote_job_origin(job_name), job_code_origin=recon_job.get_python_origin(),
    )
    execute_run(recon_job, run, instance, raise_on_error=False)
    events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event]
    return LaunchedRun(run.run_id, instance.get_run_by_id(run.run_id), events)
