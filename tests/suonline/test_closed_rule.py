"""The rule for closed data (不予开放): never out of the platform through the open catalog or a dataset key;
delivered inside it, through Su Online, to each unit's key as that unit's own slice where the model
declares ``su_online``."""

from .conftest import auth

CLOSED = "social_assistance_recipients"
STREET = "320508021"


def test_a_unit_key_reads_its_slice_of_a_declared_closed_dataset(world, client):
    key = world.keys[STREET]
    manifest = client.get(f"/suonline/units/{STREET}/manifest", headers=auth(key)).json()["result"]
    closed = next(d for d in manifest["datasets"] if d["name"] == CLOSED)
    assert closed["open_type"] == "closed"
    rows = client.get(f"/suonline/units/{STREET}/datasets/{CLOSED}", headers=auth(key)).json()["result"]
    assert rows["total"] == closed["row_count"]


def test_a_unit_key_does_not_open_closed_data_through_the_open_catalog(world, client):
    key = world.keys[STREET]
    r = client.get("/api/3/action/datastore_search", params={"resource_id": CLOSED}, headers=auth(key))
    assert r.status_code == 404 and r.json()["error"]["__type"] == "Not Found Error"
    assert client.get(f"/dataset/{CLOSED}/download.csv", headers=auth(key)).status_code == 404
    r = client.get("/api/3/action/package_show", params={"id": CLOSED}, headers=auth(key))
    assert r.status_code == 404


def test_a_closed_dataset_not_declared_for_su_online_is_not_delivered(world, client, monkeypatch):
    from portal.suonline import service

    real = service.is_suonline
    monkeypatch.setattr(service, "is_suonline", lambda d: real(d) and d["name"] != CLOSED)
    key = world.keys[STREET]
    names = [d["name"] for d in
             client.get(f"/suonline/units/{STREET}/manifest", headers=auth(key)).json()["result"]["datasets"]]
    assert CLOSED not in names
    assert client.get(f"/suonline/units/{STREET}/datasets/{CLOSED}", headers=auth(key)).status_code == 404
