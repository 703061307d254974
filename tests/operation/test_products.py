"""Data products: registration with lineage from released zone results, listing in the catalog, the
annual disclosure as JSON and CSV."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from contextlib import closing

import pytest

from cli.main import main as sudata
from operation import applications
from operation.products import Products
from operation.zone import Zone

from .conftest import APPLICATION


def test_a_product_from_registration_to_the_catalog_and_the_disclosure(client, ops, published, op_home,
                                                                      monkeypatch, capsys):
    data = {**APPLICATION, "organisation": "苏州运力数据产品有限公司"}
    app_id, secret = ops.submit(applications.validate(published, data))
    ops.approve(app_id, "审核员甲", applications.approval_scope(published, ops.application(app_id).to_dict()))
    token = ops.collect_credential(app_id, secret)
    auth = ops.resolve(token)
    zone = Zone(ops, published)
    released = zone.release(zone.submit(auth, "select district, count(*) as trips from taxi_trips group by district")["id"],
                            "审核员甲")
    pending = zone.submit(auth, "select category, count(*) as trips from taxi_trips group by category")
    headers = {"Authorization": token}
    product = {"name": "区县出租车运力指数", "kind": "report", "description": "按区县的月度运力报告", "fee_cny": 12000,
               "exchange_code": "SZDEX-2026-0042"}

    r = client.post("/api/operation/products", headers=headers, json={**product, "query_ids": [pending["id"]]})
    assert r.status_code == 400 and "not released" in r.text
    assert client.post("/api/operation/products", headers=headers,
                       json={**product, "kind": "poster", "query_ids": [released["id"]]}).status_code == 400
    assert client.post("/api/operation/products", json={**product, "query_ids": [released["id"]]}).status_code == 403

    r = client.post("/api/operation/products", headers=headers, json={**product, "query_ids": [released["id"]]})
    assert r.status_code == 201, r.text
    p = r.json()["result"]
    assert re.fullmatch(r"SZDP-\d{4}-\d{6}", p["code"]) and p["status"] == "registered"
    assert p["lineage"] == {"versions": {"taxi_trips": [1]}, "query_hashes": [released["sql_hash"]],
                            "queries": [released["id"]]}
    assert p["code"] not in client.get("/api/operation/products").text   # not listed before the department says so

    monkeypatch.setenv("SUDATA_HOME", str(op_home))
    assert sudata(["products", "list-in-catalog", p["code"], "--by", "交通局"]) == 0
    listed = client.get("/api/operation/products").json()["result"]
    assert [x["code"] for x in listed] == [p["code"]] and listed[0]["datasets"] == ["taxi_trips"]
    assert "lineage" not in listed[0]
    page = client.get("/products")
    assert page.status_code == 200 and "区县出租车运力指数" in page.text and "SZDEX-2026-0042" in page.text
    # the dataset it derives from shows it, with its code, its operator and the version it was built on
    dataset_page = client.get("/dataset/taxi_trips")
    assert dataset_page.status_code == 200
    section = dataset_page.text.split('id="h-products"', 1)[1].split("</section>", 1)[0]
    assert f'data-code="{p["code"]}"' in section and "区县出租车运力指数" in section
    assert '<td class="operator">苏州运力数据产品有限公司</td>' in section and "第 1 版" in section
    assert 'id="h-products"' not in client.get("/dataset/bus_stops").text   # not derived from bus stops

    year = int(p["registered_at"][:4])
    d = client.get(f"/api/operation/disclosure/{year}.json").json()["result"]
    assert {"id": app_id, "organisation": "苏州运力数据产品有限公司"}.items() <= next(
        a for a in d["authorisations"] if a["id"] == app_id).items()
    assert d["products"][0]["fee_cny"] == 12000 and d["totals"]["listed_products"] == 1
    assert d["totals"]["fees_cny"] == 12000 and d["totals"]["exchange_registered"] == 1
    text = client.get(f"/api/operation/disclosure/{year}.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["section"] for r in rows} == {"authorisation", "product"}
    assert next(r for r in rows if r["section"] == "product")["id"] == p["code"]
    capsys.readouterr()
    assert sudata(["products", "disclosure", "--year", str(year), "--csv"]) == 0
    assert p["code"] in capsys.readouterr().out

    assert sudata(["products", "withdraw", p["code"], "--by", "交通局", "--note", "数据用途变更"]) == 0
    assert client.get("/api/operation/products").json()["result"] == []
    assert p["code"] not in client.get("/dataset/taxi_trips").text
    with closing(Products(ops, published).connect()) as con, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("update products set fee_cny = 0")
