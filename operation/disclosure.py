"""Output checking before release (statistical disclosure control, as trusted research environments
do it: DataSHIELD, OpenSAFELY, ACRO): an automatic safe / review / refuse report on an aggregate result.

- minimum cell count: a row whose cell holds fewer than ``min_cell`` records is suppressed, and so is a
  statistic computed from fewer than ``min_cell`` records or a count between 1 and ``min_cell`` − 1;
- dominance (n = 2, k = 90 %): a sum whose two largest contributions make up more than ``k`` of it is
  suppressed (it would disclose those contributors' values);
- row cap: a result with more rows than ``max_rows`` is refused;
- min / max / median show one contributor's own value: the result goes to review.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from .sqlcheck import CELL_COUNT, CheckedQuery

SAFE, REVIEW, REFUSE = "safe", "review", "refuse"


@dataclass(frozen=True)
class Rules:
    min_cell: int = 10
    dominance_k: float = 0.9
    max_rows: int = 1000

    @classmethod
    def from_env(cls) -> "Rules":
        return cls(min_cell=int(os.environ.get("SUDATA_ZONE_MIN_CELL", 10)),
                   dominance_k=float(os.environ.get("SUDATA_ZONE_DOMINANCE_K", 0.9)),
                   max_rows=int(os.environ.get("SUDATA_ZONE_MAX_ROWS", 1000)))


@dataclass
class Report:
    status: str
    reasons: list[str] = field(default_factory=list)
    rows: int = 0
    suppressed_rows: int = 0
    suppressed_cells: int = 0
    small_cells: int = 0           # a statistic of fewer than min_cell records (or a small non-zero count)
    dominated_cells: int = 0
    rules: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def check_output(q: CheckedQuery, result: dict, rules: Rules) -> tuple[Report, dict]:
    """The report and the releasable result (hidden columns removed, small cells and dominated sums
    suppressed)."""
    report = Report(status=SAFE, rules=asdict(rules))
    columns, rows = result["columns"], result["rows"]
    if len(rows) > rules.max_rows:
        report.status = REFUSE
        report.reasons.append(f"more than {rules.max_rows} rows: aggregate more coarsely")
        return report, {"columns": q.output_columns, "rows": []}
    at = {c: i for i, c in enumerate(columns)}
    out_index = [at[c] for c in q.output_columns]
    released = []
    for r in rows:
        n = r[at[CELL_COUNT]] or 0
        if n < rules.min_cell:
            report.suppressed_rows += 1
            continue
        values = [r[i] for i in out_index]
        for k, name in enumerate(q.output_columns):
            small = any((r[at[c]] or 0) < rules.min_cell and (not is_count or (r[at[c]] or 0) > 0)
                        for c, is_count in q.counts.get(name, []))
            dominated = any(r[at[total]] and r[at[top2]] is not None and r[at[top2]] > rules.dominance_k * r[at[total]]
                            for top2, total in q.sums.get(name, []))
            if small:
                report.small_cells += 1
            elif dominated:
                report.dominated_cells += 1
            if small or dominated:
                values[k] = None
                report.suppressed_cells += 1
        released.append(values)
    report.rows = len(released)
    if report.suppressed_rows:
        report.reasons.append(f"{report.suppressed_rows} row(s) with fewer than {rules.min_cell} records suppressed")
    if report.small_cells:
        report.reasons.append(f"{report.small_cells} cell(s) of fewer than {rules.min_cell} records suppressed")
    if report.dominated_cells:
        report.reasons.append(f"{report.dominated_cells} sum(s) dominated by two contributors"
                              f" (> {rules.dominance_k:.0%}) suppressed")
    if q.revealing:
        report.reasons.append(f"{', '.join(q.revealing)}: min/max/median show a single record's value")
    if rows and not released:
        report.status = REFUSE
        report.reasons.append("every row was suppressed: nothing can be released")
    elif report.reasons:
        report.status = REVIEW
    return report, {"columns": q.output_columns, "rows": released}
