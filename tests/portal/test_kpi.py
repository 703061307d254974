"""The KPI page and API: catalog entries (own, harvested, directory) against 10,000, high-quality
datasets (from the quality history) against 300, data products against 500, timeliness per department,
the openness plan, and the nightly records the history chart draws."""

from __future__ import annotations

import json
import sqlite3
import warnings
from contextlib import closing
from datetime import datetime, timedelta, timezone

from openpyxl import load_workbook

from portal.app import create_app
from sudata.directory import COLUMNS, Directory, write_template
from sudata.harvest.job import run_job
from sudata.harvest.sources import HarvestSource
from sudata.kpi import compute, latest, record
from sudata.settings import Paths

from .synthetic import build_store, spec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime(2026, 12, 3, 2, 30, tzinfo=timezone.utc)
NAMES = ["food_license", "bus_stops", "taxi_operations", "air_quality_daily", "pollution_permits", "resident_register"]


def _store(tmp_path):
    home = tmp_path / "home"
    store = build_store(home / "published", [spec(n) for n in NAMES])
    with closing(sqlite3.connect(store.index_path)) as con:
        # every gate run of taxi_operations is 40 days old: stale for a daily dataset, out of the quality window
        con.execute("update quality_runs set checked_at = ? where dataset = 'taxi_operations'",
                    ((NOW - timedelta(days=40)).isoformat(),))
        con.execute("update quality_runs set checked_at = ? where dataset != 'taxi_operations'",
                    ((NOW - timedelta(hours=3)).isoformat(),))
        con.commit()
    doc = tmp_path / "catalog.jsonld"
    doc.write_text(json.dumps({"@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/"},
                               "@graph": [{"@id": f"https://data.js.gov.cn/dataset/{i}", "@type": "dcat:Dataset",
                                           "dct:identifier": i, "dct:title": t,
                                           "dcat:landingPage": {"@id": f"https://data.js.gov.cn/dataset/{i}"}}
                                          for i, t in (("a1", "省级养老机构"), ("a2", "省级旅游景区"))]}), "utf-8")
    paths = Paths(home=home, raw=tmp_path / "raw")
    assert run_job(HarvestSource(id="js", title="省平台", kind="dcat", url=str(doc), organization="js",
                                 organization_title="江苏省数据局"), paths).counts["added"] == 2
    template = write_template(tmp_path / "t.xlsx")
    wb = load_workbook(template)
    base = {"提供部门代码": "jtysj", "提供部门": "苏州市交通运输局", "所属领域": "交通出行", "开放属性": "无条件开放"}
    for row in ({**base, "目录编码": "JT-1", "目录名称": "网约车订单统计", "计划开放日期": "2026-06-30"},
                {**base, "目录编码": "JT-2", "目录名称": "公交客流统计", "计划开放日期": "2026-12-31"},
                {**base, "目录编码": "JT-3", "目录名称": "公交站点", "计划开放日期": "2026-03-01", "对应数据集": "bus_stops"}):
        wb["目录"].append([row.get(h) for h, *_ in COLUMNS])
    wb.save(tmp_path / "jt.xlsx")
    assert Directory(store).import_file(tmp_path / "jt.xlsx").imported == 3
    return store, paths


def test_the_figures_follow_their_definitions(tmp_path):
    store, paths = _store(tmp_path)
    f = compute(store, NOW)
    # own: the five visible datasets (the closed one is not an entry); JT-3 is opened as bus_stops: listed once
    assert f["catalog_entries"] == {"own": 5, "harvested": 2, "directory": 2, "total": 9, "target": 10_000}
    # high quality: passed, score ≥ 0.90, every run of the last 30 days passed (air quality has a blocked run,
    # taxi operations has no run in the window)
    assert f["high_quality_datasets"]["datasets"] == ["bus_stops", "food_license", "pollution_permits"]
    assert f["data_products"] == {"count": 0, "target": 500}
    timely = {t["department"]: (t["timely"], t["measured"]) for t in f["timeliness"]}
    assert timely == {"scjgj": (1, 1), "jtysj": (1, 2), "sthjj": (1, 1)}   # 不定期 is not measured
    assert next(t for t in f["timeliness"] if t["department"] == "jtysj")["late"] == ["taxi_operations"]
    plan = f["openness_plan"]
    assert (plan["year"], plan["planned"], plan["opened"], plan["overdue"]) == (2026, 3, 1, 1)
    assert plan["overdue_entries"][0]["code"] == "JT-1"

    # the nightly records are the history
    assert latest(store) is None
    record(store, "2026-12-02", NOW - timedelta(days=1))
    record(store, "2026-12-03", NOW)
    assert [h["catalog_entries"] for h in latest(store)["history"]] == [9, 9]
    assert compute(store, NOW)["history"][-1] == {"day": "2026-12-03", "catalog_entries": 9}


def test_kpi_json_and_page(tmp_path):
    store, paths = _store(tmp_path)
    record(store, "2026-12-03")
    with TestClient(create_app(paths)) as client:
        body = client.get("/kpi.json").json()
        assert body["catalog_entries"]["total"] == 9 and body["targets"]["high_quality_datasets"] == 300
        assert body["history"] == [{"day": "2026-12-03", "catalog_entries": 9}]
        page = client.get("/kpi")
        assert page.status_code == 200
        assert '<dd id="kpi-entries">9</dd>' in page.text and '<dd id="kpi-harvested">2</dd>' in page.text
        assert page.text.count("<svg") >= 4        # targets, history, timeliness, plan
        # the harvested and directory entries are in the catalog's search too
        found = client.get("/api/3/action/package_search", params={"fq": "entry_type:directory"}).json()["result"]
        assert sorted(p["title"] for p in found["results"]) == ["公交客流统计", "网约车订单统计"]
        # own, harvested and directory entries together still conform to DCAT-AP 3
        from .test_dcat import shacl_report

        conforms, text = shacl_report(client.get("/catalog.jsonld?page_size=100").text)
        assert conforms, text[:3000]
