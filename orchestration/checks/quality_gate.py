"""The blocking quality gate of every published dataset: GE suite + exact SQL checks + dbt outcomes.

A failure blocks only that dataset's publication (Dagster skips its publish asset); the failure is
recorded in the published store so consumers see it next to the version that stays current.
"""


from contextlib import closing

import dagster as dg

from orchestration.partitions import run_drop_date, run_id
from orchestration.resources import SudataResource
from orchestration.run_records import IncompleteBuild, gate_report_path, warehouse_dbt_results, write_json
from sudata.crash import crash_point
from sudata.datasets import DatasetSpec
from sudata.warehouse import warehouse_connect
from sudata.ingest import state
from sudata.quality.acceptances import Acceptances
from sudata.quality import GateEvidence, GatePolicy, GateTarget, check_dataset, declared_suite
from sudata.registry import load_registry

GATE = "quality_gate"


def mart_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


def upstream_freshness(paths, spec: DatasetSpec, drop_date: str | None) -> dict[str, bool]:
    if not drop_date:
        return {}
    fresh = {}
    for source in spec.upstream_sources:
        p = state.partition(paths.state_db, source, drop_date)
        fresh[source] = bool(p) and p["status"] in ("loaded", "unchanged", "duplicate")
    return fresh


def quarantined_rows(con, paths, spec: DatasetSpec, drop_date: str | None, quarantine_relation: str | None) -> int:
    """Rows of tonight's upstream drops set aside: unreadable at ingestion or rejected by governance."""
    if not drop_date or not spec.upstream_sources:
        return 0
    total = sum((state.partition(paths.state_db, s, drop_date) or {}).get("quarantined_rows", 0) for s in spec.upstream_sources)
    if quarantine_relation:
        marks = ",".join("?" for _ in spec.upstream_sources)
        total += con.execute(
            f"select count(*) from {quarantine_relation} where source in ({marks}) and _drop_date = cast(? as date)",
            [*spec.upstream_sources, drop_date],
        ).fetchone()[0]
    return int(total)


def unusable_values(con, spec: DatasetSpec, drop_date: str | None, relation: str | None) -> dict[str, int]:
    """Values of tonight's upstream drops that staging set to null, per "<source>.<column>"."""
    if not drop_date or not spec.upstream_sources or not relation:
        return {}
    marks = ",".join("?" for _ in spec.upstream_sources)
    rows = con.execute(
        f"select source, column_name, sum(unusable_values) from {relation} where source in ({marks})"
        " and _drop_date = cast(? as date) group by source, column_name",
        [*spec.upstream_sources, drop_date],
    ).fetchall()
    return {f"{source}.{column}": int(n) for source, column, n in rows}


def accepted_checks(report: dict) -> list[dict]:
    """The failed checks an engineer accepted for this version: name, who, why, when, acceptance id."""
    return [{"check": c["name"], **c["observed"]["accepted"]} for c in report["checks"]
            if isinstance(c.get("observed"), dict) and "accepted" in c["observed"]]


def _declared_suite(spec: DatasetSpec):
    """A dataset declared in the registry has no suite file: its suite comes from the declaration."""
    return declared_suite(load_registry()[spec.declared_source]) if spec.declared_source else None


def _score(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def _build_check(spec: DatasetSpec, quarantine_relation: str | None,
                 unusable_relation: str | None) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=mart_key(spec.name),
        name=GATE,
        blocking=True,
        description=f"Publication gate of {spec.catalog.get('title', spec.name)}: Great Expectations suite "
        + (f"declared in the registry ({spec.declared_source})" if spec.declared_source else f"expectations/{spec.name}.json")
        + ", exact SQL checks (row count, key uniqueness, change against the "
        "published version), freshness of upstream drops and the mart's dbt tests.",
    )
    def _gate(context: dg.AssetCheckExecutionContext, sudata: SudataResource) -> dg.AssetCheckResult:
        paths = sudata.paths
        store = sudata.store
        drop_date = run_drop_date(context)
        current = store.current_version(spec.name)
        try:  # the tests of the tables as they are: a re-executed gate's own run may not have run dbt
            built_by, built = warehouse_dbt_results(paths, run_id(context))
        except IncompleteBuild as e:
            raise dg.Failure(str(e), allow_retries=False) from None
        with closing(warehouse_connect(paths)) as con:
            report = check_dataset(
                con,
                GateTarget(spec.relation, spec.name, suite=_declared_suite(spec), primary_key=spec.primary_key or None,
                           open_type=spec.open_type),
                GateEvidence(
                    previous_row_count=current["row_count"] if current else None,
                    drop_date=drop_date,
                    upstream_fresh=upstream_freshness(paths, spec, drop_date),
                    quarantined_rows=quarantined_rows(con, paths, spec, drop_date, quarantine_relation),
                    unusable_values=unusable_values(con, spec, drop_date, unusable_relation),
                    dbt_results=built["tests"].get(spec.name, []),
                    accepted=Acceptances(paths.acceptances).pending(spec.name),
                ),
                GatePolicy(validations_dir=paths.data_docs / "validations"),
            )
        result = report.to_dict()
        crash_point("inside_gate")
        # publication checks that the warehouse is still the build this gate passed
        write_json(gate_report_path(paths, run_id(context), spec.name), {**result, "warehouse_build": built_by})
        if not report.passed:
            store.record_blocked(spec.entry(), run_id=run_id(context), drop_date=drop_date, quality=result)
        dims = result["dimensions"]
        return dg.AssetCheckResult(
            passed=report.passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                # no previous version: the entry is left out rather than plotted as a sentinel
                **({"previous_row_count": result["previous_row_count"]} if result["previous_row_count"] is not None else {}),
                # no check of a scored dimension ran: no score, rather than a 0 plotted beside real ones
                **({"score": result["score"]} if result["score"] is not None else {}),
                "row_count": result["row_count"],
                "quarantined_rows": result["quarantined_rows"],
                "blocking_failures": dg.MetadataValue.json(result["blocking_failures"]),
                "accepted_checks": dg.MetadataValue.json(accepted_checks(result)),
                # the Great Expectations Data Docs of this validation (rebuilt when the run ends; readable offline)
                "data_docs": dg.MetadataValue.path(str(paths.data_docs / "data_docs" / "index.html")),
                "dimensions": dg.MetadataValue.md(
                    "| dimension | score | passed | failed |\n|---|---|---|---|\n"
                    + "\n".join(f"| {k} | {_score(v['score'])} | {v['passed']} | {v['failed']} |" for k, v in dims.items())
                ),
            },
        )

    return _gate


def build_quality_checks(specs: dict[str, DatasetSpec], quarantine_relation: str | None,
                         unusable_relation: str | None = None) -> list:
    return [_build_check(s, quarantine_relation, unusable_relation) for s in specs.values()]
