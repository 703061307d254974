"""A warning-severity ``anomaly_warning`` check on every mart: tonight's row counts (the dataset's and its
sources') and null rates against their rolling weekday-aware baseline (sudata.monitoring.anomalies). It
never blocks publication; a warning raises an alert."""

from contextlib import closing

import dagster as dg

from orchestration.checks.quality_gate import mart_key
from orchestration.partitions import run_drop_date
from orchestration.resources import SudataResource
from sudata.datasets import DatasetSpec
from sudata.monitoring.anomalies import Observations, assess
from sudata.warehouse import warehouse_connect

ANOMALY_CHECK = "anomaly_warning"


def _description(spec: DatasetSpec) -> str:
    return (f"Row counts of {spec.name} and of its sources ({', '.join(spec.upstream_sources) or 'none'}) "
            "and its null rates per column, against the same weekday of the last weeks (or the recent days): "
            "a warning, never a block.")


def _assess(context, sudata: SudataResource, spec: DatasetSpec) -> dg.AssetCheckResult:
    paths, drop_date = sudata.paths, run_drop_date(context)
    if not drop_date:
        return dg.AssetCheckResult(asset_key=mart_key(spec.name), check_name=ANOMALY_CHECK, passed=True,
                                   severity=dg.AssetCheckSeverity.WARN, description="no drop date: nothing to compare")
    with closing(warehouse_connect(paths)) as con:
        result = assess(con, dataset=spec.name, relation=spec.relation, sources=spec.upstream_sources,
                        drop_date=drop_date, state_db=paths.state_db, store=sudata.store,
                        observations=Observations(paths.home / "monitoring.sqlite"))
    anomalies = result["anomalies"]
    return dg.AssetCheckResult(
        asset_key=mart_key(spec.name),
        check_name=ANOMALY_CHECK,
        passed=not anomalies,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(a["message"] for a in anomalies) or "row counts and null rates as usual",
        metadata={
            "drop_date": drop_date,
            "row_count": result["row_count"],
            "anomalies": dg.MetadataValue.json(anomalies),
            "summary": dg.MetadataValue.md("\n".join(f"- {a['message']}" for a in anomalies) or "as usual"),
        },
    )


def build_anomaly_checks(specs: dict[str, DatasetSpec]) -> list[dg.AssetChecksDefinition]:
    """One subsettable multi-check for every mart: one op however many datasets are published (each still
    a check of its own mart in the UI), and a run that selects some marts assesses only theirs."""
    if not specs:
        return []
    by_key = {dg.AssetCheckKey(mart_key(s.name), ANOMALY_CHECK): s for s in specs.values()}

    @dg.multi_asset_check(
        name="anomaly_warnings",
        specs=[dg.AssetCheckSpec(ANOMALY_CHECK, asset=key.asset_key, description=_description(spec), blocking=False)
               for key, spec in by_key.items()],
        can_subset=True,
        description="Tonight's row counts and null rates of each mart against their usual values.",
    )
    def _anomalies(context: dg.AssetCheckExecutionContext, sudata: SudataResource):
        failed = []
        for key, spec in by_key.items():
            if key not in context.selected_asset_check_keys:
                continue
            try:
                yield _assess(context, sudata, spec)
            except Exception as exc:  # the other marts are still assessed; the step fails at the end
                context.log.error(f"{spec.name}: anomaly check failed: {exc!r}")
                failed.append((spec.name, exc))
        if failed:
            raise dg.Failure(f"anomaly checks failed for {', '.join(n for n, _ in failed)}") from failed[0][1]

    return [_anomalies]
