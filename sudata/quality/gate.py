"""The quality gate: every check of one built mart, combined into one QualityReport.

    report = check_dataset(con, GateTarget("main.enterprise_registry", "enterprise_registry"),
                           GateEvidence(previous_row_count=..., drop_date="2024-06-30",
                                        upstream_fresh={"market_regulation.enterprise_registrations": True},
                                        quarantined_rows=3, dbt_results=[...]))
    if not report.passed: ...   # do not publish; report.to_dict() is what the catalog shows

Sources of checks:
  great_expectations  the dataset's suite (expectations/<dataset>.json) on a frame of the referenced columns
  sql                 exact aggregates on the whole table: row count, row-count change against the last
                      published version, primary key not null and unique, referenced columns present,
                      upstream freshness, quarantined rows
  dbt                 the dbt test results of the model, passed in
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from sudata.ledger import utcnow
from sudata.quality.acceptances import apply_acceptances
from sudata.quality.frames import fetch_frame, fetch_value, quote_relation, relation_columns
from sudata.quality.report import DIMENSIONS, CheckResult, QualityReport
from sudata.quality.suites import Suite, load_suite
from sudata.sql import quote_ident

DEFAULT_SAMPLE_ROWS = 1_000_000

# dbt test name → dimension; generic tests are recognised by their name's prefix (dbt names a generic
# test ``<test>_<model>_<column>...``) or by an explicit ``test`` / ``dimension`` key in the result.
_DBT_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("not_null", "completeness"),
    ("unique", "consistency"),
    ("relationships", "consistency"),
    ("accepted_values", "conformity"),
    ("valid_", "conformity"),
    ("no_clear_pii", "conformity"),  # masking conformity of the published columns
)


def dbt_dimension(test_name: str) -> str:
    """The quality dimension of a dbt test: not_null→completeness, unique/relationships→consistency,
    accepted_values/valid_*/no_clear_pii→conformity, anything else accuracy."""
    name = test_name.lower()
    for prefix in ("dbt_utils_", "source_"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    for prefix, dimension in _DBT_DIMENSIONS:
        if name.startswith(prefix):
            return dimension
    if "unique_combination" in name:
        return "consistency"
    return "accuracy"


def dbt_checks(results: Iterable[Mapping]) -> list[CheckResult]:
    """dbt test results ``{name, status, severity[, failures, failing_keys, message, test, dimension]}`` as checks.

    Passed only when status is ``pass``; a failing test blocks when its severity is ``error`` (dbt's
    default). ``warn`` status (a failed warn-severity test) never blocks.
    """
    checks = []
    for r in results:
        name = str(r["name"])
        status = str(r.get("status") or "").lower()
        severity = str(r.get("severity") or "error").lower()
        dimension = r.get("dimension") or dbt_dimension(str(r.get("test") or name))
        passed = status == "pass"
        blocking = bool(r["blocking"]) if "blocking" in r else (severity == "error" and status != "warn")
        observed = {"status": status or None, "failures": r.get("failures")}
        detail = str(r.get("message") or "") or (f"dbt test {status}" if status else "no status reported")
        if r.get("failing_keys") and not passed:
            observed["failing_keys"] = list(r["failing_keys"])
            detail += "; e.g. " + ", ".join("|".join(str(v) for v in k.values()) for k in r["failing_keys"])
        checks.append(CheckResult(name, "dbt", dimension, passed, blocking, observed, detail))
    return checks


def sql_table_checks(con, relation: str, primary_key: Sequence[str], *, previous_row_count: int | None,
                     max_row_change: float, columns: Mapping[str, str],
                     max_row_growth: float = 4.0) -> tuple[int, list[CheckResult]]:
    """Row count, row-count change and primary-key checks, in one exact scan of the table."""
    rel = quote_relation(relation)
    pk = [c for c in primary_key if c in columns]
    missing_pk = [c for c in primary_key if c not in columns]
    selects = ["count(*)"]
    if pk:
        any_null = " or ".join(f"{quote_ident(c)} is null" for c in pk)
        no_null = " and ".join(f"{quote_ident(c)} is not null" for c in pk)
        key = quote_ident(pk[0]) if len(pk) == 1 else "(" + ", ".join(quote_ident(c) for c in pk) + ")"
        selects += [
            f"count(*) filter (where {any_null})",
            f"count(*) filter (where {no_null}) - count(distinct {key}) filter (where {no_null})",
        ]
    row = fetch_value(con, f"select {', '.join(selects)} from {rel}")
    row_count = int(row[0])
    checks = [CheckResult(
        "row_count_positive", "sql", "completeness", row_count > 0, True, {"row_count": row_count},
        f"{row_count} rows" if row_count else "the table is empty",
    )]

    if previous_row_count is None:
        checks.append(CheckResult("row_count_change", "sql", "completeness", True, True,
                                  {"row_count": row_count, "previous_row_count": None, "change": None},
                                  "first publication: no previous version to compare with"))
    else:
        # Datasets that accumulate events grow night after night; losing rows is what signals a broken
        # delivery. Shrinking beyond max_row_change blocks, and so does implausible growth.
        change = (row_count - previous_row_count) / previous_row_count if previous_row_count else None
        ok = change is None or -max_row_change <= change <= max_row_growth
        detail = (f"{previous_row_count} → {row_count} rows ({change:+.1%}, allowed "
                  f"-{max_row_change:.0%} to +{max_row_growth:.0%})"
                  if change is not None else f"previous version had 0 rows, now {row_count}")
        checks.append(CheckResult("row_count_change", "sql", "completeness", ok, True,
                                  {"row_count": row_count, "previous_row_count": previous_row_count,
                                   "change": round(change, 6) if change is not None else None}, detail))

    if primary_key:
        label = ",".join(primary_key)
        if missing_pk:
            checks.append(CheckResult(f"primary_key_unique({label})", "sql", "consistency", False, True,
                                      {"missing_columns": missing_pk}, f"primary key column(s) {missing_pk} missing"))
        else:
            nulls, dupes = int(row[1]), int(row[2])
            checks.append(CheckResult(
                f"primary_key_not_null({label})", "sql", "completeness", nulls == 0, True, {"null_keys": nulls},
                "no null key" if nulls == 0 else f"{nulls} rows with a null key column"))
            observed = {"duplicate_rows": dupes}
            detail = "every key is unique"
            if dupes:
                cols = ", ".join(quote_ident(c) for c in pk)
                repeated = con.execute(f"select {cols} from {rel} where {no_null} group by {cols}"
                                       f" having count(*) > 1 order by {cols} limit 5").fetchall()
                observed["repeated_keys"] = ["|".join(str(v) for v in k) for k in repeated]
                detail = (f"{dupes} rows repeat a key (count(*) - count(distinct key)); e.g. "
                          + ", ".join(observed["repeated_keys"]))
            checks.append(CheckResult(
                f"primary_key_unique({label})", "sql", "consistency", dupes == 0, True, observed, detail))
    return row_count, checks


def freshness_checks(upstream_fresh: Mapping[str, bool] | None) -> list[CheckResult]:
    """One blocking timeliness check per upstream source: did tonight's drop land?"""
    checks = []
    for source, fresh in sorted((upstream_fresh or {}).items()):
        checks.append(CheckResult(
            f"upstream_fresh({source})", "sql", "timeliness", bool(fresh), True, {"fresh": bool(fresh)},
            f"tonight's drop of {source} landed" if fresh else f"tonight's drop of {source} has not landed: data is stale",
        ))
    return checks


def reference_now(drop_date: str | None) -> datetime:
    """What "not in the future" means: Suzhou wall-clock time, or the end of the drop's own day when that
    is later (a replayed or simulated drop dated ahead of the clock is judged on its own date)."""
    from sudata.quality.ge_runner import local_now

    now = local_now()
    if drop_date:
        end_of_drop = datetime.combine(date.fromisoformat(str(drop_date)[:10]), dtime(23, 59, 59))
        now = max(now, end_of_drop)
    return now


@dataclass(frozen=True)
class GateTarget:
    """What is checked: the built mart and the rules it must meet."""
    relation: str                              # schema.table in the DuckDB connection
    dataset: str
    suite: Suite | None = None                 # default: expectations/<dataset>.json (or suites_dir)
    suites_dir: Path | None = None
    primary_key: Sequence[str] | None = None   # default: the suite's meta.primary_key
    open_type: str | None = None               # unconditional: the table is scanned for personal data in clear


@dataclass(frozen=True)
class GateEvidence:
    """What tonight's run knows about the dataset besides the table itself."""
    previous_row_count: int | None = None      # of the published version; None: first publication
    drop_date: str | None = None
    upstream_fresh: Mapping[str, bool] | None = None
    quarantined_rows: int = 0
    unusable_values: Mapping[str, int] | None = None   # "<source>.<column>" → values staging set to null
    dbt_results: Sequence[Mapping] = ()        # the mart's dbt tests (see dbt_checks)
    accepted: Sequence[Mapping] = ()           # pending acceptances of this dataset (sudata.quality.acceptances)
    now: datetime | None = None                # "not in the future"; default reference_now(drop_date)


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds: shrinking beyond max_row_change or growing beyond max_row_growth blocks; tables over
    sample_rows rows are validated by GE on a repeatable sample (None: never sample)."""
    max_row_change: float = 0.5
    max_row_growth: float = 4.0
    sample_rows: int | None = DEFAULT_SAMPLE_ROWS
    validations_dir: Path | None = None        # persists the GE result for build_data_docs


def key_tested_by_dbt(primary_key: Sequence[str], dbt_results: Iterable[Mapping]) -> bool:
    """Whether the mart's dbt tests state the key's rules (not null, unique): the gate then counts them
    once, as dbt's, instead of checking the key again in SQL."""
    rules = {(r["rule"]["test"], tuple(r["rule"]["columns"])) for r in dbt_results if r.get("rule")}
    pk = tuple(primary_key)
    if not pk:
        return False
    unique = ("unique", pk) in rules if len(pk) == 1 else ("unique_combination_of_columns", pk) in rules
    return unique and all(("not_null", (c,)) in rules for c in pk)


def _suite_checks(con, target: GateTarget, suite: Suite | None, columns: Mapping[str, str], row_count: int,
                  evidence: GateEvidence, policy: GatePolicy,
                  key: Sequence[str] = ()) -> tuple[list[CheckResult], dict | None]:
    """The Great Expectations suite on a frame of the columns it names (and the key, so that a failing
    expectation names some of the rows that fail it)."""
    if suite is None:
        return [CheckResult("expectation_suite_present", "great_expectations", "conformity", False, True,
                            None, f"no expectation suite expectations/{target.dataset}.json")], None
    checks = []
    wanted = suite.columns
    missing = [c for c in wanted if c not in columns]
    checks.append(CheckResult(
        "suite_columns_present", "sql", "conformity", not missing, True,
        {"missing_columns": missing}, "every column the suite names exists" if not missing
        else f"column(s) {missing} named by the suite do not exist in {target.relation}"))
    runnable = []
    for e, name in zip(suite.expectations, suite.check_names()):
        absent = [c for c in e.columns if c in missing]
        if absent:
            checks.append(CheckResult(name, "great_expectations", e.dimension, False, e.blocking, None,
                                      f"not evaluated: column(s) {absent} missing"))
        else:
            runnable.append((e, name))
    if not runnable:
        return checks, None
    from sudata.quality.ge_runner import run_suite, save_validation_result

    key_columns = [k for k in key if k in columns]
    fetched = [c for c in wanted if c in columns] + [k for k in key_columns if k not in wanted]
    frame = fetch_frame(con, target.relation, fetched, types=columns,
                        table_rows=row_count, sample_rows=policy.sample_rows)
    to_run = suite if len(runnable) == len(suite.expectations) else Suite(
        name=suite.name, expectations=tuple(e for e, _ in runnable), meta=suite.meta, path=suite.path)
    outcome = run_suite(to_run, frame.df, names=[n for _, n in runnable],
                        now=evidence.now or reference_now(evidence.drop_date), key_columns=key_columns)
    sample_note = (f" (validated on a repeatable sample of {frame.rows} of {frame.table_rows} rows)"
                   if frame.sampled else "")
    for o in outcome.outcomes:
        checks.append(CheckResult(o.name, "great_expectations", o.dimension, o.success, o.blocking,
                                  o.observed, o.detail + sample_note))
    ge_result = outcome.result
    ge_result.setdefault("meta", {})["sudata"] = {
        "relation": target.relation, "sql": frame.sql, "sampled": frame.sampled,
        "frame_rows": frame.rows, "table_rows": frame.table_rows, "drop_date": evidence.drop_date,
    }
    if policy.validations_dir is not None:
        save_validation_result(ge_result, policy.validations_dir)
    return checks, ge_result


def leak_check(con, relation: str, columns: Mapping[str, str]) -> CheckResult:
    """Blocking: no whole valid ID number and no whole mobile number in any text column of an unconditional
    dataset (counts per column; the values are never reported)."""
    from sudata.quality.leaks import scan

    found = scan(con, relation, columns)
    return CheckResult(
        "no_personal_data_in_clear", "sql", "conformity", not found, True, {"columns": found},
        "no text column holds a resident ID number or a mobile number in clear" if not found else
        "personal data in clear: " + "; ".join(f"{c}: {n['id_number']} ID numbers, {n['mobile']} mobile numbers"
                                               for c, n in sorted(found.items())))


def unusable_values_check(unusable: Mapping[str, int]) -> CheckResult:
    """Delivered values that staging could not use and set to null (text in a number or date column, a
    number outside its bounds): reported, not blocking — the rest of the row is good."""
    total = sum(unusable.values())
    worst = sorted(unusable.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return CheckResult(
        "no_unusable_values", "sql", "accuracy", total == 0, False, {"unusable_values": dict(worst), "total": total},
        "every delivered value of tonight's drops could be used" if total == 0 else
        f"{total} delivered values could not be read or were out of range and are published as null: "
        + ", ".join(f"{k} {v}" for k, v in worst))


def check_dataset(con, target: GateTarget, evidence: GateEvidence = GateEvidence(),
                  policy: GatePolicy = GatePolicy()) -> QualityReport:
    """Run every check of ``target.dataset`` (built as ``target.relation`` in the DuckDB connection ``con``).

    Each rule counts once: the primary key is checked exactly in SQL unless the mart's dbt tests already
    state it; a suite holds only what dbt tests cannot say (tests/test_quality.py keeps it so).
    """
    started = time.perf_counter()
    checked_at = utcnow()
    suite = target.suite
    if suite is None:
        try:
            suite = load_suite(target.dataset, target.suites_dir)
        except FileNotFoundError:
            suite = None
    pk = list(target.primary_key) if target.primary_key is not None else (suite.primary_key if suite else [])
    sql_pk = [] if key_tested_by_dbt(pk, evidence.dbt_results) else pk

    columns = relation_columns(con, target.relation)
    row_count, checks = sql_table_checks(con, target.relation, sql_pk, previous_row_count=evidence.previous_row_count,
                                         max_row_change=policy.max_row_change, columns=columns,
                                         max_row_growth=policy.max_row_growth)
    if target.open_type == "unconditional":
        checks.append(leak_check(con, target.relation, columns))
    suite_checks, ge_result = _suite_checks(con, target, suite, columns, row_count, evidence, policy, key=pk)
    checks += suite_checks
    checks += freshness_checks(evidence.upstream_fresh)
    quarantined = evidence.quarantined_rows
    checks.append(CheckResult(
        "no_quarantined_rows", "sql", "completeness", quarantined == 0, False,
        {"quarantined_rows": quarantined},
        "no row of the inputs was quarantined" if quarantined == 0
        else f"{quarantined} input rows were quarantined at ingestion and are missing from the dataset"))
    checks.append(unusable_values_check(evidence.unusable_values or {}))
    checks += dbt_checks(evidence.dbt_results)
    checks, _ = apply_acceptances(checks, list(evidence.accepted))

    return QualityReport(
        dataset=target.dataset, checked_at=checked_at, drop_date=evidence.drop_date, row_count=row_count,
        previous_row_count=evidence.previous_row_count, quarantined_rows=quarantined, checks=checks,
        ge_result=ge_result, elapsed_seconds=round(time.perf_counter() - started, 3),
    )


__all__ = ["GateEvidence", "GatePolicy", "GateTarget", "check_dataset", "key_tested_by_dbt", "dbt_checks",
           "dbt_dimension", "freshness_checks", "sql_table_checks", "unusable_values_check", "DIMENSIONS"]
