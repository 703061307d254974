"""The quality gate: Great Expectations suites, exact SQL checks, freshness and dbt results in one report.

Public API (Great Expectations is imported only when a suite actually runs or docs are built):

    check_dataset(con, GateTarget(relation, dataset), GateEvidence(...), GatePolicy(...)) -> QualityReport
    declared_suite(source) -> Suite       the suite of a dataset declared in the registry
    build_data_docs(validations_dir=None, site_dir=None) -> Path       once per nightly run
    load_suite(dataset) / load_suites() / validate_suite(suite, columns=None)
"""

from sudata.quality.gate import (
    GateEvidence, GatePolicy, GateTarget, check_dataset, dbt_checks, dbt_dimension, freshness_checks,
)
from sudata.quality.report import DIMENSIONS, CheckResult, QualityReport
from sudata.quality.suites import (
    Expectation, Suite, SuiteError, declared_suite, load_suite, load_suites, validate_suite,
)


def build_data_docs(validations_dir=None, site_dir=None, *, suites_dir=None):
    """Render persisted GE validation results as static HTML (default ``$SUDATA_HOME/gx/data_docs``)."""
    from sudata.quality.ge_runner import build_data_docs as _build

    return _build(validations_dir, site_dir, suites_dir=suites_dir)


__all__ = [
    "DIMENSIONS",
    "CheckResult",
    "Expectation",
    "GateEvidence",
    "GatePolicy",
    "GateTarget",
    "QualityReport",
    "Suite",
    "SuiteError",
    "build_data_docs",
    "check_dataset",
    "dbt_checks",
    "declared_suite",
    "dbt_dimension",
    "freshness_checks",
    "load_suite",
    "load_suites",
    "validate_suite",
]
