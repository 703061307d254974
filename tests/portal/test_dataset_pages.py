"""Dataset pages: licence, row preview, download counts, blocked updates in Chinese, six quality dimensions;
the Atom feed of new and updated datasets; DCAT-US v3 fields of /data.json."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from xml.etree import ElementTree as ET

from portal.app import create_app
from sudata.settings import Paths

from .conftest import TestClient
from .synthetic import build_store, spec

ATOM = "{http://www.w3.org/2005/Atom}"


def _downloads(html: str, fmt: str) -> int:
    m = re.search(rf'class="download-count" data-format="{fmt}">已下载 ([\d,]+) 次', html)
    assert m, html[:200]
    return int(m.group(1).replace(",", ""))


def test_licence_and_preview_of_an_open_dataset(client, api):
    html = client.get("/dataset/enterprise_registry").text
    assert '<a href="https://creativecommons.org/licenses/by/4.0/" rel="license">Creative Commons Attribution 4.0</a>' in html
    first = api("datastore_search", resource_id=api("package_show", id="enterprise_registry")["resources"][0]["id"],
                limit=1)["records"][0]
    preview = html.split('id="h-preview"', 1)[1].split("</section>", 1)[0]
    assert preview.count("<tr>") == 1 + 5          # the header and the first five rows
    assert f"<td>{first['name']}</td>" in preview


def test_conditional_dataset_shows_no_rows_and_says_what_a_key_gives(client, api):
    html = client.get("/dataset/taxi_operations").text
    preview = html.split('id="h-preview"', 1)[1].split("</section>", 1)[0]
    assert "preview-rows" not in preview and "<td>" not in preview
    assert "授权密钥" in preview and "datastore_search" in preview


def test_download_counts_count_files_served(client):
    before = client.get("/dataset/bus_stops").text
    csv0, parquet0 = _downloads(before, "csv"), _downloads(before, "parquet")
    assert client.get("/dataset/bus_stops/download.csv").status_code == 200
    assert client.get("/dataset/bus_stops/version/1/download.csv").status_code == 200
    assert client.head("/dataset/bus_stops/download.csv").status_code == 200       # headers only: not a download
    etag = client.get("/dataset/bus_stops/download.parquet").headers["etag"]
    assert client.get("/dataset/bus_stops/download.parquet", headers={"If-None-Match": etag}).status_code == 304
    after = client.get("/dataset/bus_stops").text
    assert _downloads(after, "csv") == csv0 + 2
    assert _downloads(after, "parquet") == parquet0 + 1
    # a refused read of a conditional dataset is no download
    taxi0 = _downloads(client.get("/dataset/taxi_operations").text, "csv")
    assert client.get("/dataset/taxi_operations/download.csv").status_code == 403
    assert _downloads(client.get("/dataset/taxi_operations").text, "csv") == taxi0


def test_blocked_update_is_explained_in_chinese(client):
    html = client.get("/dataset/air_quality_daily").text
    block = html.split('id="h-blocked"', 1)[1].split("</section>", 1)[0]
    assert "没有通过质量检查" in block and "没有发布" in block
    assert "<code>row_count_drop_air_quality_daily</code>（一致性）" in block
    assert "行数与上一版相比变化过大" in block            # what the check means, not only its name
    current = re.search(r"第 (\d+) 版 · ", html).group(1)
    assert f"第 {current} 版</strong>" in block and "可以照常使用" in block
    assert 'id="h-blocked"' not in client.get("/dataset/bus_routes").text


def test_all_six_dimensions_on_the_quality_report(client):
    html = client.get("/dataset/enterprise_registry").text
    dims = re.findall(r'<tr data-dimension="(\w+)"><th scope="row">(\w+)</th>', html)
    assert [d for d, _ in dims] == ["conformity", "completeness", "accuracy", "consistency", "timeliness",
                                    "accessibility"]
    assert dims[-1][1] == "可访问性"
    row = html.split('data-dimension="accessibility"', 1)[1].split("</tr>", 1)[0]
    assert "> 100.0</td>" in row and "<td>7</td><td>0</td>" in row   # 3 files × (present, checksum) + the row API


def test_accessibility_falls_when_a_file_no_longer_matches_its_checksum(tmp_path: Path):
    build_store(tmp_path / "published", [spec("bus_routes"), spec("air_quality_daily")])
    with TestClient(create_app(Paths(home=tmp_path, raw=tmp_path / "raw"))) as c:
        intact = c.get("/dataset/bus_routes").text
        assert "✓ CSV 文件校验和一致" in intact
    for path in (tmp_path / "published").rglob("data.csv"):
        path.write_bytes(path.read_bytes() + b"tampered\n")
    with TestClient(create_app(Paths(home=tmp_path, raw=tmp_path / "raw"))) as c:
        html = c.get("/dataset/bus_routes").text
    row = html.split('data-dimension="accessibility"', 1)[1].split("</tr>", 1)[0]
    assert "<td>6</td><td>1</td>" in row and "85.7" in row
    assert "✗ CSV 文件校验和一致" in html


def test_atom_feed_of_new_and_updated_datasets(client):
    home = client.get("/").text
    assert '<link rel="alternate" type="application/atom+xml" href="/feeds/datasets.atom"' in home
    r = client.get("/feeds/datasets.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):           # RFC 4287 §4.1.1
        assert feed.find(f"{ATOM}{tag}") is not None, tag
    assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("/feeds/datasets.atom")
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 18                                    # every visible dataset, none closed
    for e in entries:
        for tag in ("id", "title", "updated", "summary"):        # §4.1.2
            assert (e.findtext(f"{ATOM}{tag}") or "").strip(), tag
        assert e.find(f"{ATOM}link[@rel='alternate']").get("href").count("/dataset/") == 1
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert feed.findtext(f"{ATOM}updated") == updated[0]
    titles = {e.findtext(f"{ATOM}title") for e in entries}
    assert "空气质量日报" in titles and "户籍人口信息" not in titles
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == len(entries)


def test_data_json_has_dcat_us_v3_fields(client):
    doc = client.get("/data.json").json()
    ent = next(d for d in doc["dataset"] if d["identifier"].endswith("/dataset/enterprise_registry"))
    current = re.search(r"第 (\d+) 版 · ", client.get("/dataset/enterprise_registry").text).group(1)
    assert ent["version"] == current and ent["versionNotes"].startswith(f"第 {current} 版")
    for dist in ent["distribution"]:
        ext = dist["downloadURL"].rsplit(".", 1)[1]
        body = client.get(f"/dataset/enterprise_registry/download.{ext}").content
        assert dist["byteSize"] == len(body)
        assert dist["checksum"]["algorithm"] == "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"
        assert dist["checksum"]["checksumValue"] == hashlib.sha256(body).hexdigest()
