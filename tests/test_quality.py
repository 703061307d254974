"""The quality gate on synthetic DuckDB tables, and the suites in expectations/ against the marts' YAML."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from sudata.quality import (
    GateEvidence,
    GatePolicy,
    GateTarget,
    declared_suite,
    DIMENSIONS,
    QualityReport,
    build_data_docs,
    check_dataset,
    dbt_dimension,
    load_suite,
    load_suites,
    validate_suite,
)
from sudata.quality import gate as gate_module
from sudata.quality.frames import fetch_frame
from sudata.quality.ge_runner import get_runner
from sudata.quality.suites import parse_suite, suite_files
from sudata.registry import load_registry
from sudata.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR

NOW = datetime(2024, 7, 1, 9, 0, 0)
ROWS = 2_000

SUITE = {
    "name": "air_stations",
    "meta": {"primary_key": ["station_id", "obs_date"], "open_type": "unconditional"},
    "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "aqi"},
         "meta": {"dimension": "completeness", "blocking": True}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "contact_phone", "mostly": 0.9},
         "meta": {"dimension": "completeness", "blocking": False}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "aqi", "min_value": 0, "max_value": 500},
         "meta": {"dimension": "accuracy", "blocking": True}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "latitude", "min_value": 30.7, "max_value": 32.1},
         "meta": {"dimension": "accuracy", "blocking": True}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "obs_date", "min_value": "2000-01-01T00:00:00", "max_value": {"$PARAMETER": "now"}},
         "meta": {"dimension": "timeliness", "blocking": True}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "district_code", "regex": r"^3205\d{2}$"},
         "meta": {"dimension": "conformity", "blocking": True}},
        {"type": "expect_column_values_to_match_regex",
         "kwargs": {"column": "contact_phone", "regex": r"^\d{3}\*{4}\d{4}$"},
         "meta": {"dimension": "conformity", "blocking": True}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "level", "value_set": ["优", "良", "轻度污染"]},
         "meta": {"dimension": "conformity", "blocking": False}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["station_id", "obs_date"]},
         "meta": {"dimension": "consistency", "blocking": True}},
    ],
}
REFERENCED = ["aqi", "contact_phone", "latitude", "obs_date", "district_code", "level", "station_id"]


def make_table(con, name: str, rows: int = ROWS) -> str:
    con.execute("create schema if not exists marts")
    con.execute(f"""
        create or replace table marts.{name} as
        select 'S' || lpad(cast(i % 20 as varchar), 3, '0')            as station_id,
               date '2024-01-01' + cast(i // 20 as integer)            as obs_date,
               cast(i % 300 as integer)                                as aqi,
               31.30 + (i % 50) / 100.0                                as latitude,
               '3205' || lpad(cast(i % 10 as varchar), 2, '0')         as district_code,
               '138****' || lpad(cast(i % 10000 as varchar), 4, '0')   as contact_phone,
               ['优', '良', '轻度污染'][i % 3 + 1]                     as level,
               'not for the gate ' || i                                as unreferenced_note
        from range({rows}) r(i)
    """)
    return f"marts.{name}"


def run(con, relation, **kw):
    """The gate on ``relation`` with the test suite; keyword arguments set target, evidence or policy fields."""
    args = dict(previous_row_count=ROWS, drop_date="2024-06-30", upstream_fresh={"ecology_environment.aq": True},
                suite=parse_suite(SUITE), now=NOW)
    args.update(kw)
    pick = lambda cls: {k: args.pop(k) for k in list(args) if k in cls.__dataclass_fields__}  # noqa: E731
    target = GateTarget(relation, "air_stations", **pick(GateTarget))
    evidence, policy = GateEvidence(**pick(GateEvidence)), GatePolicy(**pick(GatePolicy))
    assert not args, f"unknown gate arguments {sorted(args)}"
    return check_dataset(con, target, evidence, policy)


def by_name(report: QualityReport) -> dict:
    return {c.name: c for c in report.checks}


@pytest.fixture()
def con():
    c = duckdb.connect()
    yield c
    c.close()


# -- the gate ------------------------------------------------------------------------------------------

def test_clean_table_passes_with_full_scores_and_exact_json_shape(con):
    report = run(con, make_table(con, "clean"))
    assert report.passed, report.summary()
    assert report.blocking_failures == [] and report.score == 1.0
    d = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert set(d) == {"dataset", "checked_at", "drop_date", "passed", "score", "row_count", "previous_row_count",
                      "quarantined_rows", "dimensions", "checks", "blocking_failures"}
    assert set(d["dimensions"]) == set(DIMENSIONS)
    for dim in d["dimensions"].values():
        assert set(dim) == {"score", "passed", "failed"} and dim["failed"] == 0 and dim["score"] == 1.0
    for c in d["checks"]:
        assert set(c) == {"name", "source", "dimension", "passed", "blocking", "observed", "detail"}
    assert {c["source"] for c in d["checks"]} == {"great_expectations", "sql"}
    assert d["row_count"] == ROWS and d["drop_date"] == "2024-06-30"
    ge_checks = [c for c in d["checks"] if c["source"] == "great_expectations"]
    assert len(ge_checks) == len(SUITE["expectations"])
    assert QualityReport.from_dict(d).to_dict() == d


@pytest.mark.parametrize("defect, failing", [
    ("update marts.t set aqi = null where i_ % 7 = 0",
     "expect_column_values_to_not_be_null(aqi)"),
    ("update marts.t set aqi = 612 where i_ = 5",
     "expect_column_values_to_be_between(aqi)"),
    ("update marts.t set latitude = 39.9 where i_ = 5",
     "expect_column_values_to_be_between(latitude)"),
    ("update marts.t set obs_date = date '2030-01-01' where i_ = 5",
     "expect_column_values_to_be_between(obs_date)"),
    ("update marts.t set contact_phone = '13812345678' where i_ = 5",
     "expect_column_values_to_match_regex(contact_phone)"),
    ("update marts.t set district_code = '310101' where i_ = 5",
     "expect_column_values_to_match_regex(district_code)"),
])
def test_row_defects_fail_the_blocking_expectation(con, defect, failing):
    make_table(con, "t")
    con.execute("alter table marts.t add column i_ integer")
    con.execute("update marts.t set i_ = rowid")
    con.execute(defect)
    report = run(con, "marts.t")
    checks = by_name(report)
    assert not checks[failing].passed and checks[failing].blocking
    assert checks[failing].source == "great_expectations"
    assert checks[failing].observed["unexpected_count"] >= 1
    assert not report.passed and failing in report.blocking_failures
    assert report.to_dict()["blocking_failures"] == report.blocking_failures


def test_duplicate_keys_fail_in_sql_exactly_and_in_the_suite(con):
    make_table(con, "dupes")
    con.execute("insert into marts.dupes select * from marts.dupes limit 3")
    report = run(con, "marts.dupes")
    checks = by_name(report)
    sql_pk = checks["primary_key_unique(station_id,obs_date)"]
    assert sql_pk.source == "sql" and not sql_pk.passed and sql_pk.blocking
    assert sql_pk.observed["duplicate_rows"] == 3 and len(sql_pk.observed["repeated_keys"]) == 3
    for key in sql_pk.observed["repeated_keys"]:  # the report names the keys that repeat
        station, day = key.split("|")
        assert con.execute("select count(*) from marts.dupes where station_id = ? and cast(obs_date as varchar) = ?",
                           [station, day]).fetchone()[0] == 2
        assert key in sql_pk.detail
    ge_pk = checks["expect_compound_columns_to_be_unique(station_id,obs_date)"]
    assert not ge_pk.passed and ge_pk.observed["unexpected_count"] == 6  # both copies of each repeated key
    assert report.dimensions["consistency"] == {"score": 0.0, "passed": 0, "failed": 2}
    assert report.row_count == ROWS + 3


def test_null_key_is_a_blocking_completeness_failure(con):
    make_table(con, "nullkey")
    con.execute("update marts.nullkey set station_id = null where rowid = 0")
    checks = by_name(run(con, "marts.nullkey"))
    c = checks["primary_key_not_null(station_id,obs_date)"]
    assert not c.passed and c.blocking and c.dimension == "completeness" and c.observed == {"null_keys": 1}


def test_row_count_change_against_previous_version(con):
    relation = make_table(con, "shrunk", rows=900)
    report = run(con, relation, previous_row_count=ROWS)
    c = by_name(report)["row_count_change"]
    assert not c.passed and c.blocking and c.observed["change"] == pytest.approx(-0.55)
    assert "row_count_change" in report.blocking_failures
    assert by_name(run(con, relation, previous_row_count=1_000))["row_count_change"].passed  # -10 %
    assert by_name(run(con, relation, previous_row_count=500))["row_count_change"].passed  # +80 %: events accumulate
    assert not by_name(run(con, relation, previous_row_count=150))["row_count_change"].passed  # +500 %: implausible
    assert by_name(run(con, relation, previous_row_count=150, max_row_growth=6.0))["row_count_change"].passed
    first = run(con, relation, previous_row_count=None)
    assert by_name(first)["row_count_change"].passed and first.previous_row_count is None


def test_empty_table_blocks(con):
    make_table(con, "empty", rows=0)
    report = run(con, "marts.empty", previous_row_count=None)
    assert "row_count_positive" in report.blocking_failures and report.row_count == 0


def test_stale_upstream_is_a_blocking_timeliness_failure(con):
    report = run(con, make_table(con, "stale"),
                 upstream_fresh={"ecology_environment.aq": True, "ecology_environment.stations": False})
    checks = by_name(report)
    stale = checks["upstream_fresh(ecology_environment.stations)"]
    assert not stale.passed and stale.blocking and stale.dimension == "timeliness"
    assert "ecology_environment.stations" in stale.detail
    assert checks["upstream_fresh(ecology_environment.aq)"].passed
    assert report.blocking_failures == ["upstream_fresh(ecology_environment.stations)"]
    # obs_date check and two freshness checks in timeliness, one failing
    assert report.dimensions["timeliness"] == {"score": pytest.approx(2 / 3, abs=1e-4), "passed": 2, "failed": 1}


def test_dimension_scores_and_non_blocking_failures(con):
    relation = make_table(con, "scores")
    con.execute("update marts.scores set level = '重度污染' where rowid < 10")          # non-blocking conformity
    con.execute("update marts.scores set contact_phone = null where rowid % 4 = 0")  # 25 % null, mostly 0.9
    report = run(con, relation, quarantined_rows=4)
    dims = report.dimensions
    assert report.passed  # only non-blocking checks failed
    assert dims["conformity"]["failed"] == 1 and dims["conformity"]["passed"] == 3  # 2 regex + columns present
    assert dims["conformity"]["score"] == 0.75
    # completeness: row count, change, pk not null, not_null(aqi) pass; contact_phone mostly + quarantine fail
    assert dims["completeness"] == {"score": pytest.approx(4 / 6, abs=1e-4), "passed": 4, "failed": 2}
    expected = sum(d["score"] for d in dims.values()) / len(dims)
    assert report.score == pytest.approx(expected, abs=1e-4) and report.score < 1
    assert by_name(report)["no_quarantined_rows"].observed == {"quarantined_rows": 4}


def test_dbt_results_are_mapped_to_dimensions_and_severity(con):
    dbt = [
        {"name": "not_null_air_stations_aqi", "status": "pass", "severity": "error"},
        {"name": "unique_air_stations_station_id", "status": "fail", "severity": "error", "failures": 2,
         "failing_keys": [{"station_id": "1001A"}, {"station_id": "1002A"}]},
        {"name": "relationships_air_stations_district_code__code__ref_suzhou_streets_", "status": "pass",
         "severity": "error"},
        {"name": "accepted_values_air_stations_level", "status": "warn", "severity": "warn", "failures": 1},
        {"name": "valid_uscc_enterprise_registry_uscc", "status": "pass", "severity": "error"},
        {"name": "assert_aqi_matches_level", "status": "fail", "severity": "warn"},
    ]
    report = run(con, make_table(con, "dbt"), dbt_results=dbt)
    checks = {c.name: c for c in report.checks if c.source == "dbt"}
    assert [checks[r["name"]].dimension for r in dbt] == [
        "completeness", "consistency", "consistency", "conformity", "conformity", "accuracy"]
    assert checks["unique_air_stations_station_id"].blocking and not checks["unique_air_stations_station_id"].passed
    assert not checks["accepted_values_air_stations_level"].blocking
    assert not checks["assert_aqi_matches_level"].blocking
    assert report.blocking_failures == ["unique_air_stations_station_id"]
    unique = checks["unique_air_stations_station_id"]
    assert unique.observed["failing_keys"] == [{"station_id": "1001A"}, {"station_id": "1002A"}]
    assert unique.detail.endswith("; e.g. 1001A, 1002A")
    assert dbt_dimension("unique_combination_of_columns_air_quality_daily_station_code__observation_date") == "consistency"
    assert dbt_dimension("no_clear_pii_enterprise_registry_") == "conformity"
    assert dbt_dimension("valid_division_code_enterprise_registry_street_code__street") == "conformity"


def test_missing_column_is_reported_not_raised(con):
    make_table(con, "nocol")
    con.execute("alter table marts.nocol drop column level")
    checks = by_name(run(con, "marts.nocol"))
    assert not checks["suite_columns_present"].passed and checks["suite_columns_present"].blocking
    assert checks["suite_columns_present"].observed == {"missing_columns": ["level"]}
    assert "not evaluated" in checks["expect_column_values_to_be_in_set(level)"].detail
    assert checks["expect_column_values_to_be_between(aqi)"].passed  # the rest of the suite still ran


def test_missing_suite_blocks(con, tmp_path):
    report = check_dataset(con, GateTarget(make_table(con, "nosuite"), "nosuite", suites_dir=tmp_path))
    assert "expectation_suite_present" in report.blocking_failures


# -- what is fetched -----------------------------------------------------------------------------------

def test_only_referenced_columns_are_fetched(con, monkeypatch):
    relation = make_table(con, "fetch")
    frames = []
    real = gate_module.fetch_frame

    def spy(*args, **kwargs):
        frame = real(*args, **kwargs)
        frames.append(frame)
        return frame

    monkeypatch.setattr(gate_module, "fetch_frame", spy)
    report = run(con, relation)
    (frame,) = frames
    assert sorted(frame.df.columns) == sorted(REFERENCED)
    assert "unreferenced_note" not in frame.sql and "*" not in frame.sql.split("from")[0]
    assert not frame.sampled and len(frame.df) == ROWS
    assert report.ge_result["meta"]["sudata"]["sql"] == frame.sql
    # numbers and dates as numpy dtypes (GE's vectorised paths), strings Arrow-backed
    assert str(frame.df["aqi"].dtype) == "int64" and str(frame.df["obs_date"].dtype) == "datetime64[ns]"


def test_null_dates_stay_null_and_out_of_range_dates_are_clamped(con):
    con.execute("""create table odd as select * from (values
        (date '2024-01-01', timestamp '2024-01-01 10:00:00'),
        (null, null),
        (date '0001-01-01', timestamp '9999-12-31 00:00:00')) v(d, ts)""")
    df = fetch_frame(con, "odd", ["d", "ts"]).df
    assert df["d"].isna().tolist() == [False, True, False] and df["ts"].isna().tolist() == [False, True, False]
    assert str(df["d"][2].date()) == "1678-01-01" and df["ts"][2].year == 2262


def test_not_in_the_future_is_judged_against_a_drop_dated_ahead_of_the_clock():
    ahead = (datetime.now() + timedelta(days=3)).date().isoformat()
    assert gate_module.reference_now(ahead) == datetime.fromisoformat(f"{ahead}T23:59:59")
    assert gate_module.reference_now("2020-01-01") > datetime(2024, 1, 1)  # old drops: the clock


def test_large_tables_are_validated_on_a_bounded_sample_while_sql_stays_exact(con):
    relation = make_table(con, "big", rows=5_000)
    con.execute(f"insert into {relation} select * from {relation} limit 1")
    frame = fetch_frame(con, relation, ["aqi", "station_id"], sample_rows=1_000)
    assert frame.sampled and 700 < len(frame.df) < 1_300 and "using sample bernoulli(" in frame.sql
    assert len(fetch_frame(con, relation, ["aqi"], sample_rows=1_000).df) == len(frame.df)  # repeatable
    report = run(con, relation, previous_row_count=5_000, sample_rows=1_000)
    checks = by_name(report)
    assert report.row_count == 5_001
    assert checks["primary_key_unique(station_id,obs_date)"].observed["duplicate_rows"] == 1
    detail = checks["expect_column_values_to_be_between(aqi)"].detail
    assert f"sample of {len(frame.df)} of 5001 rows" in detail


def test_one_ge_context_per_process(con):
    relation = make_table(con, "reuse")
    runner = get_runner()
    run(con, relation)
    run(con, relation)
    assert get_runner() is runner
    assert [s.name for s in runner.context.suites.all()].count("air_stations") == 1


# -- Data Docs -----------------------------------------------------------------------------------------

def test_data_docs_are_built_as_static_html(con, tmp_path):
    suites_dir = tmp_path / "suites"
    suites_dir.mkdir()
    (suites_dir / "air_stations.json").write_text(json.dumps(SUITE, ensure_ascii=False), "utf-8")
    relation = make_table(con, "docs")
    validations = tmp_path / "gx" / "validations"
    run(con, relation, suite=None, suites_dir=suites_dir, validations_dir=validations)
    con.execute("update marts.docs set aqi = 999 where rowid = 1")
    run(con, relation, suite=None, suites_dir=suites_dir, validations_dir=validations)
    assert len(list((validations / "air_stations").glob("*.json"))) == 2
    index = build_data_docs(validations, tmp_path / "gx" / "data_docs", suites_dir=suites_dir)
    assert index == tmp_path / "gx" / "data_docs" / "index.html" and index.is_file()
    pages = list((tmp_path / "gx" / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 2
    assert (tmp_path / "gx" / "data_docs" / "expectations" / "air_stations.html").is_file()
    assert "air_stations" in index.read_text("utf-8")
    first, second = (p.read_text("utf-8") for p in sorted(pages, key=lambda p: p.parent.name))
    assert "aqi" in second
    assert first.count("fa-times") == 0 and second.count("fa-times") > 0  # the later run: aqi out of range
    # the nightly rebuild replaces the site in place and leaves nothing behind
    assert build_data_docs(validations, tmp_path / "gx" / "data_docs", suites_dir=suites_dir).is_file()
    assert sorted(p.name for p in (tmp_path / "gx").iterdir()) == ["data_docs", "validations"]


# -- the suites of the published datasets ---------------------------------------------------------------

def _mart_models() -> dict[str, dict]:
    """Model name → its columns, column meta, column tests, model tests and catalog, from the marts' YAML
    (hand-written and generated from the registry)."""
    models = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "marts").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text("utf-8")) or {}
        for m in doc.get("models") or []:
            meta = dict(m.get("meta") or {})
            meta.update((m.get("config") or {}).get("meta") or {})
            columns = {c["name"]: c.get("data_type") for c in m.get("columns") or []}
            column_meta, column_tests = {}, {}
            for c in m.get("columns") or []:
                cm = dict(c.get("meta") or {})
                cm.update((c.get("config") or {}).get("meta") or {})
                column_meta[c["name"]] = cm
                column_tests[c["name"]] = {_test_name(t) for t in c.get("data_tests") or []}
            model_tests = {(_test_name(t), _combination(t)) for t in m.get("data_tests") or []}
            models[m["name"]] = {"columns": columns, "column_meta": column_meta, "column_tests": column_tests,
                                 "model_tests": model_tests, "catalog": meta.get("catalog") or {},
                                 "source": meta.get("source"), "path": path}
    return models


def _test_name(test) -> str:
    return test if isinstance(test, str) else next(iter(test))


def _combination(test) -> tuple:
    if isinstance(test, str):
        return ()
    return tuple(((test[_test_name(test)] or {}).get("arguments") or {}).get("combination_of_columns") or ())


MARTS = _mart_models()
PUBLISHED = sorted(name for name, m in MARTS.items() if m["catalog"])
REGISTRY = load_registry()


def suite_of(name: str):
    """A dataset's suite: its file, or for a dataset declared in the registry the declared one."""
    source = MARTS[name]["source"]
    return declared_suite(REGISTRY[source]) if source else load_suite(name)


def test_every_published_mart_has_one_suite_and_every_suite_a_mart():
    assert PUBLISHED, "no mart with catalog metadata under dbt_project/models/marts"
    files = sorted(p.stem for p in suite_files())
    declared = sorted(n for n in PUBLISHED if MARTS[n]["source"])
    assert declared, "no dataset is declared in the registry"
    assert sorted(files + declared) == PUBLISHED  # each dataset exactly once: a file or a declaration
    for name in declared:
        suite = suite_of(name)
        assert validate_suite(suite, columns=MARTS[name]["columns"]) == [], name


@pytest.mark.parametrize("name", PUBLISHED)
def test_the_primary_key_is_a_dbt_rule_of_the_mart(name):
    mart = MARTS[name]
    pk = list(mart["catalog"]["primary_key"])
    for col in pk:
        assert "not_null" in mart["column_tests"].get(col, set()), f"{name}.{col}: no not_null test"
    if len(pk) == 1:
        assert "unique" in mart["column_tests"][pk[0]], f"{name}.{pk[0]}: no unique test"
    else:
        assert ("unique_combination_of_columns", tuple(pk)) in mart["model_tests"], f"{name}: key not unique-tested"


# GE expectation → the dbt test that states the same rule of the same column
_SAME_RULE = {
    "expect_column_values_to_not_be_null": "not_null",
    "expect_column_values_to_be_unique": "unique",
    "expect_column_values_to_be_in_set": "accepted_values",
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_no_expectation_repeats_a_dbt_test(name):
    """Quality rules are written once: a suite holds only what the mart's dbt tests cannot say."""
    mart, suite = MARTS[name], suite_of(name)
    for e in suite.expectations:
        col = e.kwargs.get("column")
        tests = mart["column_tests"].get(col, set())
        if e.type == "expect_column_values_to_not_be_null" and e.kwargs.get("mostly") not in (None, 1):
            continue  # a share of rows is not a dbt test's rule
        if e.type in _SAME_RULE:
            assert _SAME_RULE[e.type] not in tests, f"{name}: {e.label} repeats dbt's {_SAME_RULE[e.type]}"
        if e.type == "expect_compound_columns_to_be_unique":
            assert ("unique_combination_of_columns", tuple(e.kwargs["column_list"])) not in mart["model_tests"], e.label
        if e.type == "expect_column_values_to_match_regex" and col in ("street_code", "district_code"):
            assert "valid_division_code" not in tests, f"{name}: {e.label} repeats dbt's valid_division_code"


@pytest.mark.parametrize("path", suite_files(), ids=lambda p: p.stem)
def test_suite_file_is_valid_against_ge_and_the_mart(path: Path):
    suite = load_suite(path.stem)
    mart = MARTS.get(suite.name)
    assert mart is not None, f"{path.name}: no mart {suite.name!r} in dbt_project/models/marts"
    assert not mart["source"], f"{path.name}: {suite.name} is declared in the registry and needs no suite file"
    assert validate_suite(suite, columns=mart["columns"]) == []
    catalog = mart["catalog"]
    pk = catalog.get("primary_key")
    assert suite.primary_key == ([pk] if isinstance(pk, str) else list(pk or [])), "primary key differs from the YAML"
    assert suite.meta.get("open_type") == catalog.get("open_type")
    for e in suite.expectations:
        if "regex" in e.kwargs:  # GE searches (str.contains): only an anchored pattern checks the whole value
            pattern = e.kwargs["regex"]
            assert pattern.startswith("^") and pattern.endswith("$"), e.label
            assert re.compile(pattern).groups == 0, f"{e.label}: use (?:...) groups"


MASKED = {"person_name": ["张*", "欧**", "*"], "phone": ["138****5678", "0512-********", "*******"]}
CLEAR = {"person_name": ["张三", "欧阳娜娜"], "phone": ["13812345678", "0512-68881234"]}


@pytest.mark.parametrize("name", PUBLISHED)
def test_personal_columns_are_guarded_by_blocking_masking_expectations(name):
    """Unconditional: names and phones only masked; every dataset: identity numbers only as pseudonyms."""
    mart, suite = MARTS[name], suite_of(name)
    guarded = []
    for column, meta in mart["column_meta"].items():
        pii = meta.get("pii")
        if pii == "id_number" or (mart["catalog"].get("open_type") == "unconditional" and pii in MASKED):
            rules = [e for e in suite.expectations
                     if e.type == "expect_column_values_to_match_regex" and e.columns == [column] and e.blocking]
            assert rules, f"{name}.{column} ({pii}) has no blocking regex expectation"
            guarded.append((column, pii, rules))
    for column, pii, rules in guarded:
        if pii == "id_number":
            good, bad = ["a" * 64, "0123456789abcdef" * 4], ["320505199001011234", "A" * 64]
        else:
            good, bad = MASKED[pii], CLEAR[pii]
        mini = parse_suite({"name": f"{name}_masking", "expectations": [e.to_dict() for e in rules]})
        ok = get_runner().run(mini, pd.DataFrame({column: pd.array(good, dtype="str")}), now=NOW)
        leak = get_runner().run(mini, pd.DataFrame({column: pd.array(bad, dtype="str")}), now=NOW)
        assert all(o.success for o in ok.outcomes), (column, [o.detail for o in ok.outcomes])
        assert all(o.observed["unexpected_count"] == len(bad) for o in leak.outcomes), column


def test_suites_directory_is_the_projects():
    assert EXPECTATIONS_DIR.name == "expectations" and set(load_suites()) == {p.stem for p in suite_files()}


def test_a_failing_expectation_names_keys_of_failing_rows_but_never_their_values(con):
    make_table(con, "keys")
    con.execute("update marts.keys set aqi = 612 where station_id = 'S007' and obs_date = date '2024-01-03'")
    report = run(con, "marts.keys")
    check = by_name(report)["expect_column_values_to_be_between(aqi)"]
    assert not check.passed
    assert check.observed["failing_keys"] == [{"station_id": "S007", "obs_date": "2024-01-03 00:00:00"}] or \
        check.observed["failing_keys"] == [{"station_id": "S007", "obs_date": "2024-01-03"}]
    assert "e.g. S007|2024-01-03" in check.detail
    results = [r["result"] for r in report.ge_result["results"]]   # persisted and rendered as Data Docs
    assert all("partial_unexpected_list" not in r and "partial_unexpected_counts" not in r for r in results)
    sampled = [row for r in results for row in r.get("partial_unexpected_index_list") or []]
    assert sampled and all(set(row) == {"station_id", "obs_date"} for row in sampled)  # keys, never values


def test_failing_keys_are_the_first_failing_rows_of_a_large_frame_and_counts_cover_all_of_it():
    """The keys are looked for in a growing head of the frame: they must still be the first failing rows in
    frame order (here past the first head), and the counts those of the whole frame."""
    n = 50_000
    aqi = [50] * n
    failing = [9_000, 9_001, 30_000, *range(40_000, 45_000)]
    for i in failing:
        aqi[i] = 900
    df = pd.DataFrame({"station_id": pd.array([f"S{i:05d}" for i in range(n)], dtype="str"),
                       "aqi": pd.array(aqi, dtype="int64")})
    suite = parse_suite({"name": "large_keys", "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "aqi", "min_value": 0, "max_value": 500},
         "meta": {"dimension": "accuracy", "blocking": True}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "aqi"},
         "meta": {"dimension": "completeness", "blocking": True}}]})
    outcome = get_runner().run(suite, df, now=NOW, key_columns=["station_id"])
    between, not_null = outcome.outcomes
    assert not between.success and between.observed["unexpected_count"] == len(failing)
    assert between.observed["element_count"] == n
    first = [{"station_id": f"S{i:05d}"} for i in failing[:5]]
    assert between.observed["failing_keys"] == first
    assert outcome.result["results"][0]["result"]["partial_unexpected_index_list"] == first
    assert not_null.success


def test_the_leak_scanner_blocks_personal_data_in_clear_in_unconditional_data(con):
    from stdnum.cn import ric

    body = "32050519900307123"
    valid_id = body + ric.calc_check_digit(body + "0")  # stdnum reads the 17 digits before the last place
    wrong_id = body + ("0" if valid_id[-1] != "0" else "1")
    make_table(con, "leaky")
    con.execute("alter table marts.leaky add column remark varchar")
    con.execute("update marts.leaky set remark = '联系人 ' || ? where station_id = 'S001'", [valid_id])
    con.execute("update marts.leaky set remark = '电话13812345678转' where station_id = 'S002'")
    con.execute("update marts.leaky set remark = '编号' || ? where station_id = 'S003'", [wrong_id])
    report = run(con, "marts.leaky", open_type="unconditional")
    check = by_name(report)["no_personal_data_in_clear"]
    per_day = ROWS // 20
    assert not check.passed and check.blocking and "no_personal_data_in_clear" in report.blocking_failures
    assert check.observed["columns"] == {"remark": {"id_number": per_day, "mobile": per_day}}
    assert valid_id not in check.detail and "13812345678" not in check.detail  # counts, never values
    # a masked phone and an ID-shaped number with a wrong check character are no leak
    con.execute("update marts.leaky set remark = '电话138****5678' where station_id in ('S001', 'S002')")
    assert by_name(run(con, "marts.leaky", open_type="unconditional"))["no_personal_data_in_clear"].passed
    # conditional data is not scanned: its key holders may see personal data
    assert "no_personal_data_in_clear" not in by_name(run(con, "marts.leaky", open_type="conditional"))


def test_starting_great_expectations_prints_no_warning_of_an_installed_pyspark():
    # the gate's stage line of `sudata run` must not be broken by pyspark's import-time warning
    import subprocess
    import sys

    import pyspark  # noqa: F401  (the `spark` extra: `make test` installs it)
    probe = ("import warnings; warnings.simplefilter('default');"
             "from sudata.quality.ge_runner import GERunner; GERunner(); import pyspark; print('started')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "started" in done.stdout, done.stderr
    assert "PySpark does not yet fully support pandas" not in done.stderr, done.stderr
