"""Anomaly warnings: tonight's row counts and null rates against a rolling, weekday-aware baseline.

Histories: a source's rows per drop date from the ingestion ledger, a dataset's row count per drop date from
the published store's quality runs, a dataset's null rate per column from the observations kept here
(``$SUDATA_HOME/monitoring.sqlite``, one row per dataset, column and drop date). The baseline of a day is the
median of the same weekday over the last weeks (a department that delivers little at weekends is not
anomalous on Sunday), or of the recent days when there are not enough such weekdays; with too little history
there is no verdict. A warning never blocks publication: it tells an engineer to look.
"""

from __future__ import annotations

import sqlite3
import statistics
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sudata.ingest import state
from sudata.ledger import open_ledger
from sudata.store import PublishedStore

WEEKS = 8            # same-weekday window
RECENT_DAYS = 28     # fallback window
MIN_POINTS = 3       # fewer earlier observations: no verdict
MAD_FACTOR = 4.0     # how many robust standard deviations (1.4826 × MAD) are normal
ROW_TOLERANCE = 0.5  # … and never less than half the median (small counts swing)
NULL_TOLERANCE = 0.1  # … and never less than ten points of null rate

SCHEMA = """
create table if not exists null_rates (
    dataset    text not null,
    column_name text not null,
    drop_date  text not null,
    rows       integer not null,
    null_rate  real not null,
    primary key (dataset, column_name, drop_date)
);
"""


@dataclass(frozen=True)
class Baseline:
    median: float
    low: float
    high: float
    points: int
    basis: str       # "same weekday" | "recent days"


@dataclass(frozen=True)
class Anomaly:
    subject: str     # "source <id>" or "dataset <name>"
    metric: str      # row_count | null_rate:<column>
    drop_date: str
    value: float
    baseline: Baseline

    def describe(self) -> str:
        b = self.baseline
        fmt = (lambda v: f"{v:.1%}") if self.metric.startswith("null_rate") else (lambda v: f"{v:,.0f}")
        direction = "above" if self.value > b.high else "below"
        return (f"{self.subject}: {self.metric} {fmt(self.value)} on {self.drop_date} is {direction} the usual "
                f"{fmt(b.low)}–{fmt(b.high)} (median {fmt(b.median)} of {b.points} {b.basis})")

    def to_dict(self) -> dict:
        return {"subject": self.subject, "metric": self.metric, "drop_date": self.drop_date, "value": self.value,
                "median": self.baseline.median, "low": self.baseline.low, "high": self.baseline.high,
                "points": self.baseline.points, "basis": self.baseline.basis, "message": self.describe()}


def baseline(history: dict[str, float], day: str, *, absolute: float = 0.0, relative: float = 0.0) -> Baseline | None:
    """The usual range of a metric on ``day`` from its values on earlier days (ISO dates)."""
    d = date.fromisoformat(day)
    earlier = {date.fromisoformat(k): v for k, v in history.items() if k < day and v is not None}
    same = [v for k, v in earlier.items() if k.weekday() == d.weekday() and d - k <= timedelta(weeks=WEEKS)]
    values, basis = same, "same weekday"
    if len(same) < MIN_POINTS:
        values, basis = [v for k, v in earlier.items() if d - k <= timedelta(days=RECENT_DAYS)], "recent days"
    if len(values) < MIN_POINTS:
        return None
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    spread = max(MAD_FACTOR * 1.4826 * mad, relative * abs(median), absolute)
    return Baseline(median=median, low=max(median - spread, 0.0), high=median + spread, points=len(values), basis=basis)


def judge(subject: str, metric: str, history: dict[str, float], day: str, value: float | None, **tolerance) -> Anomaly | None:
    if value is None:
        return None
    b = baseline(history, day, **tolerance)
    if b is None or b.low <= value <= b.high:
        return None
    return Anomaly(subject, metric, day, float(value), b)


def source_rows(state_db: Path, source: str) -> dict[str, float]:
    """Rows landed per drop date (dates a source delivered nothing or something unreadable are left out)."""
    if not state_db.exists():
        return {}
    with closing(state.connect(state_db)) as con:
        return {r["drop_date"]: float(r["rows"]) for r in con.execute(
            "select drop_date, rows from partitions where source = ? and status in ('loaded', 'unchanged')",
            (source,))}


def dataset_rows(store: PublishedStore, name: str) -> dict[str, float]:
    """A dataset's row count per drop date from its quality runs (the latest run of a date counts)."""
    out: dict[str, float] = {}
    for run in reversed(store.quality_runs(name, limit=RECENT_DAYS * 4 + WEEKS * 7)):
        count = (run.get("report") or {}).get("row_count")
        if run.get("drop_date") and count is not None:
            out[run["drop_date"]] = float(count)
    return out


class Observations:
    """The null rates the anomaly check measured, per dataset, column and drop date."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        return open_ledger(self.path, SCHEMA, timeout=30)

    def record(self, dataset: str, drop_date: str, rows: int, null_rates: dict[str, float]) -> None:
        with closing(self._connect()) as con:
            con.executemany("insert or replace into null_rates values (?,?,?,?,?)",
                            [(dataset, c, drop_date, rows, r) for c, r in null_rates.items()])

    def history(self, dataset: str) -> dict[str, dict[str, float]]:
        """{column: {drop_date: null rate}}"""
        out: dict[str, dict[str, float]] = {}
        if not self.path.exists():
            return out
        with closing(self._connect()) as con:
            for column, day, rate in con.execute(
                    "select column_name, drop_date, null_rate from null_rates where dataset = ?", (dataset,)):
                out.setdefault(column, {})[day] = rate
        return out


def null_rates(con, relation: str) -> tuple[int, dict[str, float]]:
    """Row count and the share of nulls of every column of a warehouse relation (DuckDB), in one scan."""
    columns = [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]
    counts = ", ".join(f'count("{c}")' for c in columns)
    row = con.execute(f"select count(*){', ' + counts if counts else ''} from {relation}").fetchone()
    total = int(row[0])
    return total, {c: (1 - row[i + 1] / total) if total else 0.0 for i, c in enumerate(columns)}


def assess(con, *, dataset: str, relation: str, sources: tuple[str, ...], drop_date: str, state_db: Path,
           store: PublishedStore, observations: Observations) -> dict:
    """Tonight's anomalies of a dataset and of the sources it is built from; records tonight's null rates."""
    rows, rates = null_rates(con, relation)
    found: list[Anomaly] = []
    for source in sources:
        history = source_rows(state_db, source)
        found.append(judge(f"source {source}", "row_count", history, drop_date, history.get(drop_date),
                           absolute=10, relative=ROW_TOLERANCE))
    found.append(judge(f"dataset {dataset}", "row_count", dataset_rows(store, dataset), drop_date, rows,
                       absolute=10, relative=ROW_TOLERANCE))
    past = observations.history(dataset)
    for column, rate in rates.items():
        found.append(judge(f"dataset {dataset}", f"null_rate:{column}", past.get(column, {}), drop_date, rate,
                           absolute=NULL_TOLERANCE))
    observations.record(dataset, drop_date, rows, rates)
    anomalies = [a for a in found if a is not None]
    return {"row_count": rows, "null_rates": rates, "anomalies": [a.to_dict() for a in anomalies]}
