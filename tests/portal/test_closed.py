"""Closed datasets (不予开放) never appear anywhere on the portal."""

from __future__ import annotations

import pytest

CLOSED = ("resident_register", "case_records")
MARKERS = ("resident_register", "case_records", "户籍人口信息", "治安案件记录", "苏州市公安局")


@pytest.mark.parametrize("url", [
    "/api/3/action/package_list",
    "/api/3/action/package_search?rows=1000&facet.field=[\"organization\",\"tags\",\"domain\"]",
    "/api/3/action/package_search?q=户籍",
    "/api/3/action/organization_list?all_fields=true",
    "/api/3/action/tag_list",
    "/api/3/action/current_package_list_with_resources?limit=1000",
    "/catalog.jsonld?page_size=1000",
    "/data.json",
    "/",
    "/?q=户籍",
    "/organization",
])
def test_no_listing_mentions_a_closed_dataset(client, url):
    r = client.get(url)
    assert r.status_code == 200
    text = r.content.decode("utf-8")
    for marker in MARKERS:
        assert marker not in text, (marker, url)


@pytest.mark.parametrize("name", CLOSED)
def test_every_direct_address_of_a_closed_dataset_is_404(client, api, name):
    api.error("package_show", 404, "Not Found Error", id=name)
    api.error("datastore_search", 404, "Not Found Error", resource_id=name)
    for path in (f"/dataset/{name}", f"/dataset/{name}/download.csv", f"/dataset/{name}/download.parquet",
                 f"/dataset/{name}/version/1/download.json", f"/dataset/{name}/datapackage.json",
                 f"/dataset/{name}.jsonld"):
        assert client.get(path).status_code == 404, path
    api.error("organization_show", 404, "Not Found Error", id="gaj")


def test_a_key_does_not_open_a_closed_dataset(client, access):
    token = access.issue("dataset", "resident_register", "任何单位")
    assert client.get("/dataset/resident_register/download.csv", headers={"Authorization": token}).status_code == 404
