"""Publication: one asset per dataset, downstream of its mart and of the mart's blocking quality gate.

Each materialisation writes a new immutable version and makes it current in one atomic step.
"""


from contextlib import closing

import dagster as dg

from orchestration.checks.quality_gate import accepted_checks, mart_key
from orchestration.code_references import factory_reference
from orchestration.partitions import run_drop_date
from orchestration.resources import SudataResource
from orchestration.run_records import gate_report, run_lineage, warehouse_build
from sudata.crash import crash_point
from sudata.datasets import DatasetSpec
from sudata.publish import export_version
from sudata.quality.acceptances import Acceptances
from sudata.warehouse import warehouse_connect

PUBLISH_GROUP = "published"


def _build_publish(spec: DatasetSpec) -> dg.AssetsDefinition:
    catalog = spec.catalog

    @dg.asset(
        key=dg.AssetKey(["published", spec.name]),
        deps=[mart_key(spec.name)],
        group_name=PUBLISH_GROUP,
        owners=[f"team:{catalog['department']}"] if catalog.get("department") else [],
        kinds={"parquet", "csv", "json"},
        description=f"{catalog.get('title', spec.name)} ({catalog.get('title_en', '')}) — "
        f"{spec.open_type} dataset in the open catalog"
        + (f"; sliced for Su Online by {spec.scope_column}" if catalog.get("su_online") else ""),
        tags={"open_type": spec.open_type, "department": catalog.get("department", "")},
        metadata={"open_type": spec.open_type, "security_grade": catalog.get("security_grade", ""),
                  **factory_reference(_build_publish)},
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
    )
    def _publish(context: dg.AssetExecutionContext, sudata: SudataResource) -> dg.MaterializeResult:
        paths = sudata.paths
        store = sudata.store
        quality = gate_report(paths, run_lineage(context), spec.name)  # a re-execution's gate may be its parent's
        if not quality or not quality.get("passed"):
            raise dg.Failure(
                f"no passing quality gate for {spec.name} in this run: run the mart's quality_gate check first",
                allow_retries=False,
            )
        gated, last_build = quality.pop("warehouse_build", None), warehouse_build(paths)
        if last_build and last_build["run_id"] != gated:
            raise dg.Failure(
                f"the quality gate of {spec.name} passed on the warehouse as run {gated} built it; run "
                f"{last_build['run_id']} has rebuilt it since. Run the mart's quality_gate check again.",
                allow_retries=False,
            )
        crash_point("before_publication")
        store.sweep_orphans()

        current = store.current_version(spec.name)
        previous = (store.path(current["path"]), current["files"]) if current else None

        written: dict = {}

        def build(directory):
            with closing(warehouse_connect(paths)) as con:
                built = export_version(con, spec, directory, previous)
            written.update(built["parts"])
            return built

        version = store.publish(spec.entry(), build, run_id=context.run.run_id, drop_date=run_drop_date(context), quality=quality)
        accepted = accepted_checks(quality)
        Acceptances(paths.acceptances).used([a["id"] for a in accepted], version=version, run_id=context.run.run_id)
        crash_point("between_publications")
        current = store.current_version(spec.name)
        return dg.MaterializeResult(
            metadata={
                "version": version,
                "dagster/row_count": current["row_count"],
                "path": dg.MetadataValue.path(str(store.path(current["path"]))),
                "quality_score": quality["score"],
                "su_online_slices": len(store.slices(spec.name, version)),
                # the CSV and JSON parts (one per drop date) this version wrote; the others it shares
                "parts": dg.MetadataValue.json(written),
                "accepted_checks": dg.MetadataValue.json(accepted),
            }
        )

    return _publish


def build_publication_assets(specs: dict[str, DatasetSpec]) -> list[dg.AssetsDefinition]:
    return [_build_publish(s) for s in specs.values()]
