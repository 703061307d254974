"""The CKAN Action API: paths, methods, the envelope, errors, and the simple actions."""

from __future__ import annotations

import pytest

from .synthetic import SPECS

VISIBLE = sorted(s.name for s in SPECS if s.open_type != "closed")
CLOSED = sorted(s.name for s in SPECS if s.open_type == "closed")


@pytest.mark.parametrize("prefix", ["/api/3/action/", "/api/action/"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_both_paths_and_methods_answer_with_the_envelope(client, prefix, method):
    url = prefix + "package_show"
    r = client.post(url, json={"id": "bus_routes"}) if method == "POST" else client.get(url, params={"id": "bus_routes"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"help", "success", "result"}
    assert body["success"] is True
    assert body["help"].endswith("/api/3/action/help_show?name=package_show")
    assert body["result"]["name"] == "bus_routes"


def test_form_encoded_post_is_accepted(client):
    r = client.post("/api/3/action/package_show", data={"id": "bus_routes"})
    assert r.status_code == 200 and r.json()["result"]["name"] == "bus_routes"


def test_status_show(api):
    status = api("status_show")
    assert status["package_count"] == len(VISIBLE)
    assert "datastore" in status["extensions"]
    assert status["site_url"].startswith("http")


def test_package_list_is_sorted_paged_and_has_no_closed_dataset(api):
    names = api("package_list")
    assert names == VISIBLE
    assert not set(CLOSED) & set(names)
    assert api("package_list", limit=3, offset=2) == VISIBLE[2:5]
    assert api("package_list", method="POST", limit=2) == VISIBLE[:2]


def test_package_show_by_name_and_by_id_with_ckan_fields_and_extras(api):
    pkg = api("package_show", id="enterprise_registry")
    for key in ("id", "name", "title", "notes", "organization", "tags", "metadata_modified", "metadata_created",
                "resources", "extras", "owner_org", "license_id", "num_resources", "num_tags"):
        assert key in pkg, key
    assert pkg["title"] == "企业登记信息"
    assert (pkg["license_id"], pkg["license_url"]) == ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/")
    assert pkg["organization"]["name"] == "scjgj"
    assert pkg["organization"]["title"] == "苏州市市场监督管理局"
    assert {t["name"] for t in pkg["tags"]} == {"企业", "市场主体", "登记"}
    formats = {r["format"] for r in pkg["resources"]}
    assert formats == {"CSV", "Parquet", "JSON"}
    for res in pkg["resources"]:
        for key in ("id", "url", "format", "size", "hash", "last_modified", "datastore_active"):
            assert key in res, key
        assert res["url"].endswith(f"/dataset/enterprise_registry/download.{res['format'].lower()}")
        assert len(res["hash"]) == 64 and res["size"] > 0
    extras = {e["key"]: e["value"] for e in pkg["extras"]}
    assert extras["title_zh"] == "企业登记信息"
    assert extras["title_en"] == "Enterprise registrations"
    assert extras["open_type"] == "unconditional"
    assert extras["security_grade"] == "一般"
    assert extras["update_frequency"] == "每日"
    assert extras["current_version"] == "3"
    assert float(extras["quality_score"]) == pytest.approx(0.9725)
    for dim in ("conformity", "completeness", "accuracy", "consistency", "timeliness"):
        assert f"quality_{dim}" in extras
    assert all(isinstance(e["value"], str) for e in pkg["extras"])
    assert api("package_show", id=pkg["id"])["name"] == "enterprise_registry"
    # CKAN clients send extra flags; they are accepted
    assert api("package_show", method="POST", id="enterprise_registry", include_datasets=False,
               include_tracking=True)["name"] == "enterprise_registry"


def test_errors_carry_ckan_types_and_status_codes(api, client):
    api.error("package_show", 404, "Not Found Error", id="no_such_dataset")
    err = api.error("package_show", 409, "Validation Error")
    assert err["id"] == ["Missing value"]
    api.error("package_search", 409, "Validation Error", rows="many")
    api.error("package_search", 409, "Validation Error", start=-1)
    api.error("package_search", 400, "Search Query Error", fq="nosuchfield:x")
    api.error("package_search", 400, "Search Query Error", sort="popularity desc")
    api.error("organization_show", 404, "Not Found Error", id="nobody")
    r = client.get("/api/3/action/no_such_action")
    assert r.status_code == 400 and r.json()["success"] is False
    r = client.post("/api/3/action/package_show", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["__type"] == "Bad Request"


def test_closed_datasets_are_not_found(api):
    for name in CLOSED:
        api.error("package_show", 404, "Not Found Error", id=name)
        api.error("datastore_search", 404, "Not Found Error", resource_id=name)


def test_organizations(api):
    names = api("organization_list")
    assert names == sorted(names)
    assert "gaj" not in names  # its only datasets are closed
    assert {"scjgj", "jtysj", "sthjj", "wsjkw", "jyj", "mzj", "zjj"} == set(names)
    full = api("organization_list", all_fields=True, sort="package_count desc")
    assert full[0]["package_count"] >= full[-1]["package_count"]
    assert all(o["is_organization"] and o["title"].startswith("苏州市") for o in full)
    org = api("organization_show", id="jtysj", include_datasets=True)
    assert org["title"] == "苏州市交通运输局" and org["package_count"] == 3
    assert sorted(p["name"] for p in org["packages"]) == ["bus_routes", "bus_stops", "taxi_operations"]
    assert api("organization_show", id=org["id"])["name"] == "jtysj"
    assert "packages" not in api("organization_show", id="jtysj")


def test_tag_list(api):
    tags = api("tag_list")
    assert "公交" in tags and "户籍" not in tags  # 户籍 belongs to a closed dataset only
    assert tags == sorted(tags)
    assert api("tag_list", query="公") == [t for t in tags if "公" in t]
    assert api("tag_list", all_fields=True)[0]["name"] == tags[0]


def test_resource_show_and_help(api):
    pkg = api("package_show", id="schools")
    res = api("resource_show", id=pkg["resources"][0]["id"])
    assert res["package_id"] == pkg["id"]
    assert "q" in api("help_show", name="package_search")
    recent = api("current_package_list_with_resources", limit=3)
    assert [p["metadata_modified"] for p in recent] == sorted((p["metadata_modified"] for p in recent), reverse=True)


def test_openapi_is_published(client):
    spec = client.get("/openapi.json").json()
    # each action is documented at its own path, with its parameters (see test_fuzz.py)
    assert "/api/3/action/package_search" in spec["paths"] and "/api/3/action/datastore_search" in spec["paths"]
    assert "/dataset/{name}/download.{ext}" in spec["paths"]


def test_cross_origin_calls_are_allowed(client):
    r = client.options("/api/3/action/package_search", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    r = client.get("/api/3/action/status_show", headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "*"


def test_domains_are_ckan_groups(api):
    from .synthetic import SPECS

    domains = {s.domain for s in SPECS if s.open_type != "closed"}
    groups = api("group_list", all_fields=True)
    assert {g["title"] for g in groups} == domains
    assert api("group_list") == sorted(g["name"] for g in groups)
    transport = next(g for g in groups if g["title"] == "交通出行")
    assert transport["name"] == "transport"
    assert transport["package_count"] == sum(1 for s in SPECS if s.domain == "交通出行" and s.open_type != "closed")
    shown = api("group_show", id="transport", include_datasets=True)
    assert {p["name"] for p in shown["packages"]} == {"bus_routes", "bus_stops", "taxi_operations"}
    assert api("package_show", id="bus_stops")["groups"][0]["name"] == "transport"
    assert api("package_search", fq="groups:transport")["count"] == transport["package_count"]
    api.error("group_show", 404, "Not Found Error", id="nope")
    assert api("status_show")["portal_version"] == "0.1.0"
