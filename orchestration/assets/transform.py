"""The dbt project as assets: staging → intermediate → marts, with dbt tests as asset checks.

dbt's own ``build`` order gates the models (a failing error-severity test skips what depends on it).
In Dagster the dbt tests are reported as checks but are not step-blocking: a failure in one mart must not
stop the other marts from being checked and published. The per-dataset quality gate (see
orchestration.checks.quality_gate) reads their outcomes and blocks that dataset's publication.
"""


import functools
import gc
import graphlib
import os
from typing import Any, Mapping

import dagster as dg
from pydantic import Field
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.core.dbt_event_iterator import DbtEventIterator
from dagster_shared.record import replace

from orchestration.build_inputs import build_inputs, warehouse_stamp
from orchestration.project import dbt_project, ensure_manifest
from orchestration.resources import SudataResource
from orchestration.run_records import dbt_results, record_warehouse_build, run_dir, warehouse_build, write_json
from sudata.crash import crash_point
from sudata.datasets import load_manifest
from sudata.registry import load_registry
from sudata.warehouse import dbt_target

LAYERS = ("staging", "intermediate", "marts")
UNCHANGED_SINCE = "sudata/unchanged_since_run"  # metadata of a model a night found as the last build left it
PLATFORM_OWNER = "team:data_platform"  # models of no single department (quarantine, unusable values, seeds)
DBT_STEP = "sudata_dbt_models"


class DbtBuildConfig(dg.Config):
    full_refresh: bool = Field(
        default=False,
        description="Rebuild the incremental models from every landed drop instead of only the new ones "
        "(needed after a change to a model's SQL or to a seed it joins).",
    )


@functools.cache
def _departments() -> dict[str, str]:
    """source id → department id, read once: the translator asks for the owners of every model."""
    return {s.id: s.department.id for s in load_registry().values()}


class SudataDbtTranslator(DagsterDbtTranslator):
    """raw.<source> ↔ the ingestion asset of that source; models keyed and grouped by layer."""

    def get_asset_key(self, props: Mapping[str, Any]) -> dg.AssetKey:
        if props["resource_type"] == "source":
            return dg.AssetKey([props["source_name"], props["name"]])
        if props["resource_type"] == "seed":
            return dg.AssetKey(["master_data", props["name"]])
        return dg.AssetKey([self._layer(props), props["name"]])

    def get_group_name(self, props: Mapping[str, Any]) -> str | None:
        if props["resource_type"] == "seed":
            return "master_data"
        return self._layer(props)

    def get_owners(self, props: Mapping[str, Any]) -> list[str]:
        """The providing department: a mart's catalog department, a source's staging models its department."""
        meta = (props.get("config") or {}).get("meta") or props.get("meta") or {}
        department = (meta.get("catalog") or {}).get("department")
        if not department:
            name = props.get("name", "")
            source_id = name.removeprefix("stg_").removeprefix("int_").split("__")[0]
            department = _departments().get(source_id) if source_id != name else None
        return [f"team:{department}"] if department else [PLATFORM_OWNER]

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        # the same spec but not blocking, copied as it is rather than built and validated again (11,720 tests
        # with 1,000 sources)
        return None if spec is None else replace(spec, blocking=False)

    @staticmethod
    def _layer(props: Mapping[str, Any]) -> str:
        fqn = props.get("fqn") or []
        return fqn[1] if len(fqn) > 2 and fqn[1] in LAYERS else "models"


MANIFEST = load_manifest(ensure_manifest())  # parsed once: the datasets, gates and publication read the same
# The manifest stays for the life of the process. Frozen out of the cyclic collector's generations (with the
# modules imported so far), it is not walked again by every collection that building the Dagster objects below
# sets off (a quarter of the CPU time of loading 1,000 sources); it holds no reference cycles to free.
gc.freeze()

# code references: each model's asset links to its SQL file (the UI's "code" link)
translator = SudataDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True))


@dbt_assets(
    name=DBT_STEP,
    manifest=MANIFEST,
    project=dbt_project,
    dagster_dbt_translator=translator,
    retry_policy=dg.RetryPolicy(max_retries=1, delay=10),
)
def sudata_dbt_models(
    context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource, sudata: SudataResource
):
    paths = sudata.paths
    os.environ["SUDATA_HOME"] = str(paths.home)  # the dbt profile and the lake path read it
    inputs = build_inputs(paths)
    everything = set(context.selected_asset_keys) == set(context.assets_def.keys)
    previous = _same_build(paths, inputs, config)
    if previous is not None:
        yield from _as_previously_built(context, paths, previous)
        return
    tests: dict[str, list[dict]] = {}
    rules = test_rules(dbt_project.manifest_path)
    built: list[str] = []
    args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
    record_warehouse_build(paths, context.run.run_id, complete=False)
    invocation = dbt.cli(args, context=context, raise_on_error=False)
    # Row counts are read once dbt has finished (DuckDB allows one writer), so the crash point fires as dbt
    # builds each model, before fetch_row_counts holds the events back.
    events = DbtEventIterator(_as_built(invocation.stream()), invocation)
    # Spark in session mode would start a second Spark (and its single-JVM Derby metastore) in this process
    if invocation.adapter is not None and invocation.adapter.type() != "spark":
        events = with_row_counts(events, invocation)
        if os.environ.get("SUDATA_COLUMN_LINEAGE", "1") != "0":
            events = _with_column_lineage(events, invocation, context)
    try:
        for event in events:
            if isinstance(event, dg.AssetCheckResult):
                tests.setdefault(event.asset_key.path[-1], []).append({
                    "name": event.check_name,
                    "status": "pass" if event.passed else "fail",
                    "severity": (event.severity.value if event.severity else "ERROR").lower(),
                    "failures": (event.metadata.get("dagster_dbt/failed_row_count").value
                                 if event.metadata.get("dagster_dbt/failed_row_count") else None),
                    "rule": rules.get(event.check_name),
                })
            elif (key := _model_key(event, context)) is not None:
                built.append(key.path[-1])
            yield event
    finally:
        _release_warehouse(invocation)
    _name_failing_keys(sudata, tests)
    failed = [
        {"node": r.get("unique_id"), "status": r.get("status"), "message": (r.get("message") or "")[:500]}
        for r in (invocation.get_artifact("run_results.json") or {}).get("results", [])
        if r.get("status") in ("error", "skipped", "fail")
    ]
    write_json(run_dir(paths, context.run.run_id) / "dbt_results.json", {"tests": tests, "built": built, "failed": failed})
    record_warehouse_build(paths, context.run.run_id, complete=True, inputs=inputs, everything=everything,
                           warehouse=warehouse_stamp(paths))
    _record_not_built(context, sudata, set(built), failed)
    if not built and not invocation.is_successful():
        raise dg.Failure("dbt build produced no model", metadata={"failed": dg.MetadataValue.json(failed)})


# The specs, outputs and checks dagster-dbt built above stay as long as the manifest: frozen as well, they are
# not walked by the collections that building the rest of the definitions sets off (a tenth of the CPU time).
gc.freeze()


def _same_build(paths, inputs: str, config: DbtBuildConfig) -> dict | None:
    """The last build, when this one would repeat it: complete, of every model, over the same inputs, into
    a DuckDB warehouse nothing has written since, and with no model in error (an error may be passing)."""
    if config.full_refresh or dbt_target() != "duckdb":
        return None
    last = warehouse_build(paths)
    if not (last and last["complete"] and last.get("everything") and last.get("inputs") == inputs
            and last.get("warehouse") == warehouse_stamp(paths)):
        return None
    if any(f["status"] == "error" for f in dbt_results(paths, last["run_id"])["failed"]):
        return None
    return last


def _as_previously_built(context, paths, last: dict):
    """Each selected model as the last build left it, marked as such. Its dbt tests are not run again: the
    UI keeps their last outcomes, and the gate reads that build's (run_records.warehouse_dbt_results)."""
    since = last["run_id"]
    context.log.info(f"dbt build not run: the raw layer, the dbt project and its settings are as run {since} "
                     "built them, and the warehouse is untouched since")
    selected = set(context.selected_asset_keys)
    deps = context.assets_def.asset_deps  # a multi-asset yields its assets in dependency order
    order = graphlib.TopologicalSorter({k: sorted(d & selected) for k, d in deps.items() if k in selected})
    for key in order.static_order():
        yield dg.MaterializeResult(asset_key=key, metadata={UNCHANGED_SINCE: dg.MetadataValue.text(since)})


def _release_warehouse(invocation) -> None:
    """dbt-duckdb keeps the connection that counted the rows open in this process, holding the warehouse's
    write lock: close it, or the gate's read-only connection and a retried dbt build cannot open the file."""
    adapter = invocation.adapter
    if adapter is None or adapter.type() != "duckdb":
        return
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    adapter.cleanup_connections()
    with DuckDBConnectionManager._LOCK:  # noqa: SLF001
        if DuckDBConnectionManager._ENV is not None:  # noqa: SLF001
            DuckDBConnectionManager._ENV.close()  # noqa: SLF001
            DuckDBConnectionManager._ENV = None  # noqa: SLF001


# Column lineage is parsed by sqlglot from each model's compiled SQL: about 25 s a night for the integration
# models and marts on 2 cores, minutes for the generated staging SQL, whose columns come one to one from
# their raw source. SUDATA_COLUMN_LINEAGE=0 leaves it out.
LINEAGE_LAYERS = ("intermediate", "marts")


def _with_column_lineage(events, invocation, context):
    """The events, in order, with dagster-dbt's column schema and column lineage on every integration and
    mart model (the UI's column-level lineage). On DuckDB the row counts already wait for dbt to finish."""
    events = list(events)
    wanted = [i for i, e in enumerate(events) if (key := _model_key(e, context)) and key.path[0] in LINEAGE_LAYERS]
    described = DbtEventIterator(iter([events[i] for i in wanted]), invocation).fetch_column_metadata()
    for i, event in zip(wanted, described):
        events[i] = event
    return events


def with_row_counts(events, invocation) -> DbtEventIterator:
    """dagster-dbt's row counts (fetch_row_counts) on the events of a dbt invocation, read to its end first.

    On DuckDB the row counts wait for dbt to finish anyway (one writer), but dagster-dbt's thread-pool map
    polls its input without pausing while it waits: half a core taken from dbt for the whole build. Given
    the finished events, it has nothing to wait for."""
    return DbtEventIterator(iter(list(events)), invocation).fetch_row_counts()


MODEL_EVENTS = (dg.Output, dg.AssetMaterialization, dg.MaterializeResult)


def _model_key(event, context) -> dg.AssetKey | None:
    """The asset key of a model dbt built, or None for any other event (a test's check result)."""
    if not isinstance(event, MODEL_EVENTS):
        return None
    return getattr(event, "asset_key", None) or context.asset_key_for_output(event.output_name)


def _as_built(events):
    for event in events:
        if isinstance(event, MODEL_EVENTS):
            crash_point("dbt_model_built")
        yield event


def test_rules(manifest_path) -> dict[str, dict]:
    """dbt test name → the rule it states, {test, columns} (e.g. unique of [stop_id]), so the gate can
    tell when a rule it would check itself is already a dbt test."""
    manifest = load_manifest(manifest_path)
    out = {}
    for node in manifest["nodes"].values():
        if node.get("resource_type") != "test" or not node.get("test_metadata"):
            continue
        kwargs = node["test_metadata"].get("kwargs") or {}
        columns = kwargs.get("combination_of_columns") or ([node["column_name"]] if node.get("column_name") else [])
        out[node["name"]] = {"test": node["test_metadata"]["name"], "columns": list(columns)}
    return out


def _name_failing_keys(sudata: SudataResource, tests: dict[str, list[dict]]) -> None:
    """Failing mart tests get the keys of up to five failing rows (``failing_keys``), read from the
    failures dbt stored; the gate reports them beside the count."""
    from contextlib import closing

    from sudata.datasets import load_datasets
    from sudata.quality.dbt_failures import failing_keys
    from sudata.settings import duckdb_connect

    failing = [(model, t) for model, results in tests.items() for t in results if t["status"] == "fail"]
    if not failing or not sudata.paths.warehouse.exists():
        return
    manifest = load_manifest(dbt_project.manifest_path)
    relations = {n["name"]: n.get("relation_name") for n in manifest["nodes"].values() if n.get("resource_type") == "test"}
    datasets = load_datasets(dbt_project.manifest_path)
    with closing(duckdb_connect(sudata.paths.warehouse, read_only=True, paths=sudata.paths)) as con:
        for model, t in failing:
            relation, spec = relations.get(t["name"]), datasets.get(model)
            if relation and spec:
                t["failing_keys"] = failing_keys(con, relation, spec.primary_key, t.get("rule"))


def _record_not_built(context, sudata: SudataResource, built: set[str], failed: list[dict]) -> None:
    """Datasets whose mart dbt did not rebuild tonight keep their version; say so where consumers look."""
    from orchestration.partitions import run_drop_date
    from sudata.datasets import load_datasets

    selected = {k.path[-1] for k in context.selected_asset_keys}
    reasons = "; ".join(f"{f['node']}: {f['status']} {f['message']}".strip() for f in failed)[:2000]
    for name, spec in load_datasets(dbt_project.manifest_path).items():
        if name in selected and name not in built:
            report = {
                "dataset": name, "checked_at": None, "drop_date": run_drop_date(context), "passed": False,
                "score": 0.0, "row_count": None, "previous_row_count": None, "quarantined_rows": 0,
                "dimensions": {d: {"score": 0.0, "passed": 0, "failed": 0} for d in
                               ("conformity", "completeness", "accuracy", "consistency", "timeliness")},
                "checks": [{"name": "dbt_build", "source": "dbt", "dimension": "timeliness", "passed": False,
                            "blocking": True, "observed": None, "detail": reasons or "the model was not built"}],
                "blocking_failures": ["dbt_build"],
            }
            sudata.store.record_blocked(spec.entry(), run_id=context.run.run_id, drop_date=report["drop_date"], quality=report)
            context.log.error(f"{name}: mart not rebuilt tonight; version {spec.name} stays as published")
