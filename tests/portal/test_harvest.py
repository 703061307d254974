"""Harvesting: the project's own portal as a remote CKAN (served on loopback), DCAT-AP documents in
standard form (JSON-LD and Turtle) and DCAT-US data.json; harvested entries in search, facets,
package_show and DCAT, marked as harvested; re-harvest adds nothing, a removal withdraws, a broken record
is reported, a job past its timeout withdraws nothing."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import warnings
from contextlib import closing
from pathlib import Path

import pytest

from portal.app import create_app
from portal.catalog import load_snapshot
from portal.search import search
from sudata.harvest.job import run_job
from sudata.harvest.sources import HarvestConfigError, HarvestSource, load_sources
from sudata.harvest.store import HarvestStore
from sudata.settings import Paths
from sudata.store import PublishedStore

from .conftest import free_port, start_server
from .synthetic import build_store, spec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "harvest"
REMOTE = [spec(n) for n in ("bus_stops", "bus_routes", "food_license", "taxi_operations", "air_quality_daily",
                            "resident_register")]
VISIBLE = {s.name for s in REMOTE if s.open_type != "closed"}


def source(kind: str, url: str, id: str = "remote", **kw) -> HarvestSource:
    return HarvestSource(id=id, title="测试来源", kind=kind, url=url, organization="wuzhong_data",
                         organization_title="吴中区数据局", **kw)


def local_paths(tmp_path: Path) -> Paths:
    home = tmp_path / "home"
    (home / "published").mkdir(parents=True)
    return Paths(home=home, raw=tmp_path / "raw")


def snapshot(paths: Paths):
    return load_snapshot(PublishedStore(paths.published))


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """A second portal, with its own store, as the CKAN another district runs."""
    home = tmp_path_factory.mktemp("remote-home")
    build_store(home / "published", REMOTE)
    port = free_port()
    proc = start_server(home, port)
    yield f"http://127.0.0.1:{port}", PublishedStore(home / "published")
    proc.terminate()
    proc.wait(timeout=15)


def _wait_for_refresh(url: str, expect_count: int) -> None:
    import time

    import httpx

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/api/3/action/package_search", params={"rows": 0}).json()["result"]["count"] == expect_count:
            return
        time.sleep(0.2)
    raise AssertionError("the remote portal did not pick up the change")


def test_harvest_a_ckan_portal_then_reharvest_update_and_withdraw(remote, tmp_path):
    url, remote_store = remote
    paths = local_paths(tmp_path)
    src = source("ckan", url, page_size=2)   # several pages

    first = run_job(src, paths)
    assert first.ok, first.message
    assert first.counts["added"] == len(VISIBLE) and first.errors == []
    snap = snapshot(paths)
    names = {d.harvest["remote_id"]: d for d in snap.datasets if d.harvest}
    assert len(names) == len(VISIBLE)
    bus = next(d for d in snap.datasets if d.harvest and d.name == "remote--bus_stops")
    assert bus.title == "公交站点" and bus.department == "wuzhong_data"
    assert bus.harvest["original_url"] == f"{url}/dataset/bus_stops"
    assert bus.harvest["resources"] and all(r["url"].startswith(url) for r in bus.harvest["resources"])
    ids_before = {d.name: d.id for d in snap.datasets}

    # re-harvest: nothing new at the source, nothing added or changed here
    again = run_job(src, paths)
    assert again.ok and again.counts["added"] == 0 and again.counts["updated"] == 0
    assert again.counts["withdrawn"] == 0
    assert {d.name: d.id for d in snapshot(paths).datasets} == ids_before   # stable ids

    # the source changes one entry and removes another (closes it: it leaves the open catalog)
    with closing(sqlite3.connect(remote_store.index_path)) as con:
        con.execute("update datasets set title = '公交站点（更新）', updated_at = '2030-01-01T00:00:00+00:00'"
                    " where name = 'bus_stops'")
        con.execute("update datasets set open_type = 'closed' where name = 'food_license'")
        con.commit()
    _wait_for_refresh(url, len(VISIBLE) - 1)
    third = run_job(src, paths)
    assert third.ok
    assert third.counts["updated"] == 1 and third.counts["added"] == 0 and third.counts["withdrawn"] == 1
    snap = snapshot(paths)
    assert snap.get("remote--bus_stops").title == "公交站点（更新）"
    assert snap.get("remote--food_license") is None
    [withdrawn] = HarvestStore(PublishedStore(paths.published)).entries("remote", state="withdrawn")
    assert withdrawn["remote_name"] == "food_license" and withdrawn["withdrawn_at"]
    jobs = HarvestStore(PublishedStore(paths.published)).jobs("remote")
    assert [j["status"] for j in jobs] == ["finished"] * 3


def test_harvested_entries_in_search_facets_package_show_and_dcat(remote, tmp_path):
    url, _ = remote
    paths = local_paths(tmp_path)
    district = run_job(source("ckan", url, id="district"), paths)
    assert district.ok and district.counts["added"] >= len(VISIBLE) - 1
    assert run_job(source("dcat", str(FIXTURES / "dataset_multilingual.ttl"), id="europe"), paths).ok

    snap = snapshot(paths)
    r = search(snap, q="公交站点", rows=50, facet_fields=["harvest_source"])
    assert "district--bus_stops" in [snap.datasets[p].name for p in r.positions]
    r = search(snap, rows=0, facet_fields=["harvest_source", "organization"])
    assert dict(r.facets["harvest_source"]) == {"district": district.counts["added"], "europe": 1}
    assert dict(r.facets["organization"]) == {"wuzhong_data": district.counts["added"] + 1}

    with TestClient(create_app(paths)) as client:
        res = client.get("/api/3/action/package_search", params={"fq": "harvest_source:europe"}).json()["result"]
        assert res["count"] == 1
        pkg = res["results"][0]
        assert pkg["title"] == "Test DCAT dataset" and pkg["url"] == "http://example.org/ds1"
        extras = {e["key"]: e["value"] for e in pkg["extras"]}
        assert extras["harvested"] == "true" and extras["harvest_source_id"] == "europe"
        assert extras["guid"] == "0112cf32-bce0-4071-9504-923375f9f2ad"
        assert [x["url"] for x in pkg["resources"]] == ["https://example.com/data.csv"]

        show = client.get("/api/3/action/package_show", params={"id": "district--bus_stops"}).json()["result"]
        assert show["organization"]["name"] == "wuzhong_data"
        assert {e["key"]: e["value"] for e in show["extras"]}["harvest_url"] == f"{url}/dataset/bus_stops"

        node = client.get("/dataset/district--bus_stops.jsonld").json()
        graph = node.get("@graph", [node])
        ds = next(n for n in graph if n.get("@type") == "dcat:Dataset")
        assert ds["dcat:landingPage"]["@id"] == f"{url}/dataset/bus_stops"
        assert ds["prov:wasDerivedFrom"] == {"@id": f"{url}/dataset/bus_stops"}

        page = client.get("/dataset/district--bus_stops")
        assert page.status_code == 200 and "汇聚" in page.text and f"{url}/dataset/bus_stops" in page.text
        listing = client.get("/", params={"q": "公交站点"}).text
        assert "district--bus_stops" in listing

        us = client.get("/data.json").json()
        harvested = [d for d in us["dataset"] if d["landingPage"] == "http://example.org/ds1"]
        assert len(harvested) == 1 and harvested[0]["distribution"][0]["accessURL"] == "https://example.com/data.csv"


def test_dcat_ap_in_json_ld_and_turtle_and_dcat_us(tmp_path):
    paths = local_paths(tmp_path)
    graph = run_job(source("dcat", str(FIXTURES / "catalog_with_at_graph.jsonld"), id="at_graph"), paths)
    ttl = run_job(source("dcat", str(FIXTURES / "dataset_multilingual.ttl"), id="turtle"), paths)
    pod = run_job(source("datajson", str(FIXTURES / "catalog_pod.jsonld"), id="pod"), paths)
    assert graph.ok and ttl.ok and pod.ok
    snap = snapshot(paths)
    by_source = {}
    for d in snap.datasets:
        by_source.setdefault(d.harvest["source"], []).append(d)
    [g] = by_source["at_graph"]
    assert g.title == "Title dataset"
    assert g.harvest["original_url"] == "https://ckan.example.org/dataset/d4ce4e6e-ab89-44cb-bf5c-33a162c234de#dataset"
    assert g.harvest["resources"][0]["url"] == "http://example2.org/files/download.zip"
    [t] = by_source["turtle"]
    assert t.title == "Test DCAT dataset" and {"Oaks", "Pines"} <= set(t.tags)   # English over other languages
    assert t.updated_at.startswith("2024-05-05")
    [p] = by_source["pod"]
    assert p.title == "U.S. Widget Manufacturing Statistics" and p.update_frequency == "每年"
    assert len(p.harvest["resources"]) >= 3


def _dcat_doc(datasets: list[dict]) -> str:
    return json.dumps({
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/"},
        "@graph": [{"@id": f"https://data.js.gov.cn/dataset/{d['id']}", "@type": "dcat:Dataset",
                    "dct:identifier": d["id"], **({"dct:title": {"@value": d["title"], "@language": "zh"}}
                                                    if d.get("title") else {}),
                    "dct:modified": {"@value": d.get("modified", "2026-01-01T00:00:00Z"),
                                     "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
                    "dcat:keyword": [{"@value": k, "@language": "zh"} for k in d.get("keywords", [])],
                    "dcat:landingPage": {"@id": f"https://data.js.gov.cn/dataset/{d['id']}"}}
                   for d in datasets]}, ensure_ascii=False)


def test_a_broken_record_is_reported_and_a_removal_withdraws(tmp_path):
    paths = local_paths(tmp_path)
    doc = tmp_path / "catalog.jsonld"
    doc.write_text(_dcat_doc([
        {"id": "js-001", "title": "江苏省养老机构名录", "keywords": ["养老"]},
        {"id": "js-002", "title": "江苏省旅游景区名录"},
        {"id": "js-003"},                                            # no title
        {"id": "js-004", "title": "江苏省招聘信息", "modified": "去年"},   # not a time
    ]), "utf-8")
    src = source("dcat", str(doc), id="jiangsu")
    first = run_job(src, paths)
    assert first.ok and first.counts["added"] == 2
    assert sorted((e["remote_id"], e["reason"]) for e in first.errors) == [
        ("js-003", "no title"), ("js-004", "modified time '去年' is not ISO 8601")]
    snap = snapshot(paths)
    assert [snap.datasets[p].title for p in search(snap, q="养老机构").positions] == ["江苏省养老机构名录"]
    [job] = HarvestStore(PublishedStore(paths.published)).jobs("jiangsu")
    assert job["invalid"] == 2 and job["status"] == "finished"

    assert run_job(src, paths).counts == {"gathered": 4, "added": 0, "updated": 0, "unchanged": 2, "withdrawn": 0}

    doc.write_text(_dcat_doc([{"id": "js-002", "title": "江苏省旅游景区名录"}]), "utf-8")
    third = run_job(src, paths)
    assert third.counts["withdrawn"] == 1 and third.errors == []
    assert [d.title for d in snapshot(paths).datasets] == ["江苏省旅游景区名录"]

    # it comes back at the source: listed again, under the same id
    before = HarvestStore(PublishedStore(paths.published)).entries("jiangsu", state=None)
    doc.write_text(_dcat_doc([{"id": "js-001", "title": "江苏省养老机构名录", "modified": "2026-02-01T00:00:00Z"},
                              {"id": "js-002", "title": "江苏省旅游景区名录"}]), "utf-8")
    assert run_job(src, paths).counts["updated"] == 1
    after = {e["remote_id"]: e for e in HarvestStore(PublishedStore(paths.published)).entries("jiangsu")}
    assert after["js-001"]["id"] == next(e["id"] for e in before if e["remote_id"] == "js-001")


def test_a_job_past_its_timeout_imports_and_withdraws_nothing(tmp_path):
    paths = local_paths(tmp_path)
    doc = tmp_path / "catalog.jsonld"
    doc.write_text(_dcat_doc([{"id": "js-001", "title": "江苏省养老机构名录"}]), "utf-8")
    assert run_job(source("dcat", str(doc), id="slow"), paths).counts["added"] == 1
    with socket.socket() as silent:          # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        report = run_job(source("dcat", f"http://127.0.0.1:{port}/catalog.jsonld", id="slow", timeout_s=1.0), paths)
    assert report.status == "timed_out" and "nothing withdrawn" in report.message
    assert [d.title for d in snapshot(paths).datasets] == ["江苏省养老机构名录"]
    assert HarvestStore(PublishedStore(paths.published)).jobs("slow")[-1]["status"] == "timed_out"


def test_sources_are_declared_in_yaml_and_checked(tmp_path):
    declared = load_sources()
    assert declared and {s.kind for s in declared.values()} <= {"ckan", "dcat", "datajson"}
    bad = tmp_path / "sources.yml"
    bad.write_text("sources:\n  - {id: x1, title: t, kind: csw, url: http://a, organization: {id: o, name: n}}\n")
    with pytest.raises(HarvestConfigError, match="source x1: field 'kind'"):
        load_sources(bad)


def test_the_dagster_asset_runs_a_job_and_reports_invalid_records(tmp_path):
    import dagster as dg

    from orchestration.assets.harvest import build_harvest_assets, build_harvest_schedules
    from orchestration.resources import SudataResource

    doc = tmp_path / "catalog.jsonld"
    doc.write_text(_dcat_doc([{"id": "js-001", "title": "江苏省养老机构名录"}, {"id": "js-002"}]), "utf-8")
    sources = {"jiangsu": source("dcat", str(doc), id="jiangsu")}
    [asset] = build_harvest_assets(sources)
    [schedule] = build_harvest_schedules(sources)
    assert schedule.cron_schedule == "0 3 * * *" and schedule.execution_timezone == "Asia/Shanghai"
    home = tmp_path / "home"
    result = dg.materialize([asset], resources={"sudata": SudataResource(home=str(home), raw=str(tmp_path))})
    assert result.success
    [mat] = result.asset_materializations_for_node(asset.op.name)
    assert mat.metadata["added"].value == 1 and mat.metadata["invalid"].value == 1
    shutil.rmtree(home)
