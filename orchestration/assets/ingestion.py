"""The ingestion assets: one partitioned asset per registered source, built from the registry (no
per-source code), declared together as one subsettable multi-asset.

One op for every source keeps loading the definitions cheap with 1,000 sources (one op definition instead
of a thousand); Dagster still shows one asset per source, with its owner, partitions, ``drop_landed`` check
and per-partition row counts, and a run that selects some of them lands only those.
"""


import dagster as dg

from orchestration.partitions import drop_date_partitions
from orchestration.resources import SudataResource
from sudata.ingest import ingest_dates
from sudata.registry import Source, load_registry

RAW_GROUP = "raw"
INGEST_STEP = "raw_ingestion"  # the op (and step) that lands the selected sources' drops
LANDED_CHECK = "drop_landed"
TRANSIENT = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def raw_asset_key(source_id: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source_id])


def _spec(source: Source) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=raw_asset_key(source.id),
        group_name=RAW_GROUP,
        description=f"{source.title} ({source.title_en}) delivered by {source.department.name}: "
        f"{source.format.upper()} drops landed as Parquet with lineage columns.",
        owners=[f"team:{source.department.id}"],
        kinds={"parquet", source.format},
        tags={"department": source.department.id},
        metadata={
            "department": source.department.name,
            "format": source.format,
            "encoding": source.encoding,
            "primary_key": list(source.primary_key),
            "landing_zone": f"$SUDATA_RAW/{source.folder}/<YYYY-MM-DD>/{source.files}",
            "columns": dg.TableSchema(
                columns=[dg.TableColumn(c.name, "string", description=f"{c.header} · {c.grade}") for c in source.columns]
            ),
        },
    )


LANDED_DESCRIPTION = ("The run's drops were delivered and could be read: the result tells a delivery that was "
                      "quarantined (unreadable) from one that was not delivered")


def _ingest_source(context: dg.AssetExecutionContext, sudata: SudataResource, source: Source, check: bool):
    key = raw_asset_key(source.id)
    results = ingest_dates(sudata.paths, source, list(context.partition_keys))
    files = []
    for drop_date, result in results.items():
        for warning in result.warnings:
            context.log.warning(f"{source.id} {drop_date}: {warning}")
        for f in result.files:
            if f.get("status") == "quarantined":
                context.log.error(f"{source.id} {drop_date}: quarantined {f['file']}: {f['reason']}")
            files.append({"drop_date": drop_date, **f})
        # A catch-up lands several dates in one step: each date's partition gets its own counts.
        context.add_asset_metadata({
            "status": result.status,
            "dagster/row_count": result.rows,
            "files": dg.MetadataValue.json([f for f in files if f["drop_date"] == drop_date]),
            "quarantined_files": result.quarantined_files,
            "quarantined_rows": result.quarantined_rows,
        }, asset_key=key, partition_key=drop_date)
    yield dg.MaterializeResult(asset_key=key)
    if not check:
        return
    # A catch-up range may hold dates a source had nothing to deliver; only its latest date must have landed.
    latest = max(results)
    not_landed = [d for d, r in results.items() if not r.landed and (r.status != "missing" or d == latest)]
    quarantined = [d for d in not_landed if results[d].status == "quarantined"]
    missing = [d for d in not_landed if results[d].status == "missing"]
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=LANDED_CHECK,
        passed=not not_landed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=_landed_description(quarantined, missing, other=sorted(set(not_landed) - set(quarantined) - set(missing))),
        metadata={
            "status": _overall_status(results),
            "not_landed": dg.MetadataValue.json(not_landed),
            "quarantined": dg.MetadataValue.json(quarantined),
            "not_delivered": dg.MetadataValue.json(missing),
            "reasons": dg.MetadataValue.md(
                "\n".join(f"- {f['drop_date']} `{f['file']}`: {f.get('reason', f['status'])}" for f in files)
                or "no file delivered"
            ),
        },
    )


def _landed_description(quarantined: list[str], missing: list[str], other: list[str]) -> str:
    """What the check found, in words that tell a quarantined delivery from one that never came."""
    parts = []
    if quarantined:
        parts.append(f"delivered but quarantined (unreadable, see reasons): {', '.join(quarantined)}")
    if missing:
        parts.append(f"not delivered: {', '.join(missing)}")
    if other:
        parts.append(f"not landed: {', '.join(other)}")
    return "; ".join(parts) or "every drop of the run was delivered and landed"


def _overall_status(results: dict) -> str:
    """One status for the run's dates: the worst of them (a single date keeps its own)."""
    statuses = {r.status for r in results.values()}
    for status in ("quarantined", "missing", "loaded", "duplicate", "unchanged"):
        if status in statuses:
            return status
    return next(iter(statuses), "missing")


def build_ingestion_assets(registry: dict[str, Source] | None = None) -> list[dg.AssetsDefinition]:
    registry = registry if registry is not None else load_registry()
    if not registry:
        return []
    by_key = {raw_asset_key(s.id): s for s in registry.values()}

    @dg.multi_asset(
        name=INGEST_STEP,
        specs=[_spec(s) for s in registry.values()],
        check_specs=[dg.AssetCheckSpec(LANDED_CHECK, asset=key, description=LANDED_DESCRIPTION) for key in by_key],
        can_subset=True,
        partitions_def=drop_date_partitions,
        # A catch-up over several dates is one run: each date lands here, the models and gates run once.
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=TRANSIENT,
    )
    def _ingest(context: dg.AssetExecutionContext, sudata: SudataResource):
        selected, checks = context.selected_asset_keys, context.selected_asset_check_keys
        failed = []
        for key, source in by_key.items():  # registry order, whatever the selection's order
            if key not in selected:
                continue
            try:
                yield from _ingest_source(context, sudata, source, dg.AssetCheckKey(key, LANDED_CHECK) in checks)
            except Exception as exc:  # the other sources still land; the step fails (and is retried) at the end
                context.log.error(f"{source.id}: ingestion failed: {exc!r}")
                failed.append((source.id, exc))
        if failed:
            raise dg.Failure(f"ingestion failed for {', '.join(sid for sid, _ in failed)}",
                             metadata={"errors": dg.MetadataValue.json({sid: repr(e) for sid, e in failed})}) from failed[0][1]

    return [_ingest]
