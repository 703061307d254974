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


def _build_check(spec: DatasetSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=mart_key(spec.name),
        name=ANOMALY_CHECK,
        blocking=False,
        description=f"Row counts of {spec.name} and of its sources ({', '.join(spec.upstream_sources) or 'none'}) "
        "and its null rates per column, against the same weekday of the last weeks (or the recent days): "
        "a warning, never a block.",
    )
    def _anomalies(context: dg.AssetCheckExecutionContext, sudata: SudataResource) -> dg.AssetCheckResult:
        paths, drop_date = sudata.paths, run_drop_date(context)
        if not drop_date:
            return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN,
                                       description="no drop date: nothing to compare")
        with closing(warehouse_connect(paths)) as con:
            result = assess(con, dataset=spec.name, relation=spec.relation, sources=spec.upstream_sources,
                            drop_date=drop_date, state_db=paths.state_db, store=sudata.store,
                            observations=Observations(paths.home / "monitoring.sqlite"))
        anomalies = result["anomalies"]
        return dg.AssetCheckResult(
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

    return _anomalies


def build_anomaly_checks(specs: dict[str, DatasetSpec]) -> list[dg.AssetChecksDefinition]:
    return [_build_check(s) for s in specs.values()]
