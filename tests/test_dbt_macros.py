"""The dbt project: its SQL macros, its governance metadata and one build over a lake made for the purpose.

The macros are compiled by dbt (the project's own macros, through dbt's Jinja and dispatch) and executed
by DuckDB, and their answers are compared with reference implementations: python-stdnum for the national
identifiers, hashlib for pseudonyms, Python's calendar for dates. The manifest is checked against the
registry and the publication rules. The build test lands a handful of hand-made rows with known dirt in
the raw layer, runs ``dbt build`` and checks what reaches the marts and what is quarantined.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric, uscc

from sudata.registry import load_registry
from sudata.settings import DBT_PROJECT_DIR

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GRADES = ("general", "important", "core")
OPEN_TYPES = ("unconditional", "conditional", "closed")
FREQUENCIES = ("实时", "每日", "每周", "每月", "每季度", "每年", "不定期")
MASKINGS = ("none", "mask_person_name", "mask_phone", "pseudonymise")
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "SUDATA_PSEUDONYM_SALT": "sudata"}


# --- compiling the project's macros ------------------------------------------------------------------


@pytest.fixture(scope="module")
def dbt_session(tmp_path_factory):
    """A parsed project and a function compiling inline SQL with it (no warehouse objects needed)."""
    from dbt.cli.main import dbtRunner

    home = tmp_path_factory.mktemp("dbt_macros")
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
              "--target-path", str(home / "target"), "--log-path", str(home / "logs"), "--quiet"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUDATA_HOME", str(home))
        for key, value in DBT_ENV.items():
            mp.setenv(key, value)
        mp.delenv("SUDATA_DBT_TARGET", raising=False)
        parsed = dbtRunner().invoke(["parse", *common])
        assert parsed.success, parsed.exception
        runner = dbtRunner(manifest=parsed.result)

        def compile_sql(sql: str) -> str:
            result = runner.invoke(["compile", "--inline", sql, *common])
            if not result.success:
                raise AssertionError(f"dbt could not compile {sql!r}: {result.exception}")
            return result.result.results[0].node.compiled_code

        yield {"compile": compile_sql, "manifest": json.loads((home / "target" / "manifest.json").read_text())}


def _literal(value: str | None) -> str:
    return "cast(null as varchar)" if value is None else "'" + value.replace("'", "''") + "'"


def evaluate(dbt_session, expression: str, values: list, column: str = "v") -> list:
    """expression (a Jinja macro call over column v) applied to each value, in DuckDB, in order."""
    rows = ", ".join(f"({i}, {_literal(v)})" for i, v in enumerate(values))
    sql = f"select i, {expression} as out from (values {rows}) as t(i, {column}) order by i"
    compiled = dbt_session["compile"](sql)
    return [r[1] for r in duckdb.connect().execute(compiled).fetchall()]


# --- text, phones, names -----------------------------------------------------------------------------


def test_to_halfwidth_and_clean_text(dbt_session):
    values = ["ＡＢＣ１２３", "\u3000 苏州市 \u3000", "华信（苏州）电子", "\tline\n", "", "   ", None, "它's"]
    assert evaluate(dbt_session, "{{ sudata.to_halfwidth('v') }}", values[:3]) == ["ABC123", "  苏州市  ", "华信(苏州)电子"]
    assert evaluate(dbt_session, "{{ sudata.clean_text('v') }}", values) == [
        "ABC123", "苏州市", "华信(苏州)电子", "line", None, None, None, "它's"]


def test_free_text_keeps_chinese_punctuation(dbt_session):
    """Descriptions and addresses read as written (GB/T 15834 marks kept); letters, digits and symbols that
    departments type full-width by accident become ASCII, as in every other column."""
    values = ["一般项目：软件开发；技术服务。", "首小时５元，之后每小时２．５元／小时（封顶３０元）！", "\u3000０８：００～１７：００？ ",
              "ＡＰＰ＃１　＋２％"]
    assert evaluate(dbt_session, "{{ sudata.clean_free_text('v') }}", values) == [
        "一般项目：软件开发；技术服务。", "首小时5元，之后每小时2.5元/小时（封顶30元）！", "08：00～17：00？", "APP#1 +2%"]
    assert evaluate(dbt_session, "{{ sudata.clean_text('v') }}", values[:1]) == ["一般项目:软件开发;技术服务。"]


def test_clean_name_and_clean_code(dbt_session):
    names = ["苏州\u3000市第一中学", " 张 三 ", "Bosch (Suzhou) Co., Ltd.", "欧阳娜娜"]
    assert evaluate(dbt_session, "{{ sudata.clean_name('v') }}", names) == [
        "苏州市第一中学", "张三", "Bosch (Suzhou) Co., Ltd.", "欧阳娜娜"]
    codes = ["９１３２０５０５ＭＡ１", " 9132-0505 ma1\u3000", "JY-1320508"]
    assert evaluate(dbt_session, "{{ sudata.clean_code('v') }}", codes) == ["91320505MA1", "91320505MA1", "JY1320508"]
    assert evaluate(dbt_session, "{{ sudata.clean_code('v', keep_hyphens=true) }}", codes[2:]) == ["JY-1320508"]


def test_clean_phone(dbt_session):
    cases = {
        "13812345678": "13812345678",
        "+86 138 1234 5678": "13812345678",
        "0086-13812345678": "13812345678",
        "0512-68881234": "0512-68881234",
        "０５１２－６８８８１２３４": "0512-68881234",
        "(0512)68881234": "0512-68881234",
        "051268881234": "0512-68881234",
        "010-12345678": "010-12345678",
        "68881234": "68881234",
        "无": None,
        "12345": None,
    }
    got = evaluate(dbt_session, "{{ sudata.clean_phone(sudata.clean_text('v')) }}", list(cases))
    assert dict(zip(cases, got)) == cases


def test_masks(dbt_session):
    phones = ["13812345678", "0512-68881234", "010-12345678", "68881234", None]
    assert evaluate(dbt_session, "{{ sudata.mask_phone('v') }}", phones) == [
        "138****5678", "0512-********", "010-********", "********", None]
    names = ["张三", "欧阳娜娜", "王", "陆建华", None]
    assert evaluate(dbt_session, "{{ sudata.mask_person_name('v') }}", names) == ["张*", "欧***", "*", "陆**", None]


def test_pseudonymise_is_salted_sha256_hex(dbt_session):
    values = ["320581199001011234", "x", "统一", None]
    got = evaluate(dbt_session, "{{ sudata.pseudonymise('v') }}", values)
    expected = [hashlib.sha256(f"sudata:{v}".encode()).hexdigest() if v is not None else None for v in values]
    assert got == expected


# --- dates and numbers --------------------------------------------------------------------------------

DATE_CASES = {
    "2026-11-23": date(2026, 11, 23),
    "2026/11/23": date(2026, 11, 23),
    "2026年11月23日": date(2026, 11, 23),
    "20261123": date(2026, 11, 23),
    "2026.11.23": date(2026, 11, 23),
    "2026/1/5": date(2026, 1, 5),
    "2026年1月5日": date(2026, 1, 5),
    "2026-11-23 08:30:00": date(2026, 11, 23),
    "2026-11-23T08:30": date(2026, 11, 23),
    "46349": date(1899, 12, 30) + timedelta(days=46349),
    "2024-02-29": date(2024, 2, 29),
    "2000-02-29": date(2000, 2, 29),
    "2023-02-29": None,
    "1900-02-29": None,
    "2026-02-30": None,
    "2026-13-01": None,
    "2026-00-10": None,
    "2026-11-31": None,
    "2026-11": None,
    "2026-11-23-01": None,
    "20261323": None,
    "长期": None,
    "abc": None,
    "12": None,
}


@pytest.mark.parametrize("implementation", ["parse_date_multi", "default__parse_date_multi",
                                            "postgres__parse_date_multi", "duckdb__parse_date_multi"])
def test_parse_date_multi(dbt_session, implementation):
    """The dispatched parser on DuckDB, and the portable and PostgreSQL variants run on DuckDB too."""
    values = list(DATE_CASES) + [None]
    got = evaluate(dbt_session, f"{{{{ sudata.{implementation}('v') }}}}", values)
    assert dict(zip(values, got)) == {**DATE_CASES, None: None}


def test_parse_date_multi_agrees_with_python_on_random_dates(dbt_session):
    rng = random.Random(7)
    values, expected = [], []
    for _ in range(300):
        y, m, d = rng.randint(1950, 2040), rng.randint(0, 13), rng.randint(0, 32)
        try:
            real = date(y, m, d)
        except ValueError:
            real = None
        style = rng.choice(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}年{m}月{d}日", "{y}{m:02d}{d:02d}", "{y}.{m:02d}.{d:02d}"])
        values.append(style.format(y=y, m=m, d=d))
        expected.append(real)
    assert evaluate(dbt_session, "{{ sudata.default__parse_date_multi('v') }}", values) == expected
    assert evaluate(dbt_session, "{{ sudata.parse_date_multi('v') }}", values) == expected


def test_parse_timestamp_multi(dbt_session):
    cases = {
        "2026-11-23 08:00:00": datetime(2026, 11, 23, 8, 0),
        "2026-11-23 08:30": datetime(2026, 11, 23, 8, 30),
        "2026/11/23 8:05": datetime(2026, 11, 23, 8, 5),
        "2026年11月23日 8时": datetime(2026, 11, 23, 8, 0),
        "2026年11月23日 08时30分": datetime(2026, 11, 23, 8, 30),
        "2026-11-23 24:00": datetime(2026, 11, 24, 0, 0),
        "2026-11-23": datetime(2026, 11, 23, 0, 0),
        "2026-11-23 25:00": None,
        "2026-11-23 08:61": None,
        "2026-02-30 08:00": None,
    }
    got = evaluate(dbt_session, "{{ sudata.parse_timestamp_multi('v') }}", list(cases))
    assert dict(zip(cases, got)) == cases


def test_numbers(dbt_session):
    decimals = {"1,234": Decimal("1234"), "1，234.5": Decimal("1234.5"), "35万": Decimal("35"),
                "0.5万元": Decimal("0.5"), "-3": Decimal("-3"), ".5": Decimal("0.5"), "１２０张": Decimal("120"),
                "1.2.3": None, "abc": None, "-": None, ".": None, "": None,
                "123456789012345": None}   # more integer digits than decimal(18, 4) holds: null, not an error
    got = evaluate(dbt_session, "{{ sudata.parse_decimal(sudata.clean_number('v'), 18, 4) }}", list(decimals))
    assert dict(zip(decimals, got)) == decimals
    integers = {"12": 12, "12.0": 12, "2,345": 2345, "300个": 300, "12.5": None, "-3": None, "若干": None}
    got = evaluate(dbt_session, "{{ sudata.parse_integer(sudata.clean_number('v')) }}", list(integers))
    assert dict(zip(integers, got)) == integers


def test_avg_rounded_is_exact_half_up(dbt_session):
    sql = ("select {{ sudata.avg_rounded('x', 2) }} as two, {{ sudata.avg_rounded('x', 0) }} as zero "
           "from (values (0.7), (0.75), (null)) as t(x)")
    two, zero = duckdb.connect().execute(dbt_session["compile"](sql)).fetchone()
    assert two == Decimal("0.73") and zero == Decimal("1")


# --- national identifiers ------------------------------------------------------------------------------


def _random_uscc(rng: random.Random) -> str:
    body = (rng.choice("159") + rng.choice("123") + "".join(rng.choice("0123456789") for _ in range(6))
            + "".join(rng.choice(USCC_ALPHABET) for _ in range(9)))
    return body + uscc.calc_check_digit(body)


@pytest.mark.parametrize("implementation", ["is_valid_uscc", "default__is_valid_uscc"])
def test_is_valid_uscc_agrees_with_stdnum(dbt_session, implementation):
    """The dispatched check (DuckDB's regular expression) and the portable one run on DuckDB."""
    rng = random.Random(11)
    values = []
    for _ in range(200):
        code = _random_uscc(rng)
        values.append(code)
        values.append(code[:-1] + rng.choice([c for c in USCC_ALPHABET if c != code[-1]]))   # wrong check
    values += ["91320505MA1X2Y3Z4", "913205050000000O0X", "9132050500000000I1", "91320505", "913205A50000000001",
               "9132050500000000１1", "91320505MA1X2Y3W45"]
    got = evaluate(dbt_session, f"{{{{ sudata.{implementation}('v') }}}}", values)
    assert got == [uscc.is_valid(v) for v in values]
    assert sum(got) == 200


@pytest.mark.parametrize("implementation", ["is_valid_uscc", "default__is_valid_uscc"])
def test_is_valid_uscc_follows_gb32100_where_stdnum_is_stricter(dbt_session, implementation):
    """GB 32100 allows a letter as registering-authority code (Y: other authorities, N: agriculture)."""
    body = "N2320506" + "MA1X2Y3W4"
    code = body + uscc.calc_check_digit(body)
    got = evaluate(dbt_session, f"{{{{ sudata.{implementation}('v') }}}}", [code, None, code + "\n"])
    assert got == [True, None, False]


def _ric(division: str, born: date, seq: int) -> str:
    body = f"{division}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def test_is_valid_id_number_agrees_with_stdnum(dbt_session):
    rng = random.Random(13)
    values = []
    for _ in range(200):
        born = date(1990, 1, 1) + timedelta(days=rng.randint(0, 9000))
        number = _ric(rng.choice(["320581", "320582", "320583"]), born, rng.randint(0, 999))
        values.append(number)
        values.append(number[:-1] + rng.choice([c for c in "0123456789X" if c != number[-1]]))
    values += ["320581199002301234", "32058119901301123X", "3205811990010112", "32058119900101123A"]
    got = evaluate(dbt_session, "{{ sudata.is_valid_id_number('v') }}", values)
    assert got == [ric.is_valid(v) for v in values]
    assert sum(got) == 200


def test_is_valid_id_number_rejects_future_and_implausible_birth_dates(dbt_session):
    future = _ric("320508", date.today() + timedelta(days=30), 1)
    ancient = _ric("320500", date(1850, 6, 1), 1)
    ok = _ric("320500", date(1950, 6, 1), 1)
    assert evaluate(dbt_session, "{{ sudata.is_valid_id_number('v') }}", [future, ancient, ok]) == [False, False, True]


# --- governance: metadata and rules --------------------------------------------------------------------


def _meta(node: dict) -> dict:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def _marts(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["fqn"][1] == "marts"}


def _tests_on(manifest: dict, model_name: str) -> list[dict]:
    uid = f"model.sudata.{model_name}"
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "test" and n.get("attached_node") == uid]


def _expected_masking(open_type: str, pii: str | None, grade: str) -> str:
    """The rule govern() applies, restated: the metadata must say what the SQL does."""
    if pii is None:
        return "none"
    if pii == "id_number":
        return "pseudonymise"
    if open_type in ("conditional", "closed"):
        return "pseudonymise" if grade == "core" else "none"
    return {"person_name": "mask_person_name", "phone": "mask_phone"}[pii]


def test_every_mart_carries_complete_catalog_metadata(dbt_session):
    manifest = dbt_session["manifest"]
    marts = _marts(manifest)
    departments = {s.department.id for s in load_registry().values()}
    assert len(marts) >= 12
    assert {_meta(n)["catalog"]["department"] for n in marts.values()} == departments
    assert any(_meta(n)["catalog"]["open_type"] == "closed" for n in marts.values())
    for name, node in marts.items():
        catalog = _meta(node)["catalog"]
        assert set(catalog) >= {"title", "title_en", "department", "domain", "open_type", "security_grade",
                                "update_frequency", "scope_column", "su_online", "primary_key", "tags"}, name
        assert catalog["open_type"] in OPEN_TYPES and catalog["security_grade"] in GRADES, name
        assert catalog["update_frequency"] in FREQUENCIES, name
        assert node["description"] and catalog["title"] and catalog["tags"], name
        columns = node["columns"]
        assert catalog["scope_column"] in columns, name
        assert all(k in columns for k in catalog["primary_key"]), name
        clear_grades = []
        for cname, column in columns.items():
            meta = _meta(column)
            where = f"{name}.{cname}"
            assert column["description"] and meta.get("title"), where
            assert meta.get("grade") in GRADES and meta.get("masking") in MASKINGS, where
            assert meta.get("pii") in (None, "person_name", "phone", "id_number"), where
            assert meta["masking"] == _expected_masking(catalog["open_type"], meta.get("pii"), meta["grade"]), where
            if meta["masking"] == "none":
                clear_grades.append(meta["grade"])
            if catalog["open_type"] == "unconditional":
                assert meta.get("pii") is None or meta["masking"] != "none", f"{where}: personal data in clear"
        # the dataset's grade is the highest grade of what it exposes in clear
        assert catalog["security_grade"] == max(clear_grades, key=GRADES.index), name
        assert catalog["scope_column"] in ("street_code", "district_code"), name


def test_every_mart_is_gated_by_its_tests(dbt_session):
    manifest = dbt_session["manifest"]
    for name, node in _marts(manifest).items():
        tests = _tests_on(manifest, name)
        by_name = {}
        for t in tests:
            by_name.setdefault(t["test_metadata"]["name"], []).append(t)
        assert "no_clear_pii" in by_name, name
        key = _meta(node)["catalog"]["primary_key"]
        if len(key) == 1:
            assert {"unique", "not_null"} <= {t["test_metadata"]["name"] for t in tests if t.get("column_name") == key[0]}, name
        else:
            combos = [t["test_metadata"]["kwargs"]["combination_of_columns"] for t in by_name.get("unique_combination_of_columns", [])]
            assert key in combos, name
        if "uscc" in node["columns"]:
            assert any(t.get("column_name") == "uscc" for t in by_name.get("valid_uscc", [])), name
        if "street_code" in node["columns"]:
            assert any(t.get("column_name") == "street_code" for t in by_name.get("relationships", [])), name
        for t in tests:
            assert t["config"]["severity"].lower() == "error", f"{name}: {t['name']} must block publication"


def test_staging_dirt_only_warns(dbt_session):
    manifest = dbt_session["manifest"]
    staged = [n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["fqn"][1] == "staging"]
    identifier_tests = [t for name in staged for t in _tests_on(manifest, name)
                        if t["test_metadata"]["name"] in ("valid_uscc", "valid_id_number", "valid_division_code")]
    assert identifier_tests and all(t["config"]["severity"].lower() == "warn" for t in identifier_tests)


def test_sources_and_quarantine_cover_the_registry(dbt_session):
    manifest = dbt_session["manifest"]
    registry = load_registry()
    raw = {n["name"] for n in manifest["sources"].values() if n["source_name"] == "raw"}
    assert raw == set(registry)
    staged = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["fqn"][1] == "staging"}
    assert staged == {f"stg_{s}" for s in registry}
    quarantine = manifest["nodes"]["model.sudata.int_quarantined_rows"]
    assert {f"model.sudata.stg_{s}" for s in registry} <= set(quarantine["depends_on"]["nodes"])


def test_each_mart_depends_only_on_the_sources_it_publishes(dbt_session):
    """A late or broken drop must hold back only the datasets built from it (the quality gate blocks a
    dataset whose upstream sources are not fresh), so no shared model may fan every source into every mart."""
    manifest = dbt_session["manifest"]

    def sources_of(uid: str) -> set[str]:
        out, stack, seen = set(), [uid], set()
        while stack:
            for parent in manifest["parent_map"].get(stack.pop(), []):
                if parent not in seen:
                    seen.add(parent)
                    if parent.startswith("source."):
                        out.add(manifest["sources"][parent]["name"])
                    else:
                        stack.append(parent)
        return out

    lineage = {name: sources_of(node["unique_id"]) for name, node in _marts(manifest).items()}
    composed = {
        "enterprise_registry": {"enterprise_registrations", "enterprise_changes"},
        "enterprise_contacts": {"enterprise_registrations"},
        "enterprise_credit_profile": {"enterprise_registrations", "enterprise_changes",
                                      "administrative_licences", "administrative_penalties"},
        "administrative_licences": {"administrative_licences", "enterprise_registrations"},
        "administrative_penalties": {"administrative_penalties", "enterprise_registrations"},
        "air_quality_daily": {"air_quality_hourly"},
        "scenic_spot_visitors": {"scenic_visitors_daily", "scenic_spots"},
        "service_hall_daily": {"service_hall_transactions"},
        "grassroots_facility_contacts": {"schools", "medical_institutions", "elderly_care_facilities"},
    }
    for name, sources in lineage.items():
        assert sources == composed.get(name, {name}), name


def test_govern_refuses_a_model_without_an_open_type(dbt_session):
    with pytest.raises(AssertionError, match="open_type"):
        dbt_session["compile"]("select {{ sudata.govern('phone', 'phone') }} from (select '13812345678' as phone)")


# --- one build over a made-up lake ---------------------------------------------------------------------

LINEAGE_TYPES = {"_source_file": pa.string(), "_source_sha256": pa.string(), "_drop_date": pa.date32(),
                 "_loaded_at": pa.timestamp("us"), "_row_number": pa.int64()}


def _land(lake: Path, source, drop: str, rows: list[dict]) -> None:
    """One drop of one source, as ingestion lands it: registry columns as text plus lineage."""
    from sudata.ingest.land import arrow_schema

    schema = arrow_schema(source)
    names = [c.name for c in source.columns]
    data = {n: [r.get(n) for r in rows] for n in names}
    data["_source_file"] = [f"{source.folder}/{drop}/{source.id}.{source.format}"] * len(rows)
    data["_source_sha256"] = [hashlib.sha256(drop.encode()).hexdigest()] * len(rows)
    data["_drop_date"] = [date.fromisoformat(drop)] * len(rows)
    data["_loaded_at"] = [datetime(2026, 11, 25, 1, 0)] * len(rows)
    data["_row_number"] = list(range(1, len(rows) + 1))
    folder = lake / "raw" / source.id
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(data, schema=schema), folder / f"{drop}.parquet")


def _body(prefix: str, n: int) -> str:
    body = f"{prefix}{n:09d}"[:17]
    return body + uscc.calc_check_digit(body)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A lake with a few rows of known dirt, built through the whole project with `dbt build`."""
    from sudata.ingest.land import ensure_empty_partition
    from sudata.settings import Paths

    home = tmp_path_factory.mktemp("dbt_build")
    paths = Paths(home=home, raw=home / "raw")
    registry = load_registry()
    for source in registry.values():
        ensure_empty_partition(paths, source)
    lake = paths.lake

    a, c = _body("91320508", 1), _body("91320583", 3)
    bad = _body("91320506", 2)
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    rep_id = _ric("320508", date(1990, 3, 1), 12)
    fullwidth_c = "\u3000" + c.translate({i: i + 0xFEE0 for i in range(0x21, 0x7F)})
    _land(lake, registry["enterprise_registrations"], "2026-11-23", [
        {"uscc": a, "enterprise_name": "苏州甲科技有限公司", "legal_representative": "张三丰", "legal_rep_id_number": rep_id,
         "registered_capital": "1,200", "established_date": "2020/01/05", "status": "存续",
         "address": "苏州市姑苏区平江街道干将东路1号", "contact_phone": "13812345678"},
        {"uscc": bad, "enterprise_name": "苏州乙有限公司", "address": "苏州市吴中区木渎镇中山路2号"},
        {"uscc": fullwidth_c, "enterprise_name": "昆山丙有限公司", "legal_representative": "李四",
         "registered_capital": "35万", "established_date": "2021年3月4日", "status": "存续",
         "address": "昆山市玉山镇前进路3号", "contact_phone": "0512-57001234"},
        {"uscc": _body("91320505", 4), "enterprise_name": None, "address": "苏州市虎丘区狮山街道4号"},
    ])
    _land(lake, registry["enterprise_registrations"], "2026-11-24", [
        {"uscc": a, "enterprise_name": "苏州甲科技股份有限公司", "legal_representative": "张三丰", "legal_rep_id_number": rep_id,
         "registered_capital": "1200", "established_date": "2020-01-05", "status": "存续",
         "address": "苏州市姑苏区平江街道干将东路1号", "contact_phone": "13812345678"},
        {"uscc": c, "enterprise_name": "昆山丙有限公司", "status": "存续", "address": "昆山市玉山镇前进路3号"},
        {"uscc": c, "enterprise_name": "昆山丙有限公司", "status": "注销", "address": "昆山市玉山镇前进路3号"},
    ])
    _land(lake, registry["schools"], "2026-11-23", [
        {"school_code": "2132000001", "school_name": "苏州市姑苏区白洋湾实验小学", "street_code": "320504017",
         "address": "苏州市姑苏区白洋湾街道金筑街1号", "principal_name": "王五", "phone": "0512-65001234"},
        {"school_code": "2132000002", "school_name": "苏州市吴中区木渎实验小学", "street_code": "320599001",
         "address": "苏州市吴中区木渎镇中山路8号", "principal_name": "赵六", "phone": "13900001111"},
        {"school_code": "2132000003", "school_name": "无名学校", "street_code": "320508999", "address": "某路9号"},
        {"school_code": "2132000004", "school_name": "苏州高新区科技城实验小学", "street_code": None,
         "address": "苏州高新区科技城(东渚街道)科灵路5号"},
        {"school_code": "2132000005", "school_name": "苏州高新区东渚实验小学", "street_code": None,
         "address": "苏州高新区科技城（东渚街道）科灵路６号，近地铁站"},
    ])
    _land(lake, registry["air_quality_hourly"], "2026-11-23", [
        {"station_code": "1001A", "station_name": "南门", "district_code": "320502", "observed_at": "2026-11-23 00:00:00", "aqi": "50", "pm25": "30"},
        {"station_code": "1001A", "station_name": "南门", "district_code": "320502", "observed_at": "2026-11-23 01:00:00", "aqi": "60", "pm25": "35"},
        {"station_code": "1002A", "station_name": "旧站", "district_code": "320586", "observed_at": "2026-11-23 00:00:00", "aqi": "40"},
        {"station_code": "1003A", "station_name": "全市", "district_code": "320500", "observed_at": "2026年11月23日 2时", "aqi": "45"},
    ])

    env = {**os.environ, **DBT_ENV, "SUDATA_HOME": str(home)}
    env.pop("SUDATA_DBT_TARGET", None)
    dbt = Path(sys.executable).with_name("dbt")
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
              "--target-path", str(home / "target"), "--log-path", str(home / "logs"),
              # a handful of hourly rows per station: the HJ 663 hour count (tests/test_validity_rules.py) is lifted
              "--vars", "{min_valid_hours: 1}"]
    result = subprocess.run([str(dbt), "build", *common], env=env, capture_output=True, text=True, timeout=900)
    results = json.loads((home / "target" / "run_results.json").read_text())["results"]
    return {"home": home, "result": result, "results": results, "common": common, "env": env, "dbt": dbt,
            "codes": {"a": a, "bad": bad, "c": c, "rep_id": rep_id}}


def _query(built, sql: str) -> list[tuple]:
    with duckdb.connect(str(built["home"] / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.integration
def test_the_build_passes_with_warnings_only_on_staging(built):
    failed = [r["unique_id"] for r in built["results"] if r["status"] in ("error", "fail", "skipped")]
    assert built["result"].returncode == 0 and not failed, (failed, built["result"].stdout[-3000:])
    warned = {r["unique_id"].split(".")[2] for r in built["results"] if r["status"] == "warn"}
    assert warned and all("_stg_" in w for w in warned)


@pytest.mark.integration
def test_latest_correction_wins_and_values_are_cleaned(built):
    codes = built["codes"]
    rows = dict((r[0], r[1:]) for r in _query(built, """
        select uscc, enterprise_name, status, legal_representative, contact_phone, registered_capital_10k_cny,
               established_date, street_code, district_code
        from main.enterprise_registry"""))
    assert set(rows) == {codes["a"], codes["c"]}
    assert rows[codes["a"]] == ("苏州甲科技股份有限公司", "存续", "张**", "138****5678", Decimal("1200"),
                                date(2020, 1, 5), "320508018", "320508")
    # the full-width, space-padded code was normalised; within one drop the later row wins
    assert rows[codes["c"]][1] == "注销" and rows[codes["c"]][6:] == ("320583100", "320583")


@pytest.mark.integration
def test_closed_dataset_has_clear_contacts_and_only_a_pseudonym(built):
    codes = built["codes"]
    (row,) = _query(built, f"select legal_representative, contact_phone, legal_rep_pseudonym from main.enterprise_contacts "
                           f"where uscc = '{codes['a']}'")
    assert row == ("张三丰", "13812345678", hashlib.sha256(f"sudata:{codes['rep_id']}".encode()).hexdigest())


@pytest.mark.integration
def test_street_codes_are_remapped_or_derived_from_the_address(built):
    rows = dict(_query(built, "select school_code, street_code from main.schools"))
    assert rows == {
        "2132000001": "320508017",     # 320504017: a 姑苏区 street under 金阊区's pre-2012 code
        "2132000002": "320506103",     # made-up code: 木渎镇 found in the address
        "2132000004": "320505407",     # no code: 科技城（东渚街道） found in the address
        "2132000005": "320505407",     # the same, written with full-width punctuation
    }
    (address,) = _query(built, "select address from main.schools where school_code = '2132000005'")
    assert address == ("苏州高新区科技城（东渚街道）科灵路6号，近地铁站",)
    (origin,) = _query(built, "select street_code_origin from main.int_schools__deduped where school_code = '2132000001'")
    assert origin == ("remapped",)


@pytest.mark.integration
def test_air_quality_maps_retired_district_codes(built):
    rows = _query(built, "select station_code, district_code, hours_reported, aqi_mean from main.air_quality_daily order by 1")
    assert rows == [("1001A", "320508", 2, 55), ("1003A", "320500", 1, 45)]


@pytest.mark.integration
def test_quarantine_lists_every_rejected_row_with_its_reason(built):
    rows = _query(built, "select source, primary_key, reason, _row_number, cast(_drop_date as varchar) "
                         "from main.int_quarantined_rows order by source, _row_number")
    codes = built["codes"]
    assert rows == [
        ("air_quality_hourly", "1002A|2026-11-23 00:00:00", "outdated_division_code:district_code", 3, "2026-11-23"),
        ("enterprise_registrations", codes["bad"], "invalid_uscc", 2, "2026-11-23"),
        ("enterprise_registrations", _body("91320505", 4), "missing_required:enterprise_name", 4, "2026-11-23"),
        ("schools", "2132000003", "unknown_division_code:street_code", 3, "2026-11-23"),
    ]


@pytest.mark.integration
def test_no_clear_pii_catches_a_leak(built):
    """Put a clear name, a clear mobile and a whole identity number (lower-case check character) in free text
    into a published table: the gate must fail on exactly those."""
    clear_id = next(i for i in (_ric("320505", date(1980, 5, 17), seq) for seq in range(1000)) if i.endswith("X"))
    with duckdb.connect(str(built["home"] / "warehouse.duckdb")) as con:
        con.execute("update main.enterprise_registry set legal_representative = '张三丰', contact_phone = '13812345678'")
        con.execute("update main.enterprise_registry set business_scope = ? where uscc = (select min(uscc) from "
                    "main.enterprise_registry)", [clear_id.lower()])
    result = subprocess.run([str(built["dbt"]), "test", "--select", "enterprise_registry,test_name:no_clear_pii",
                             *built["common"]], env=built["env"], capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    results = json.loads((built["home"] / "target" / "run_results.json").read_text())["results"]
    (outcome,) = [r for r in results if r["unique_id"].startswith("test.")]
    assert outcome["status"] == "fail" and outcome["failures"] == 5   # 2 rows × (name + phone), 1 identity number


@pytest.mark.integration
def test_failing_mart_tests_name_the_keys_of_their_rows(built):
    """A mart test stores its failing rows (as a view); the gate reads the failing rows' keys from there:
    the whole row for a row-level test, the repeated value for `unique`, never other columns."""
    from sudata.quality.dbt_failures import failing_keys

    with duckdb.connect(str(built["home"] / "warehouse.duckdb")) as con:
        con.execute("update main.schools set school_name = null where school_code = '2132000001'")
        con.execute("insert into main.schools select * from main.schools where school_code = '2132000004'")
        con.execute("update main.schools set street_code = '320599999' where school_code = '2132000002'")
    result = subprocess.run([str(built["dbt"]), "test", "--select", "schools", *built["common"]],
                            env=built["env"], capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    results = json.loads((built["home"] / "target" / "run_results.json").read_text())["results"]
    failed = {r["unique_id"].split(".")[2] for r in results if r["status"] == "fail"}
    assert {"not_null_schools_school_name", "unique_schools_school_code"} <= failed, failed
    assert any(f.startswith("valid_division_code_schools_street_code") for f in failed), failed
    manifest = json.loads((built["home"] / "target" / "manifest.json").read_text())
    tests = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    with duckdb.connect(str(built["home"] / "warehouse.duckdb"), read_only=True) as con:
        name = tests["not_null_schools_school_name"]
        assert failing_keys(con, name["relation_name"], ["school_code"]) == [{"school_code": "2132000001"}]
        unique = tests["unique_schools_school_code"]
        rule = {"test": "unique", "columns": ["school_code"]}
        assert failing_keys(con, unique["relation_name"], ["school_code"], rule) == [{"school_code": "2132000004"}]
        # the project's own row-level tests keep the whole row when failures are stored
        division = next(n for k, n in tests.items() if k.startswith("valid_division_code_schools_street_code"))
        assert failing_keys(con, division["relation_name"], ["school_code"]) == [{"school_code": "2132000002"}]
        # dbt's relationships keeps only the offending value: no key to name, so none is invented
        related = next(n for k, n in tests.items() if k.startswith("relationships_schools_street_code"))
        assert failing_keys(con, related["relation_name"], ["school_code"]) == []
    # the dbt step hands these keys to the gate with the failing tests' results
    from orchestration.assets.transform import _name_failing_keys
    from orchestration.resources import SudataResource

    results = {"schools": [{"name": "not_null_schools_school_name", "status": "fail", "rule": None},
                           {"name": "not_null_schools_school_code", "status": "pass", "rule": None}]}
    _name_failing_keys(SudataResource(home=str(built["home"])), results)
    assert results["schools"][0]["failing_keys"] == [{"school_code": "2132000001"}]
    assert "failing_keys" not in results["schools"][1]
