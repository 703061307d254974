"""package_search: full text (Chinese included), fq, sort, paging, facets and count."""

from __future__ import annotations

import json

from .synthetic import SPECS

VISIBLE = [s for s in SPECS if s.open_type != "closed"]


def names(result) -> list[str]:
    return [p["name"] for p in result["results"]]


def test_no_query_returns_everything_visible_with_default_rows(api):
    r = api("package_search")
    assert r["count"] == len(VISIBLE)
    assert len(r["results"]) == 10
    assert not {"resident_register", "case_records"} & set(names(api("package_search", rows=100)))


def test_chinese_full_text_over_titles_descriptions_tags_and_columns(api):
    # title
    assert set(names(api("package_search", q="公交"))) == {"bus_routes", "bus_stops"}
    # multi-character Chinese: every bigram must match ("空气质量" is in one title)
    assert names(api("package_search", q="空气质量")) == ["air_quality_daily"]
    # description only: "太湖" appears only in water_quality's description
    assert names(api("package_search", q="太湖")) == ["water_quality"]
    # tag only: "保障房" is a tag of housing_projects
    assert names(api("package_search", q="保障房")) == ["housing_projects"]
    # column name and column title
    assert names(api("package_search", q="uscc")) == ["enterprise_registry"]
    assert names(api("package_search", q="统一社会信用代码")) == ["enterprise_registry"]
    # English title, case-insensitive
    assert names(api("package_search", q="AIR quality")) == ["air_quality_daily"]
    # several words: all must match
    assert names(api("package_search", q="公交 站点")) == ["bus_stops"]
    # nothing
    assert api("package_search", q="火星基地")["count"] == 0
    # closed datasets are not searchable either
    assert api("package_search", q="户籍")["count"] == 0


def test_relevance_puts_title_matches_first(api):
    r = api("package_search", q="许可")  # in the titles of 3 and in tags/descriptions of others
    top = names(r)[:3]
    assert set(top) == {"food_license", "pollution_permits", "construction_permits"}
    assert r["sort"].startswith("score desc")


def test_fq_fields(api):
    r = api("package_search", fq="organization:jtysj", rows=100)
    assert set(names(r)) == {"bus_routes", "bus_stops", "taxi_operations"}
    r = api("package_search", fq='tags:"公共交通"', rows=100)
    assert set(names(r)) == {"bus_routes", "bus_stops"}
    r = api("package_search", fq="open_type:conditional", rows=100)
    assert set(names(r)) == {s.name for s in VISIBLE if s.open_type == "conditional"}
    r = api("package_search", fq="res_format:CSV", rows=100)
    assert r["count"] == len(VISIBLE)
    assert api("package_search", fq="res_format:XLSX")["count"] == 0
    # combined with q, AND between clauses, OR groups, negation
    assert set(names(api("package_search", q="运营", fq="organization:jtysj"))) == {"bus_routes", "taxi_operations"}
    assert names(api("package_search", q="运营", fq="open_type:conditional")) == ["taxi_operations"]
    r = api("package_search", fq="organization:jtysj AND -tags:站点", rows=100)
    assert set(names(r)) == {"bus_routes", "taxi_operations"}
    r = api("package_search", fq="organization:(jtysj OR jyj)", rows=100)
    assert set(names(r)) == {"bus_routes", "bus_stops", "taxi_operations", "schools", "kindergartens"}
    r = api("package_search", fq="+organization:jyj +open_type:unconditional", rows=100)
    assert set(names(r)) == {"schools", "kindergartens"}
    # fq_list and the filters CKAN adds itself
    r = api("package_search", method="POST", fq_list=["organization:jtysj", "open_type:unconditional"],
            fq="+dataset_type:dataset", rows=100)
    assert set(names(r)) == {"bus_routes", "bus_stops"}


def test_metadata_modified_range_as_harvesters_send_it(api):
    everything = api("package_search", rows=1000, sort="metadata_modified asc")["results"]
    times = [p["metadata_modified"] for p in everything]
    assert times == sorted(times)
    cut = times[len(times) // 2]
    r = api("package_search", fq=f"metadata_modified:[{cut}Z TO *]", rows=1000)
    assert r["count"] == sum(1 for t in times if t >= cut)
    assert all(p["metadata_modified"] >= cut for p in r["results"])
    r = api("package_search", fq=f"metadata_modified:{{{cut}Z TO *]", rows=1000)  # exclusive bound
    assert r["count"] == sum(1 for t in times if t > cut)
    assert api("package_search", fq="metadata_modified:[* TO NOW]")["count"] == len(VISIBLE)
    assert api("package_search", fq="metadata_modified:[NOW TO *]")["count"] == 0
    api.error("package_search", 400, "Search Query Error", fq="metadata_modified:[yesterday TO *]")


def test_sorts(api):
    r = api("package_search", sort="metadata_modified desc", rows=1000)["results"]
    assert [p["metadata_modified"] for p in r] == sorted((p["metadata_modified"] for p in r), reverse=True)
    r = api("package_search", sort="id asc", rows=1000)["results"]
    assert [p["id"] for p in r] == sorted(p["id"] for p in r)
    r = api("package_search", sort="title_string asc", rows=1000)["results"]
    assert [p["title"] for p in r] == sorted(p["title"] for p in r)
    r = api("package_search", q="公交", sort="score desc, metadata_modified desc")
    assert r["count"] == 2


def test_paging_with_rows_and_start(api):
    full = names(api("package_search", sort="name asc", rows=1000))
    pages = []
    for start in range(0, len(full), 4):
        pages += names(api("package_search", sort="name asc", rows=4, start=start))
    assert pages == full
    assert api("package_search", rows=0)["results"] == []
    assert api("package_search", rows=0)["count"] == len(VISIBLE)
    assert api("package_search", start=1000)["results"] == []
    assert len(api("package_search", rows=5000)["results"]) == len(VISIBLE)  # capped at 1000, not an error


def test_facets(api):
    r = api("package_search", q="公交", **{"facet.field": json.dumps(["organization", "tags", "res_format"])})
    assert r["facets"]["organization"] == {"jtysj": 2}
    items = r["search_facets"]["organization"]["items"]
    assert items == [{"name": "jtysj", "display_name": "苏州市交通运输局", "count": 2}]
    assert r["facets"]["tags"]["公交"] == 2 and r["facets"]["tags"]["站点"] == 1
    assert r["facets"]["res_format"] == {"CSV": 2, "Parquet": 2, "JSON": 2}
    r = api("package_search", **{"facet.field": '["open_type", "domain", "update_frequency"]', "facet.limit": 2})
    assert r["facets"]["open_type"] == {
        "unconditional": sum(1 for s in VISIBLE if s.open_type == "unconditional"),
        "conditional": sum(1 for s in VISIBLE if s.open_type == "conditional"),
    }
    assert len(r["search_facets"]["domain"]["items"]) == 2
    counts = [i["count"] for i in r["search_facets"]["domain"]["items"]]
    assert counts == sorted(counts, reverse=True)
    assert "resident_register" not in json.dumps(r, ensure_ascii=False)
    assert "公共安全" not in r["facets"]["domain"]


def test_query_syntax_errors_are_search_query_errors(api):
    for fq in ("organization:(jtysj", "organization:", "(", "just words"):
        api.error("package_search", 400, "Search Query Error", fq=fq)
    api.error("package_search", 400, "Search Query Error", q="nosuch:field")
    api.error("package_search", 400, "Search Query Error", **{"facet.field": '["nosuch"]'})


def test_fl_returns_only_the_fields_asked_for(api):
    r = api("package_search", q="公交", fl="id,name,metadata_modified", rows=5)
    assert r["count"] == 2
    assert all(set(p) == {"id", "name", "metadata_modified"} for p in r["results"])
    assert {p["name"] for p in r["results"]} == {"bus_routes", "bus_stops"}
    assert set(api("package_search", q="公交", fl="*")["results"][0]) > {"id", "name", "resources"}
