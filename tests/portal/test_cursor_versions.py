"""Keyset cursors pin the version they were issued on: a page sequence that straddles a publication
reads one version from start to end; cursors are signed with the portal's secret."""

from __future__ import annotations

import warnings

import pytest

from portal.app import create_app
from portal.datastore import Cursor, encode_cursor
from portal.secret import ENV, load_secret
from portal.signing import Signer
from sudata.settings import Paths
from sudata.store import PublishedStore

from .synthetic import publish, rows_for, spec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BUS = spec("bus_routes")
URL = "/api/3/action/datastore_search"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    store = PublishedStore(tmp_path / "published")
    publish(store, BUS, 1)
    publish(store, BUS, 2)
    return tmp_path


def page(c, **params) -> dict:
    r = c.get(URL, params={"resource_id": "bus_routes", "sort": "name", "limit": 25, "fields": "id,amount", **params})
    assert r.status_code == 200, r.text
    return r.json()["result"]


def test_a_page_sequence_straddling_a_publication_reads_one_version(home):
    store = PublishedStore(home / "published")
    with TestClient(create_app(Paths(home=home, raw=home / "raw"))) as c:
        first = page(c)
        assert first["version"] == 2
        # a new night is published between two pages; its amounts differ from version 2's
        publish(store, BUS, 3)
        assert page(c)["version"] == 3  # a new sequence reads the new version
        records, cursor = list(first["records"]), first["next_cursor"]
        while cursor:
            nxt = page(c, cursor=cursor)
            assert nxt["version"] == 2
            records += nxt["records"]
            cursor = nxt.get("next_cursor")
    expected = sorted(rows_for(BUS, 2), key=lambda r: f"{r['name']}")
    assert [(r["id"], r["amount"]) for r in records] == [(r["id"], r["amount"]) for r in expected]
    assert len({r["id"] for r in records}) == len(records)  # no row twice


def test_cursors_survive_a_restart_and_are_signed_with_a_secret_made_once(home):
    paths = Paths(home=home, raw=home / "raw")
    with TestClient(create_app(paths)) as c:
        cursor = page(c)["next_cursor"]
    secret_file = paths.portal_db.parent / "secret"
    assert secret_file.stat().st_mode & 0o077 == 0  # readable by the portal's user only
    assert load_secret(paths.portal_db.parent) == secret_file.read_text().strip().encode()
    with TestClient(create_app(paths)) as c:
        assert page(c, cursor=cursor)["version"] == 2


def test_a_cursor_signed_with_another_secret_is_refused(home, monkeypatch):
    paths = Paths(home=home, raw=home / "raw")
    with TestClient(create_app(paths)) as c:
        cursor = page(c)["next_cursor"]
    monkeypatch.setenv(ENV, "another secret")
    with TestClient(create_app(paths)) as c:
        r = c.get(URL, params={"resource_id": "bus_routes", "sort": "name", "limit": 25, "fields": "id,amount",
                               "cursor": cursor})
    assert r.status_code == 409
    assert r.json()["error"]["__type"] == "Validation Error"
    assert "not a cursor issued by this portal" in r.json()["error"]["message"]


def test_a_cursor_on_a_version_no_longer_published_fails_clearly(home):
    paths = Paths(home=home, raw=home / "raw")
    with TestClient(create_app(paths)) as c:
        spec_hash = Signer(load_secret(paths.portal_db.parent), "datastore_search cursor").loads(
            page(c)["next_cursor"])["q"]
        signer = Signer(load_secret(paths.portal_db.parent), "datastore_search cursor")
        gone = encode_cursor(signer, Cursor("bus_routes", 7, spec_hash, ["x", 1]))
        r = c.get(URL, params={"resource_id": "bus_routes", "sort": "name", "limit": 25, "fields": "id,amount",
                               "cursor": gone})
    assert r.status_code == 409
    assert "version 7 of bus_routes is no longer published" in r.json()["error"]["message"]
