"""Everything the portal serves without a key, on the sample night's real output, run through the leak
scanner (sudata.quality.leaks): no valid resident ID number, no mobile number, and no person's name from a
graded column of the delivered drops appears in clear in any keyless response."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import warnings
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portal.app import create_app
from sudata.quality.leaks import scan
from sudata.registry import load_registry
from sudata.settings import Paths
from sudata.store import PublishedStore

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.integration

API = "/api/3/action/"
_HAN_RUN = re.compile(r"[\u4e00-\u9fff·]+")


def _strings(value, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.append(str(k))
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def texts_of(response, tmp: Path) -> list[str]:
    """Every text a consumer gets out of a response: JSON leaves, CSV cells, Parquet cells, HTML text."""
    kind = response.headers.get("content-type", "")
    body = response.content
    if "parquet" in kind:
        f = tmp / "download.parquet"
        f.write_bytes(body)
        return [str(v) for row in pq.read_table(f).to_pylist() for v in row.values() if v is not None]
    if "csv" in kind:
        return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]
    if "json" in kind:
        out: list[str] = []
        _strings(json.loads(body), out)
        return out
    return [t for t in re.split(r"<[^>]+>|\s{2,}", body.decode("utf-8")) if t.strip()]


def clear_names(lake: Path) -> set[str]:
    """The clear names of every graded person-name column, as departments delivered them (the lake)."""
    names: set[str] = set()
    for source in load_registry().values():
        columns = [c.name for c in source.columns if c.pii == "person_name" and c.grade != "general"]
        for f in sorted((lake / "raw" / source.id).glob("*.parquet")) if columns else []:
            for column in pq.read_table(f, columns=columns).to_pydict().values():
                names |= {str(v).strip() for v in column if v and len(str(v).strip()) >= 2}
    return names


def leaks(texts: dict[str, list[str]], names: set[str]) -> dict[str, dict]:
    """Origin → what the leak scanner and the name search found in clear (empty: nothing)."""
    con = duckdb.connect()
    con.register("texts", pa.table({"value": [v for vs in texts.values() for v in vs]}))
    found: dict[str, dict] = {}
    if scan(con, "texts", {"value": "VARCHAR"}):  # then say where
        for origin, values in texts.items():
            con.register("one", pa.table({"value": pa.array(values, pa.string())}))
            hit = scan(con, "one", {"value": "VARCHAR"})
            if hit:
                found[origin] = hit["value"]
    for origin, values in texts.items():
        # a name stands alone between non-Han characters; inside a longer run it is part of another name
        # (a sole trader's shop is named after its owner, in public registration data)
        named = {run for v in values for run in _HAN_RUN.findall(v)} & names
        if named:
            found.setdefault(origin, {})["person_name"] = len(named)
    con.close()
    return found


@pytest.fixture(scope="module")
def served(sample_nights, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("keyless")
    # the portal keeps its access log in the home: serve a copy, the shared sample stays read-only
    shutil.copytree(sample_nights["home"], tmp / "home", symlinks=True)
    paths = Paths(home=tmp / "home", raw=sample_nights["raw"])
    texts: dict[str, list[str]] = {}
    statuses: dict[str, int] = {}
    records: dict[str, int] = {}
    with TestClient(create_app(paths)) as c:
        def get(url: str, **params):
            r = c.get(url, params=params)
            origin = url + ("?" + "&".join(f"{k}={v}" for k, v in params.items() if k != "offset") if params else "")
            statuses[origin] = r.status_code
            texts.setdefault(origin, []).extend(texts_of(r, tmp))
            return r

        for action in ("status_show", "package_list", "current_package_list_with_resources", "tag_list"):
            get(API + action)
        get(API + "organization_list", all_fields="true")
        search = get(API + "package_search", rows=1000).json()["result"]
        for org in {p["organization"]["name"] for p in search["results"]}:
            get(API + "organization_show", id=org, include_datasets="true")
        for pkg in search["results"]:
            name = pkg["name"]
            get(API + "package_show", id=name)
            get(f"/dataset/{name}")
            get(f"/dataset/{name}.jsonld")
            get(f"/dataset/{name}/datapackage.json")
            for res in pkg["resources"]:
                get(API + "resource_show", id=res["id"])
            for ext in ("csv", "json", "parquet"):
                get(f"/dataset/{name}/download.{ext}")  # a conditional dataset's answer is a refusal
            if {e["key"]: e["value"] for e in pkg["extras"]}["open_type"] != "unconditional":
                continue
            rid, seen, total = pkg["resources"][0]["id"], 0, None
            while total is None or seen < total:  # paged through to the last row
                page = get(API + "datastore_search", resource_id=rid, limit=100, offset=seen).json()["result"]
                total = page["total"]
                seen += len(page["records"])
                if not page["records"]:
                    break
            records[name] = (seen, total)
        for url in ("/", "/organization", "/about/api", "/catalog.jsonld", "/data.json", "/feeds/datasets.atom",
                    "/suonline/units"):
            get(url)
        for unit in c.get("/suonline/units").json()["result"]["units"][:12]:
            get(f"/suonline/units/{unit['code']}")
            get(f"/suonline/units/{unit['code']}/manifest")  # refused without the unit's key
    return {"texts": texts, "statuses": statuses, "records": records, "names": clear_names(paths.lake),
            "store": PublishedStore(paths.published)}


def test_the_walk_covers_every_keyless_answer(served):
    store, statuses = served["store"], served["statuses"]
    unconditional = [d for d in store.datasets() if d["open_type"] == "unconditional"]
    assert set(served["records"]) == {d["name"] for d in unconditional} and len(unconditional) >= 10
    for d in unconditional:  # every row of every unconditional dataset, paged through
        seen, total = served["records"][d["name"]]
        assert seen == total == store.current_version(d["name"])["row_count"], d["name"]
        for ext in ("csv", "json", "parquet"):
            assert statuses[f"/dataset/{d['name']}/download.{ext}"] == 200
    conditional = [d["name"] for d in store.datasets() if d["open_type"] == "conditional"]
    assert conditional and all(statuses[f"/dataset/{n}/download.csv"] in (401, 403) for n in conditional)
    assert not any(n in origin for origin in statuses for n in
                   [d["name"] for d in store.datasets() if d["open_type"] == "closed"]), "closed data is never listed"
    assert all(code < 500 for code in statuses.values()), {o: c for o, c in statuses.items() if c >= 500}
    values = [v for vs in served["texts"].values() for v in vs]
    # the graded columns are served, in their masked forms: the walk reaches them
    assert any(re.fullmatch(r"[\u4e00-\u9fff]\*{1,3}", v) for v in values), "no masked name served"
    assert any(re.fullmatch(r"1[3-9]\d\*{4}\d{4}", v) for v in values), "no masked mobile number served"
    assert len(served["names"]) >= 50, "the drops hold names in clear to look for"


def test_no_keyless_answer_holds_personal_data_in_clear(served):
    assert leaks(served["texts"], served["names"]) == {}


def test_the_search_finds_what_it_looks_for(served, tmp_path):
    """The same search over answers that do leak: an ID number, a mobile number, a delivered name."""
    name = sorted(served["names"])[0]
    planted = {"a": ["联系人 " + name, "ok"], "b": ["身份证 11010519491231002X"], "c": ["电话13912345678。"], "d": ["2026-11-24"]}
    found = leaks(planted, served["names"])
    assert found == {"a": {"person_name": 1}, "b": {"id_number": 1, "mobile": 0}, "c": {"id_number": 0, "mobile": 1}}
