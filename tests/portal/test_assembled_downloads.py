"""Downloads of files the store keeps as parts (one per drop date): served as one file, with ranges,
HEAD and conditional requests, and the accessibility check that hashes them."""

from __future__ import annotations

import hashlib
import json
from contextlib import closing
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from portal.app import create_app
from sudata.datasets import DatasetSpec
from sudata.publish import export_version
from sudata.settings import Paths
from sudata.store import DatasetEntry, PublishedStore

QUALITY = {"passed": True, "score": 1.0, "checks": [], "dimensions": {}}


def _spec() -> DatasetSpec:
    return DatasetSpec(name="bus_stops", unique_id="model.sudata.bus_stops", relation="main.stops",
                       description="公交站点", catalog={"open_type": "unconditional", "primary_key": ["stop_id"],
                                                      "title": "公交站点", "department": "jtysj"})


def _entry() -> DatasetEntry:
    return DatasetEntry(name="bus_stops", title="公交站点", title_en="Bus stops", description="公交站点",
                        department="jtysj", department_name="苏州市交通运输局", domain="交通出行",
                        open_type="unconditional", security_grade="general", update_frequency="每日",
                        scope_column=None, tags=[], columns=[], meta={"catalog": {}})


def _insert(con, day: str, n: int) -> None:
    con.executemany("insert into stops values (?, ?, ?)",
                    [(f"S{day}-{i:04d}", f"站点{i}，\"东\"", day) for i in range(n)])


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("assembled")
    store = PublishedStore(home / "published")
    with closing(duckdb.connect()) as con:
        con.execute("create table stops (stop_id varchar, stop_name varchar, _drop_date date)")
        for night, day in enumerate(["2026-11-23", "2026-11-24"]):
            _insert(con, day, 2000)
            current = store.current_version("bus_stops")
            previous = (store.path(current["path"]), current["files"]) if current else None
            store.publish(_entry(), lambda d, before=previous: export_version(con, _spec(), d, before), run_id=f"r{night}",
                          drop_date=day, quality=QUALITY)
    return home


@pytest.fixture(scope="module")
def client(home):
    with TestClient(create_app(Paths(home=home, raw=home / "raw"))) as c:
        yield c


def _entry_of(home: Path, fmt: str) -> dict:
    return PublishedStore(home / "published").current_version("bus_stops")["files"][fmt]


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_the_whole_file_is_served_with_its_recorded_size_and_checksum(client, home, ext):
    entry = _entry_of(home, ext)
    assert len([s for s in entry["segments"] if "part" in s]) == 2
    r = client.get(f"/dataset/bus_stops/download.{ext}")
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == entry["sha256"]
    assert int(r.headers["content-length"]) == entry["size"] == len(r.content)
    assert r.headers["etag"] == f'"{entry["sha256"][:40]}"' and r.headers["accept-ranges"] == "bytes"
    if ext == "json":
        assert len(json.loads(r.content)) == 4000
    else:
        assert r.content.startswith(b"\xef\xbb\xbfstop_id,stop_name\n") and r.content.count(b"\n") == 4001


def test_ranges_across_parts_and_resumed_downloads(client, home):
    whole = client.get("/dataset/bus_stops/download.csv").content
    boundary = next(s for s in _entry_of(home, "csv")["segments"] if "part" in s)["size"]  # first part's end
    for start, end in ((0, 99), (boundary - 10, boundary + 10), (len(whole) - 5, len(whole) - 1)):
        r = client.get("/dataset/bus_stops/download.csv", headers={"Range": f"bytes={start}-{end}"})
        assert r.status_code == 206 and r.content == whole[start:end + 1], (start, end)
        assert r.headers["content-range"] == f"bytes {start}-{end}/{len(whole)}"
    r = client.get("/dataset/bus_stops/download.csv", headers={"Range": "bytes=-7"})
    assert r.status_code == 206 and r.content == whole[-7:]
    r = client.get("/dataset/bus_stops/download.csv", headers={"Range": "bytes=0-1,10-11"})
    assert r.status_code == 206 and whole[10:12] in r.content and "multipart/byteranges" in r.headers["content-type"]
    assert client.get("/dataset/bus_stops/download.csv", headers={"Range": f"bytes={len(whole)}-"}).status_code == 416


def test_head_and_conditional_requests(client):
    head = client.head("/dataset/bus_stops/download.json")
    get = client.get("/dataset/bus_stops/download.json")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] and head.headers["etag"] == get.headers["etag"]
    assert client.get("/dataset/bus_stops/download.json", headers={"If-None-Match": get.headers["etag"]}).status_code == 304


def test_a_tampered_or_missing_part_is_seen(home, tmp_path):
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    published = PublishedStore(copy / "published")
    current = published.current_version("bus_stops")
    part = published.path(current["path"]) / next(s for s in current["files"]["csv"]["segments"] if "part" in s)["path"]
    part.write_bytes(part.read_bytes().replace(b"S", b"X", 1))  # shared by hard link: both versions change
    json_part = published.path(current["path"]) / next(s for s in current["files"]["json"]["segments"] if "part" in s)["path"]
    json_part.unlink()
    with TestClient(create_app(Paths(home=copy, raw=copy / "raw"))) as c:
        html = c.get("/dataset/bus_stops").text
        assert c.get("/dataset/bus_stops/download.json").status_code == 404
    assert "✗ CSV 文件校验和一致" in html and "✗ JSON 文件存在" in html
