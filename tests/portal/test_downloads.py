"""Downloads: stable URLs per version, ETag / Last-Modified, conditional GET, formats."""

from __future__ import annotations

import hashlib
import io
import json
from email.utils import parsedate_to_datetime

import pyarrow.parquet as pq
import pytest

from .synthetic import rows_for, spec


@pytest.mark.parametrize("ext", ["csv", "parquet", "json"])
def test_current_version_download_matches_the_published_file(client, api, paths, ext):
    r = client.get(f"/dataset/bus_routes/download.{ext}")
    assert r.status_code == 200
    pkg = api("package_show", id="bus_routes")
    res = next(x for x in pkg["resources"] if x["format"].lower() == ext)
    assert hashlib.sha256(r.content).hexdigest() == res["hash"]
    assert int(r.headers["content-length"]) == res["size"] == len(r.content)
    assert r.headers["etag"] == f'"{res["hash"][:40]}"'
    assert "attachment" in r.headers["content-disposition"] and f"bus_routes-v000002.{ext}" in r.headers["content-disposition"]
    assert r.headers["x-dataset-version"] == "2"


def test_formats_parse(client):
    expected = rows_for(spec("bus_routes"), 2)
    table = pq.read_table(io.BytesIO(client.get("/dataset/bus_routes/download.parquet").content))
    assert table.num_rows == len(expected) and table.column("name").to_pylist()[0] == expected[0]["name"]
    data = json.loads(client.get("/dataset/bus_routes/download.json").content)
    assert len(data) == len(expected)
    r = client.get("/dataset/bus_routes/download.csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as published


def test_each_version_has_its_own_url(client):
    v1 = client.get("/dataset/bus_routes/version/1/download.csv")
    v2 = client.get("/dataset/bus_routes/version/2/download.csv")
    assert v1.status_code == v2.status_code == 200
    assert v1.content.count(b"\n") == len(rows_for(spec("bus_routes"), 1)) + 1
    assert v2.content.count(b"\n") == len(rows_for(spec("bus_routes"), 2)) + 1
    assert v1.headers["etag"] != v2.headers["etag"]
    assert "immutable" in v1.headers["cache-control"]
    assert client.get("/dataset/bus_routes/version/9/download.csv").status_code == 404
    assert client.get("/dataset/bus_routes/download.xlsx").status_code == 404
    assert client.get("/dataset/nope/download.csv").status_code == 404


def test_conditional_get_with_etag_and_last_modified(client):
    r = client.get("/dataset/schools/download.parquet")
    etag, last_modified = r.headers["etag"], r.headers["last-modified"]
    assert parsedate_to_datetime(last_modified).year == 2024
    r304 = client.get("/dataset/schools/download.parquet", headers={"If-None-Match": etag})
    assert r304.status_code == 304 and r304.content == b"" and r304.headers["etag"] == etag
    assert client.get("/dataset/schools/download.parquet", headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    assert client.get("/dataset/schools/download.parquet", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/dataset/schools/download.parquet",
                      headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get("/dataset/schools/download.parquet",
                      headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    head = client.head("/dataset/schools/download.parquet")
    assert head.status_code == 200 and head.headers["etag"] == etag and head.content == b""


def test_range_requests_resume_downloads(client):
    full = client.get("/dataset/enterprise_registry/download.csv").content
    part = client.get("/dataset/enterprise_registry/download.csv", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == full[100:200]
