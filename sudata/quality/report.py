"""The quality report of one dataset: what the Dagster checks show, the published store keeps and the portal reads.

JSON shape (``QualityReport.to_dict()``)::

    {"dataset", "checked_at", "drop_date", "passed", "score", "row_count", "previous_row_count",
     "quarantined_rows",
     "dimensions": {"conformity"|"completeness"|"accuracy"|"consistency"|"timeliness":
                    {"score", "passed", "failed"}},
     "checks": [{"name", "source", "dimension", "passed", "blocking", "observed", "detail"}],
     "blocking_failures": [names]}

Scoring: a dimension's score is the share of its checks that passed (``null`` when no check of that
dimension ran); the overall score is the mean of the scores of the dimensions that ran, so a dimension
with many checks does not drown one with few. ``passed`` is false as soon as one blocking check failed.
This module is dependency-free on purpose: the portal reads reports without importing Great Expectations.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
from dataclasses import dataclass, field
from typing import Any

from sudata.vocabulary import DIMENSIONS

SOURCES: tuple[str, ...] = ("great_expectations", "sql", "dbt")


def jsonable(value: Any) -> Any:
    """Plain JSON types for observed values that come from numpy, pandas, Arrow or DuckDB."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return jsonable(item())
        except (TypeError, ValueError):
            pass
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp
    if callable(isoformat):
        return isoformat()
    return str(value)


@dataclass
class CheckResult:
    name: str
    source: str  # great_expectations | sql | dbt
    dimension: str
    passed: bool
    blocking: bool
    observed: Any = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"check {self.name!r}: source {self.source!r} is not one of {SOURCES}")
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"check {self.name!r}: dimension {self.dimension!r} is not one of {DIMENSIONS}")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "dimension": self.dimension,
            "passed": bool(self.passed),
            "blocking": bool(self.blocking),
            "observed": jsonable(self.observed),
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CheckResult":
        return cls(d["name"], d["source"], d["dimension"], d["passed"], d["blocking"], d.get("observed"),
                   d.get("detail", ""))


@dataclass
class QualityReport:
    dataset: str
    checked_at: str
    drop_date: str | None
    row_count: int | None
    previous_row_count: int | None
    quarantined_rows: int = 0
    checks: list[CheckResult] = field(default_factory=list)
    # The raw Great Expectations validation result (JSON dict), kept for Data Docs; not part of to_dict().
    ge_result: dict | None = field(default=None, repr=False, compare=False)
    # Wall-clock seconds the gate took; not part of to_dict().
    elapsed_seconds: float | None = field(default=None, compare=False)

    @property
    def blocking_failures(self) -> list[str]:
        return [c.name for c in self.checks if c.blocking and not c.passed]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    @property
    def dimensions(self) -> dict[str, dict]:
        out = {}
        for dim in DIMENSIONS:
            checks = [c for c in self.checks if c.dimension == dim]
            ok = sum(1 for c in checks if c.passed)
            out[dim] = {
                "score": round(ok / len(checks), 4) if checks else None,
                "passed": ok,
                "failed": len(checks) - ok,
            }
        return out

    @property
    def score(self) -> float | None:
        scores = [d["score"] for d in self.dimensions.values() if d["score"] is not None]
        return round(sum(scores) / len(scores), 4) if scores else None

    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        """One line for logs and Dagster check descriptions."""
        verdict = "passed" if self.passed else "BLOCKED"
        failed = self.failed_checks()
        text = f"{self.dataset}: {verdict}, score {self.score}, {len(self.checks) - len(failed)}/{len(self.checks)} checks passed"
        if self.blocking_failures:
            text += "; blocking failures: " + ", ".join(self.blocking_failures)
        return text

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "checked_at": self.checked_at,
            "drop_date": self.drop_date,
            "passed": self.passed,
            "score": self.score,
            "row_count": self.row_count,
            "previous_row_count": self.previous_row_count,
            "quarantined_rows": self.quarantined_rows,
            "dimensions": self.dimensions,
            "checks": [c.to_dict() for c in self.checks],
            "blocking_failures": self.blocking_failures,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "QualityReport":
        return cls(
            dataset=d["dataset"],
            checked_at=d["checked_at"],
            drop_date=d.get("drop_date"),
            row_count=d.get("row_count"),
            previous_row_count=d.get("previous_row_count"),
            quarantined_rows=d.get("quarantined_rows", 0),
            checks=[CheckResult.from_dict(c) for c in d.get("checks", [])],
        )
