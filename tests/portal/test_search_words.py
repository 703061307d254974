"""Chinese word search over the sample's own catalog entries: what citizens type finds its datasets.

The catalog is built from the entries the pipeline publishes (the dbt manifest's ``meta.catalog`` and
column texts), so a change of a dataset's wording or of the tokenisation shows here.
"""

from __future__ import annotations

import json

import pytest

from portal.catalog import Version, build_snapshot
from portal.search import search
from portal.text import index_tokens, query_terms


@pytest.fixture(scope="module")
def sample_catalog():
    from orchestration.project import ensure_manifest
    from sudata.datasets import load_datasets

    specs = load_datasets(ensure_manifest())
    rows, versions = [], {}
    for spec in specs.values():
        if spec.open_type == "closed":
            continue
        e = spec.entry()
        rows.append({
            "name": e.name, "title": e.title, "title_en": e.title_en, "description": e.description,
            "department": e.department, "department_name": e.department_name, "domain": e.domain,
            "open_type": e.open_type, "security_grade": e.security_grade, "update_frequency": e.update_frequency,
            "scope_column": e.scope_column, "tags": json.dumps(e.tags, ensure_ascii=False),
            "columns": json.dumps(e.columns, ensure_ascii=False), "meta": json.dumps(e.meta, ensure_ascii=False),
            "current_version": 1, "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-02T00:00:00+00:00", "v_quality": "{}", "v_schema": "{}",
        })
        versions[e.name] = [Version(1, "2026-01-02T00:00:00+00:00", 10, f"datasets/{e.name}/v000001", "{}",
                                    None, None, True, 1.0, "{}")]
    snap = build_snapshot(rows, versions)
    assert snap.size >= 15
    return snap


def hits(snap, q: str, rows: int = 50) -> list[str]:
    r = search(snap, q=q, rows=rows)
    return [snap.datasets[p].name for p in r.positions]


# query → the dataset it must find first (the one a citizen means)
TOP_HITS = {
    "养老机构": "elderly_care_facilities",
    "养老院": "elderly_care_facilities",
    "景区游客": "scenic_spot_visitors",
    "游客人次": "scenic_spot_visitors",
    "旅游景点": "scenic_spots",
    "招聘信息": "job_postings",
    "社区居委会": "communities",
    "村委会": "communities",
    "企业变更": "enterprise_registry",
    "医院": "medical_institutions",
    "卫生院": "medical_institutions",
    "停车场": "public_parking",
    "公交车站": "bus_stops",
    "空气质量": "air_quality_daily",
    "学校": "schools",
    "行政处罚": "administrative_penalties",
    "政务服务大厅": "service_hall_daily",
    "便民服务中心办件": "service_hall_daily",
}


@pytest.mark.parametrize("query, expected", sorted(TOP_HITS.items()))
def test_a_citizens_query_finds_its_dataset_first(sample_catalog, query, expected):
    found = hits(sample_catalog, query)
    assert found, f"{query!r} finds nothing"
    assert found[0] == expected, (query, found)


def test_every_word_of_a_query_must_match(sample_catalog):
    # 景区 alone finds the scenic spots and their visitors; 游客 narrows to the visitors
    assert set(hits(sample_catalog, "企业变更")) == {"enterprise_registry", "enterprise_credit_profile"}
    assert {"scenic_spots", "scenic_spot_visitors"} <= set(hits(sample_catalog, "景区"))
    assert hits(sample_catalog, "景区游客") == ["scenic_spot_visitors"]
    assert hits(sample_catalog, "火星基地") == []
    assert hits(sample_catalog, "养老 火星") == []


def test_ranking_puts_the_title_match_above_a_mention(sample_catalog):
    # 企业 is in many entries (credit codes, employers); the registry of enterprises ranks first
    found = hits(sample_catalog, "企业登记")
    assert found[0] == "enterprise_registry", found
    assert "enterprise_credit_profile" in found   # it counts 变更登记 of each enterprise
    scores = search(sample_catalog, q="企业登记", rows=50)
    assert scores.count == len(found)


def test_a_long_word_matches_itself_or_its_pieces_and_a_synonym_its_group():
    # one dictionary word; a text may hold it whole or spelled out in its pieces
    assert query_terms("统一社会信用代码") == [
        ((("统一社会信用代码",),), (("统一",), ("社会",), ("信用",), ("代码",)))]
    # 车站 is what people type, 站点 what the catalog says (search_synonyms.txt)
    [term] = query_terms("公交车站")
    assert (("公交", "公共交通", "巴士"), ("车站", "站点")) in term
    tokens = index_tokens("苏州市城乡社区（居委会、村委会）名录")
    assert {"社区", "居委会", "村委会", "名录"} <= set(tokens)
    # Latin words keep their parts
    assert {"street_code", "street", "code"} <= set(index_tokens("street_code"))


def test_title_queries_match_titles_only(sample_catalog):
    # 统一社会信用代码 is a column of several datasets, in no title
    assert hits(sample_catalog, "统一社会信用代码")
    assert hits(sample_catalog, "title:统一社会信用代码") == []
    assert hits(sample_catalog, "title:养老院") == ["elderly_care_facilities"]
    assert set(hits(sample_catalog, "title:景区")) == {"scenic_spots", "scenic_spot_visitors"}
    r = search(sample_catalog, q="*:*", fq=["title:行政"], rows=50)
    assert {sample_catalog.datasets[p].name for p in r.positions} == {"administrative_licences", "administrative_penalties"}


def test_a_repeated_query_answers_as_the_first_time_from_the_snapshot_cache(sample_catalog):
    from portal.search import QueryCache, _parse_query, parse_query

    snap = sample_catalog
    snap.cache.pop("queries", None)
    queries = [("养老机构", True), ("企业 OR 景区", True), ("NOT 景区", True), ("organization:mzj", False)]
    for text, free in queries:
        fresh = _parse_query(snap, text, free)
        first = parse_query(snap, text, free)
        first[0][:] = False  # a caller narrows its mask in place (fq after q): the cache must not see it
        first[1][:] = 0.0
        again = parse_query(snap, text, free)
        assert (again[0] == fresh[0]).all() and (again[1] == fresh[1]).all(), text
    cache = snap.cache["queries"]
    assert isinstance(cache, QueryCache) and len(cache._items) == len(queries)  # noqa: SLF001
    # a bound relative to the clock is worked out again each time
    parse_query(snap, "metadata_modified:[NOW-1DAY TO NOW]", False)
    assert len(cache._items) == len(queries)  # noqa: SLF001
    small = QueryCache(size=2)  # bounded: the least recently used query goes first
    for text in ("学校", "医院", "学校", "停车场"):
        small.get(snap, text, True)
    assert list(small._items) == [("学校", True), ("停车场", True)]  # noqa: SLF001
