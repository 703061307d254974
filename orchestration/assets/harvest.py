"""Harvesting: one asset per declared source (harvest/sources.yml), each with its own job and schedule.

A materialisation is one harvest job (sudata.harvest.job): invalid records are reported in its metadata
without failing it; a source that cannot be read, or a job past its timeout, fails the run (and imports
nothing, withdraws nothing).
"""

import dagster as dg

from orchestration.assets.transform import PLATFORM_OWNER
from orchestration.resources import SudataResource
from sudata.harvest.job import run_job
from sudata.harvest.sources import HarvestSource, load_sources
from sudata.settings import TIMEZONE

HARVEST_GROUP = "harvested"


def harvest_key(source: HarvestSource) -> dg.AssetKey:
    return dg.AssetKey(["harvested", source.id])


def _build_harvest(source: HarvestSource) -> dg.AssetsDefinition:
    @dg.asset(
        key=harvest_key(source),
        group_name=HARVEST_GROUP,
        owners=[PLATFORM_OWNER],  # the catalog federates other portals: no department delivers these
        kinds={source.kind},
        description=f"{source.title}: entries harvested from {source.url} ({source.kind}), listed under "
        f"{source.organization_title}",
        tags={"harvest_source": source.id},
        metadata={"url": source.url, "kind": source.kind, "timeout_s": source.timeout_s},
    )
    def _harvest(context: dg.AssetExecutionContext, sudata: SudataResource) -> dg.MaterializeResult:
        report = run_job(source, sudata.paths)
        metadata = {
            "job_id": report.job_id, "status": report.status, **report.counts,
            "invalid": len(report.errors),
            "invalid_records": dg.MetadataValue.json(report.errors[:50]),
        }
        if not report.ok:
            raise dg.Failure(f"harvest of {source.id} {report.status}: {report.message}", metadata=metadata)
        for e in report.errors[:20]:
            context.log.warning(f"{source.id}: record {e['remote_id'] or '(no id)'} not imported: {e['reason']}")
        return dg.MaterializeResult(metadata=metadata)

    return _harvest


def build_harvest_assets(sources: dict[str, HarvestSource] | None = None) -> list[dg.AssetsDefinition]:
    sources = load_sources() if sources is None else sources
    return [_build_harvest(s) for s in sources.values()]


def build_harvest_schedules(sources: dict[str, HarvestSource] | None = None) -> list[dg.ScheduleDefinition]:
    """One job and schedule per source; stopped until an operator turns it on for a reachable source."""
    sources = load_sources() if sources is None else sources
    schedules = []
    for s in sources.values():
        job = dg.define_asset_job(f"harvest_{s.id}", selection=dg.AssetSelection.assets(harvest_key(s)))
        schedules.append(dg.ScheduleDefinition(
            name=f"harvest_{s.id}_schedule", job=job, cron_schedule=s.schedule, execution_timezone=TIMEZONE,
            default_status=dg.DefaultScheduleStatus.STOPPED))
    return schedules
