"""One partitioned ingestion asset per registered source, built from the registry (no per-source code)."""


import dagster as dg

from orchestration.partitions import drop_date_partitions
from orchestration.resources import SudataResource
from sudata.ingest import ingest_partition
from sudata.registry import Source, load_registry

RAW_GROUP = "raw"
TRANSIENT = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def raw_asset_key(source_id: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source_id])


def _build_asset(source: Source) -> dg.AssetsDefinition:
    key = raw_asset_key(source.id)
    check_name = "drop_landed"

    @dg.asset(
        key=key,
        group_name=RAW_GROUP,
        partitions_def=drop_date_partitions,
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
        check_specs=[dg.AssetCheckSpec(check_name, asset=key, description="Tonight's drop was delivered and readable")],
        retry_policy=TRANSIENT,
    )
    def _ingest(context: dg.AssetExecutionContext, sudata: SudataResource):
        drop_date = context.partition_key
        result = ingest_partition(sudata.paths, source, drop_date)
        for warning in result.warnings:
            context.log.warning(warning)
        quarantined = [f for f in result.files if f.get("status") == "quarantined"]
        for f in quarantined:
            context.log.error(f"quarantined {f['file']}: {f['reason']}")
        yield dg.MaterializeResult(
            metadata={
                "status": result.status,
                "dagster/row_count": result.rows,
                "files": dg.MetadataValue.json(result.files),
                "quarantined_files": result.quarantined_files,
                "quarantined_rows": result.quarantined_rows,
            }
        )
        yield dg.AssetCheckResult(
            check_name=check_name,
            passed=result.landed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "status": result.status,
                "reasons": dg.MetadataValue.md(
                    "\n".join(f"- `{f['file']}`: {f.get('reason', f['status'])}" for f in result.files)
                    or "no file delivered"
                ),
            },
        )

    return _ingest


def build_ingestion_assets(registry: dict[str, Source] | None = None) -> list[dg.AssetsDefinition]:
    registry = registry if registry is not None else load_registry()
    return [_build_asset(s) for s in registry.values()]
