"""Requests that once answered 500: each now gets a CKAN error (400 or 409) with a clear message, and no
engine's error text reaches the client."""

from __future__ import annotations

import base64
import json
import warnings

import pytest

from portal.app import create_app
from portal.errors import ServerErrorGuard

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BIG = str(2**70)
NESTED = "(" * 250 + "企业" + ")" * 250
ENGINE_WORDS = ("Conversion Error", "Binder Error", "INT64", "DuckDB", "Traceback", "duckdb")


def b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def first_cursor(api) -> str:
    return api("datastore_search", resource_id="enterprise_registry", sort="name", limit=5)["next_cursor"]


def clean(err: dict) -> dict:
    assert not any(w in json.dumps(err, ensure_ascii=False) for w in ENGINE_WORDS), err
    return err


# -- datastore_search cursors ---------------------------------------------------------------------
@pytest.mark.parametrize("forged", [
    b64({"q": 1, "v": {"a": 1}}),                               # bad JSON types
    b64([1, 2]),                                                 # not an object
    b64({"q": "0" * 16, "v": [{"n": "abc"}, 1]}),               # a non-numeric decimal
    b64({"q": "0" * 16, "v": ["x", 1]}) + ".AAAA",               # a made-up signature
    "not-base64!!.x",
])
def test_forged_or_malformed_cursor_is_a_validation_error(api, forged):
    err = clean(api.error("datastore_search", 409, "Validation Error", resource_id="enterprise_registry",
                          sort="name", cursor=forged))
    assert "cursor" in err["message"]


def test_altered_cursor_is_refused(api, first_cursor):
    body, sig = first_cursor.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["v"][-1] = 1  # back to the start: the values are readable, not writable
    forged = b64(payload) + "." + sig
    err = api.error("datastore_search", 409, "Validation Error", resource_id="enterprise_registry", sort="name",
                    cursor=forged)
    assert "not a cursor issued by this portal" in err["message"]


def test_cursor_of_another_query_or_table_is_refused(api, first_cursor):
    err = api.error("datastore_search", 409, "Validation Error", resource_id="enterprise_registry",
                    sort="district", cursor=first_cursor)
    assert "not a cursor of this query" in err["message"]
    api.error("datastore_search", 409, "Validation Error", resource_id="bus_routes", sort="name",
              cursor=first_cursor)


def test_cursor_of_a_non_string_type_is_refused(api):
    api.error("datastore_search", 409, "Validation Error", method="POST", resource_id="enterprise_registry",
              cursor={"v": [1]})


# -- integers beyond 64 bits --------------------------------------------------------------------------
@pytest.mark.parametrize("param", ["offset", "limit"])
def test_datastore_paging_beyond_64_bits(api, param):
    err = api.error("datastore_search", 409, "Validation Error", resource_id="enterprise_registry", **{param: BIG})
    assert "out of range" in err["message"]


def test_datastore_filter_beyond_64_bits(api):
    err = clean(api.error("datastore_search", 409, "Validation Error", method="POST",
                          resource_id="enterprise_registry", filters={"id": 2**70}))
    assert "out of range" in err["message"]


def test_filter_value_of_the_wrong_type_hides_the_engine_message(api):
    err = clean(api.error("datastore_search", 409, "Validation Error", method="POST",
                          resource_id="enterprise_registry", filters={"id": "abc"}))
    assert "does not fit its column's type" in err["message"]


def test_package_search_start_beyond_64_bits(api):
    api.error("package_search", 409, "Validation Error", start=BIG)


# -- nesting ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("param", ["q", "fq"])
def test_deeply_nested_parentheses_in_search(api, param):
    value = NESTED if param == "q" else "(" * 250 + "name:bus_routes" + ")" * 250
    err = api.error("package_search", 400, "Search Query Error", **{param: value})
    assert "nested more than" in err["message"]
    # a reasonable nesting still works
    assert api("package_search", **{param: "((name:bus_routes))"})["count"] == 1


def test_deeply_nested_parentheses_in_the_web_search(client):
    r = client.get("/", params={"q": NESTED})
    assert r.status_code == 200 and "nested more than" in r.text


def test_deeply_nested_json_body(client):
    for body in ("[" * 100_000 + "]" * 100_000, '{"q": ' + "[" * 100_000 + "]" * 100_000 + "}",
                 '{"q": ' + "[" * 500 + "]" * 500 + "}"):
        r = client.post("/api/3/action/package_search", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["__type"] == "Bad Request"


def test_deeply_nested_json_in_a_parameter(api):
    api.error("datastore_search", 409, "Validation Error", resource_id="enterprise_registry",
              filters='{"a": ' + "[" * 3000 + "]" * 3000 + "}")


# -- dates out of range --------------------------------------------------------------------------------
@pytest.mark.parametrize("bound", ["NOW+9000YEARS", "NOW-9000YEARS", "9999-12-31T23:59:59-05:00",
                                   "NOW+" + "9" * 5000 + "DAYS"])
def test_metadata_modified_range_out_of_range(api, bound):
    err = api.error("package_search", 400, "Search Query Error", fq=f"metadata_modified:[{bound} TO *]")
    assert "out of range" in err["message"] or "invalid date" in err["message"]


@pytest.mark.parametrize("since", ["NOW+9000YEARS", "0001-01-01T00:00:00+01:00", "* TO *] OR name:x"])
def test_dcat_modified_since_out_of_range(client, since):
    r = client.get("/catalog.jsonld", params={"modified_since": since})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["__type"] == "Search Query Error"
    assert client.get("/catalog.jsonld", params={"modified_since": "NOW-30DAYS"}).status_code == 200


# -- the last resort ------------------------------------------------------------------------------------
def test_unexpected_errors_get_a_generic_ckan_error(paths, monkeypatch, caplog):
    app = create_app(paths)
    assert any(m.cls is ServerErrorGuard for m in app.user_middleware)
    from portal import ckan

    def boom(ctx, p):
        raise RuntimeError("secret internals: Binder Error in duckdb")

    monkeypatch.setitem(ckan.ACTIONS, "status_show", ckan.Action(boom))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/3/action/status_show")
    assert r.status_code == 500
    assert r.json() == {"success": False, "error": {
        "__type": "Internal Server Error", "message": "Internal Server Error: the request could not be answered"}}
    assert "secret internals" in caplog.text  # logged for the operators
