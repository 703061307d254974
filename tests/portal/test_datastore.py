"""datastore_search over the published Parquet: filters, q, fields, sort, paging, keyset, formats, injection."""

from __future__ import annotations

import csv
import io
import json

import pytest

from .synthetic import rows_for, spec

ENTERPRISE = rows_for(spec("enterprise_registry"), 3)  # the current version: 5020 rows


@pytest.fixture(scope="module")
def rid(api) -> str:
    pkg = api("package_show", id="enterprise_registry")
    return next(r["id"] for r in pkg["resources"] if r["format"] == "Parquet")


def test_defaults_fields_and_total(api, rid):
    r = api("datastore_search", resource_id=rid)
    assert r["total"] == len(ENTERPRISE) and r["total_was_estimated"] is False
    assert len(r["records"]) == 100 and r["limit"] == 100
    assert [f["id"] for f in r["fields"]] == ["_id", "id", "name", "uscc", "district_code", "district", "category",
                                             "amount", "record_date"]
    types = {f["id"]: f["type"] for f in r["fields"]}
    assert types["_id"] == "int" and types["amount"] == "numeric" and types["record_date"] == "date"
    uscc = next(f for f in r["fields"] if f["id"] == "uscc")
    assert uscc["info"]["label"] == "统一社会信用代码" and uscc["info"]["grade"] == "重要"
    first = r["records"][0]
    assert first["_id"] == 1 and first["id"] == 1 and first["name"] == ENTERPRISE[0]["name"]
    assert first["record_date"] == ENTERPRISE[0]["record_date"].isoformat()
    assert r["_links"]["start"].startswith("/api/3/action/datastore_search?")


def test_any_resource_id_of_the_dataset_or_its_name_opens_the_table(api):
    pkg = api("package_show", id="bus_routes")
    for res in pkg["resources"]:
        assert api("datastore_search", resource_id=res["id"], limit=1)["total"] == len(rows_for(spec("bus_routes"), 2))
    assert api("datastore_search", resource_id="bus_routes", limit=0)["records"] == []
    api.error("datastore_search", 404, "Not Found Error", resource_id="00000000-0000-0000-0000-000000000000")
    api.error("datastore_search", 409, "Validation Error")


def test_filters_equality_and_lists(api, rid):
    r = api("datastore_search", resource_id=rid, filters=json.dumps({"district": "姑苏区"}), limit=32000)
    expected = [row for row in ENTERPRISE if row["district"] == "姑苏区"]
    assert r["total"] == len(expected) == len(r["records"])
    assert {rec["district"] for rec in r["records"]} == {"姑苏区"}
    r = api("datastore_search", method="POST", resource_id=rid,
            filters={"district": ["姑苏区", "吴中区"], "category": "甲类"}, limit=32000)
    expected = [row for row in ENTERPRISE if row["district"] in ("姑苏区", "吴中区") and row["category"] == "甲类"]
    assert r["total"] == len(expected) == len(r["records"])
    r = api("datastore_search", method="POST", resource_id=rid, filters={"id": 42})
    assert [rec["name"] for rec in r["records"]] == [ENTERPRISE[41]["name"]]
    r = api("datastore_search", method="POST", resource_id=rid, filters={"id": "42"})  # strings are cast
    assert r["total"] == 1
    r = api("datastore_search", method="POST", resource_id=rid, filters={"amount": None}, limit=1000)
    assert r["total"] == sum(1 for row in ENTERPRISE if row["amount"] is None)


def test_q_full_text_and_per_column(api, rid):
    r = api("datastore_search", resource_id=rid, q="相城区企业0004", limit=1000)
    expected = [row for row in ENTERPRISE if "相城区企业0004" in row["name"]]
    assert r["total"] == len(expected) > 0
    r = api("datastore_search", method="POST", resource_id=rid, q={"uscc": "000004999"})
    assert [rec["id"] for rec in r["records"]] == [4999]


def test_fields_sort_and_offset(api, rid):
    r = api("datastore_search", resource_id=rid, fields="id,amount", sort="amount desc, id asc", limit=5)
    assert [f["id"] for f in r["fields"]] == ["id", "amount"]
    assert all(set(rec) == {"id", "amount"} for rec in r["records"])
    top = sorted((row for row in ENTERPRISE if row["amount"] is not None), key=lambda x: (-x["amount"], x["id"]))[:5]
    assert [rec["id"] for rec in r["records"]] == [row["id"] for row in top]
    r2 = api("datastore_search", resource_id=rid, fields=json.dumps(["id"]), sort="amount desc, id asc",
             limit=5, offset=5)
    top10 = sorted((row for row in ENTERPRISE if row["amount"] is not None), key=lambda x: (-x["amount"], x["id"]))[5:10]
    assert [rec["id"] for rec in r2["records"]] == [row["id"] for row in top10]
    r3 = api("datastore_search", resource_id=rid, limit=50000)
    assert r3["limit"] == 32000 and len(r3["records"]) == len(ENTERPRISE)


def test_keyset_paging_walks_every_row_once_in_order(api, rid):
    # sort on a column with NULLs and ties: the cursor must neither skip nor repeat a row
    seen = []
    params = {"resource_id": rid, "sort": "amount desc", "fields": "id,amount", "limit": 700, "include_total": False}
    r = api("datastore_search", **params)
    assert "total" not in r
    pages = 0
    while True:
        seen += [rec["id"] for rec in r["records"]]
        pages += 1
        if "next_cursor" not in r:
            break
        r = api("datastore_search", **params, cursor=r["next_cursor"])
    assert pages == -(-len(ENTERPRISE) // 700)
    expected = sorted(ENTERPRISE, key=lambda x: (x["amount"] is None, -(x["amount"] or 0), x["id"]))
    assert seen == [row["id"] for row in expected]
    # the link CKAN clients follow carries the cursor
    first = api("datastore_search", resource_id=rid, limit=10)
    assert "cursor=" in first["_links"]["next"]
    api.error("datastore_search", 409, "Validation Error", resource_id=rid, sort="id desc",
              cursor=first["next_cursor"])  # a cursor of another query
    api.error("datastore_search", 409, "Validation Error", resource_id=rid, cursor="garbage!")


def test_keyset_on_filtered_deep_pages(api, rid):
    flt = json.dumps({"category": "乙类"})
    ids, cursor = [], None
    while True:
        kw = {"cursor": cursor} if cursor else {}
        r = api("datastore_search", resource_id=rid, filters=flt, fields="id", sort="record_date asc", limit=400, **kw)
        ids += [rec["id"] for rec in r["records"]]
        cursor = r.get("next_cursor")
        if not cursor:
            break
    expected = sorted((row for row in ENTERPRISE if row["category"] == "乙类"), key=lambda x: (x["record_date"], x["id"]))
    assert ids == [row["id"] for row in expected]


def test_records_formats(api, rid):
    r = api("datastore_search", resource_id=rid, fields="id,name,amount", limit=3, records_format="lists")
    assert r["records"][0] == [1, ENTERPRISE[0]["name"], ENTERPRISE[0]["amount"]]
    r = api("datastore_search", resource_id=rid, fields="id,name", limit=3, offset=16, records_format="csv")
    rows = list(csv.reader(io.StringIO(r["records"])))
    assert rows == [[str(i), ENTERPRISE[i - 1]["name"]] for i in (17, 18, 19)]
    r = api("datastore_search", resource_id=rid, fields="id,amount", filters='{"id": 17}', records_format="csv")
    assert r["records"] == "17,\r\n"  # NULL is an empty field; CRLF rows as RFC 4180 and CKAN write them
    api.error("datastore_search", 409, "Validation Error", resource_id=rid, records_format="xml")


def test_distinct(api, rid):
    r = api("datastore_search", resource_id=rid, fields="district", distinct=True, sort="district asc")
    assert [rec["district"] for rec in r["records"]] == sorted({row["district"] for row in ENTERPRISE})
    assert r["total"] == 6


@pytest.mark.parametrize("params", [
    {"fields": "id; drop table x"},
    {"fields": 'id" from read_csv(\'/etc/passwd\') --'},
    {"sort": "id; select 1"},
    {"sort": "(select 1)"},
    {"sort": 'name" desc, "id'},
    {"filters": '{"1=1 or id": 1}'},
    {"filters": '{"id\\" = 1 or \\"id": 1}'},
    {"q": '{"name) or (1=1": "x"}'},
    {"filters": '{"id": {"$gt": 1}}'},
    {"filters": '{"id": "1 or 1=1"}'},
    {"filters": "[1, 2]"},
    {"limit": "10; drop"},
    {"offset": "-1"},
])
def test_injection_attempts_are_validation_errors(api, rid, params):
    api.error("datastore_search", 409, "Validation Error", resource_id=rid, **params)


def test_values_are_bound_never_spliced(api, rid):
    r = api("datastore_search", method="POST", resource_id=rid, filters={"name": "x' or '1'='1"})
    assert r["total"] == 0 and r["records"] == []
    r = api("datastore_search", method="POST", resource_id=rid, q="'; select * from pg_user; --")
    assert r["total"] == 0


def test_a_full_last_page_hands_out_a_cursor_to_an_empty_page(api, rid):
    flt = json.dumps({"id": [1, 2, 3, 4]})
    r = api("datastore_search", resource_id=rid, filters=flt, limit=4, fields="id")
    assert [x["id"] for x in r["records"]] == [1, 2, 3, 4] and r["next_cursor"]
    r = api("datastore_search", resource_id=rid, filters=flt, limit=4, fields="id", cursor=r["next_cursor"])
    assert r["records"] == [] and "next_cursor" not in r


def test_types_serialise_like_ckan(tmp_path):
    """Timestamps in ISO form, non-finite floats as null, decimals as numbers, in every records format."""
    from datetime import datetime
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    from portal.ckan import Params
    from portal.datastore import Datastore, Table, search
    from portal.jsonutil import dumps
    from portal.signing import Signer

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({
        "ts": pa.array([datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("us")),
        "x": pa.array([float("nan"), 1.5]),
        "d": pa.array([Decimal("12.34"), None], pa.decimal128(10, 2)),
        "ok": pa.array([True, None]),
        "s": pa.array(['引号"与\\反斜杠', None]),
    }), path)
    store = Datastore()

    def run(**kw):
        p = Params(kw)
        result, n = search(store, Table("t", 1, str(path), 2), "r", p, {}, p.int, p.bool, Signer(b"s", "test"))
        return json.loads(dumps(result)), n

    objects, n = run()
    assert n == 2
    assert objects["records"] == [
        {"_id": 1, "ts": "2024-01-02T03:04:05", "x": None, "d": 12.34, "ok": True, "s": '引号"与\\反斜杠'},
        {"_id": 2, "ts": None, "x": 1.5, "d": None, "ok": None, "s": None},
    ]
    lists, _ = run(records_format="lists")
    assert lists["records"] == [list(r.values()) for r in objects["records"]]
    csv_text, _ = run(records_format="csv", fields="ts,ok")
    assert csv_text["records"].splitlines() == ["2024-01-02T03:04:05,true", ","]
    store.close()


@pytest.mark.parametrize("records_format", ["objects", "csv"])
def test_walking_the_whole_table_in_file_order(api, rid, records_format):
    ids, cursor, pages = [], None, 0
    while True:
        kw = {"cursor": cursor} if cursor else {}
        r = api("datastore_search", resource_id=rid, fields="_id,id", limit=1000, records_format=records_format, **kw)
        if records_format == "csv":
            ids += [int(line.split(",")[1]) for line in r["records"].splitlines()]
        else:
            ids += [rec["id"] for rec in r["records"]]
        pages += 1
        cursor = r.get("next_cursor")
        if not cursor:
            break
    assert ids == list(range(1, len(ENTERPRISE) + 1)) and pages == 6
    r = api("datastore_search", resource_id=rid, fields="id", limit=1000, offset=5000)
    assert [rec["id"] for rec in r["records"]] == list(range(5001, 5021))
    assert api("datastore_search", resource_id=rid, offset=999999)["records"] == []
