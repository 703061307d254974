"""Delivery deadlines as Dagster checks: one ``delivered_on_time`` check on each ingestion asset whose source
declares a ``delivery`` in the registry, evaluated by the ``delivery_watch`` job at every deadline.

The landing zone is the witness, not the asset's last materialization: the nightly run materialises every
ingestion asset, delivered or not, so a materialization time says nothing about the department's drop.
"""


from datetime import datetime

import dagster as dg

from orchestration.assets.ingestion import raw_asset_key
from orchestration.resources import SudataResource
from sudata.monitoring.deadlines import ZONE, delivery_status
from sudata.registry import Source, load_registry
from sudata.settings import TIMEZONE

DELIVERY_CHECK = "delivered_on_time"


class DeliveryWatchConfig(dg.Config):
    as_of: str = ""  # evaluate at this ISO time instead of now (a replay of a past deadline)


def _sources(registry: dict[str, Source] | None) -> list[Source]:
    registry = registry if registry is not None else load_registry()
    return [s for s in registry.values() if s.delivery is not None]


def _description(source: Source) -> str:
    d = source.delivery
    return (f"The {d.frequency} drop of {source.department.name} is in the landing zone by {d.deadline} "
            f"({TIMEZONE}) {d.days_after} day(s) after its drop date (registry: delivery).")


def delivery_check_keys(registry: dict[str, Source] | None = None) -> list[dg.AssetCheckKey]:
    return [dg.AssetCheckKey(raw_asset_key(s.id), DELIVERY_CHECK) for s in _sources(registry)]


def build_delivery_checks(registry: dict[str, Source] | None = None) -> list[dg.AssetChecksDefinition]:
    sources = {s.id: s for s in _sources(registry)}
    if not sources:
        return []
    specs = [dg.AssetCheckSpec(DELIVERY_CHECK, asset=raw_asset_key(s.id), description=_description(s))
             for s in sources.values()]

    @dg.multi_asset_check(specs=specs, name="delivery_deadlines", can_subset=True,
                          description="Whether each source's latest due drop was delivered by its deadline.")
    def _deadlines(context: dg.AssetCheckExecutionContext, config: DeliveryWatchConfig, sudata: SudataResource):
        now = datetime.fromisoformat(config.as_of).astimezone(ZONE) if config.as_of else datetime.now(ZONE)
        for check_key in context.selected_asset_check_keys:
            source = sources[check_key.asset_key.path[-1]]
            status = delivery_status(sudata.paths, source, now)
            yield dg.AssetCheckResult(
                asset_key=check_key.asset_key,
                check_name=DELIVERY_CHECK,
                passed=status.ok,
                # not delivered at all is an error; delivered after the deadline a warning
                severity=dg.AssetCheckSeverity.WARN if status.status == "late" else dg.AssetCheckSeverity.ERROR,
                description=status.describe(source),
                metadata={
                    "status": status.status,
                    "message": status.describe(source),
                    **({"drop_date": status.drop_date} if status.drop_date else {}),
                    **({"due_at": status.due_at.isoformat()} if status.due_at else {}),
                    **({"delivered_at": status.delivered_at.isoformat()} if status.delivered_at else {}),
                    "files": status.files,
                    "evaluated_at": now.isoformat(timespec="seconds"),
                },
            )

    return [_deadlines]


def delivery_watch_job(checks: list[dg.AssetChecksDefinition]):
    return dg.define_asset_job(
        name="delivery_watch",
        selection=dg.AssetSelection.checks(*checks),
        description="Checks every source's latest due drop against its delivery deadline (registry: delivery); "
        "a late or missing drop raises an alert.",
        tags={"sudata/job": "delivery_watch"},
        executor_def=dg.in_process_executor,
    )


def delivery_watch_schedule(job, registry: dict[str, Source] | None = None) -> dg.ScheduleDefinition:
    """At each declared deadline (a minute after it), and hourly to see late arrivals."""
    crons = sorted({f"{int(m) + 1 if int(m) < 59 else 59} {int(h)} * * *"
                    for h, m in (s.delivery.deadline.split(":") for s in _sources(registry))})
    return dg.ScheduleDefinition(
        name="delivery_watch_schedule",
        job=job,
        cron_schedule=[*crons, "5 * * * *"] if crons else "5 * * * *",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
