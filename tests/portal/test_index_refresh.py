"""The in-memory index follows the store: a publication is visible on the next request."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from portal.app import create_app
from portal.catalog import CatalogIndex
from sudata.settings import Paths
from sudata.store import PublishedStore

from .conftest import TestClient, free_port, start_server
from .synthetic import publish, rows_for, spec

SMALL = [spec("bus_routes"), spec("schools"), spec("taxi_operations")]


@pytest.fixture
def home(tmp_path):
    store = PublishedStore(tmp_path / "published")
    for s in SMALL:
        publish(store, s, 1)
    return tmp_path


def test_starts_on_an_empty_home_and_picks_up_the_first_publication(tmp_path):
    paths = Paths(home=tmp_path, raw=tmp_path / "raw")
    with TestClient(create_app(paths)) as c:
        assert c.get("/api/3/action/package_list").json()["result"] == []
        assert c.get("/").status_code == 200
        publish(PublishedStore(paths.published), spec("schools"), 1)
        assert c.get("/api/3/action/package_list").json()["result"] == ["schools"]


def test_new_version_new_dataset_and_open_type_change_are_seen(home):
    paths = Paths(home=home, raw=home / "raw")
    store = PublishedStore(paths.published)
    with TestClient(create_app(paths)) as c:
        show = lambda name: c.get("/api/3/action/package_show", params={"id": name})  # noqa: E731
        assert show("bus_routes").json()["result"]["version"] == "1"
        before = c.get("/dataset/bus_routes/download.csv").headers["etag"]
        publish(store, spec("bus_routes"), 2, rows_for(spec("bus_routes"), 2, n=7))
        pkg = show("bus_routes").json()["result"]
        assert pkg["version"] == "2"
        r = c.get("/dataset/bus_routes/download.csv")
        assert r.headers["etag"] != before and r.content.count(b"\n") == 8
        assert c.get("/api/3/action/datastore_search", params={"resource_id": "bus_routes"}).json()["result"]["total"] == 7
        assert c.get("/dataset/bus_routes/version/1/download.csv").status_code == 200
        # a new dataset
        publish(store, spec("hospitals"), 1)
        assert "hospitals" in c.get("/api/3/action/package_list").json()["result"]
        # a dataset that becomes closed disappears at once
        closed = dataclasses.replace(spec("schools"), open_type="closed")
        publish(store, closed, 2)
        assert show("schools").status_code == 404
        assert c.get("/dataset/schools/download.csv").status_code == 404
        assert "schools" not in c.get("/api/3/action/package_list").json()["result"]


def test_blocked_run_does_not_change_what_is_served(home):
    paths = Paths(home=home, raw=home / "raw")
    store = PublishedStore(paths.published)
    from .synthetic import entry, quality

    with TestClient(create_app(paths)) as c:
        v = c.get("/api/3/action/package_show", params={"id": "bus_routes"}).json()["result"]["version"]
        bad = quality(spec("bus_routes"), 2, 1, 60)
        bad.update(passed=False, score=0.2)
        store.record_blocked(entry(spec("bus_routes")), run_id="r", drop_date="2024-04-01", quality=bad)
        assert c.get("/api/3/action/package_show", params={"id": "bus_routes"}).json()["result"]["version"] == v
        page = c.get("/dataset/bus_routes").text
        assert "未通过质量门禁" in page


def test_the_change_check_is_cheap_and_rebuilds_only_on_change(home):
    index = CatalogIndex(PublishedStore(home / "published"))
    first = index.current()
    assert index.current() is first and not index.stale()
    publish(PublishedStore(home / "published"), spec("bus_routes"), 2)
    assert index.stale()
    second = index.current()
    assert second is not first and second.generation == first.generation + 1
    assert second.get("bus_routes").current_version == 2


def test_concurrent_readers_during_publications_never_fail(home):
    """Readers hammer the live server while versions are published: no error, every answer whole."""
    import httpx

    port = free_port()
    proc = start_server(home, port)
    errors: list[str] = []
    stop = threading.Event()

    def reader():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as h:
            while not stop.is_set():
                r = h.get("/api/3/action/package_search", params={"q": "公交", "rows": 5})
                if r.status_code != 200 or r.json()["result"]["count"] != 1:
                    errors.append(r.text[:200])
                r = h.get("/dataset/bus_routes/download.csv")
                if r.status_code != 200 or int(r.headers["content-length"]) != len(r.content):
                    errors.append(f"download {r.status_code}")

    threads = [threading.Thread(target=reader) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        store = PublishedStore(home / "published")
        for v in range(2, 6):
            publish(store, spec("bus_routes"), v)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as h:
            assert h.get("/api/3/action/package_show", params={"id": "bus_routes"}).json()["result"]["version"] == "5"
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=15)
    assert errors == []


def test_changes_are_seen_even_when_sqlite_cannot_watch_the_index(home, monkeypatch):
    """Without a watch connection (e.g. no write access for SQLite's shared-memory file), the
    modification times of the index and its write-ahead log tell that something changed."""
    import sqlite3

    index = CatalogIndex(PublishedStore(home / "published"))

    def refuse():
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(index, "_open_watch", refuse)
    first = index.current()
    assert index._watch is None and not index.stale()
    publish(PublishedStore(home / "published"), spec("bus_routes"), 2)
    assert index.stale()
    assert index.current().get("bus_routes").current_version == 2
    assert first.get("bus_routes").current_version == 1
