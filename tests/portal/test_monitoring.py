"""The portal's monitoring: Prometheus /metrics and /healthz, per-key quotas and rate limits (429,
Retry-After, X-RateLimit-*), and alerts for a key reading far above its usual and for a client collecting 403s."""

from __future__ import annotations

import time
import warnings

import pytest
from prometheus_client.parser import text_string_to_metric_families

from portal.app import create_app
from sudata.monitoring.alerts import AlertStore

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def _samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def test_the_metrics_endpoint_reports_latency_errors_and_the_age_of_each_current_version(client, paths):
    from sudata.store import PublishedStore

    assert client.get("/api/3/action/package_list").status_code == 200
    assert client.get("/api/3/action/package_show", params={"id": "no_such_dataset"}).status_code == 404
    assert client.get("/no/such/page/12345").status_code == 404
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = _samples(r.text)
    count = [s for s in samples["sudata_portal_request_duration_seconds_count"]
             if s.labels["route"] == "/api/3/action/package_list" and s.labels["status"] == "2xx"]
    assert count and count[0].value >= 1
    buckets = [s for s in samples["sudata_portal_request_duration_seconds_bucket"]
               if s.labels["route"] == "/api/3/action/package_list" and s.labels["le"] == "+Inf"]
    assert buckets and buckets[0].value == count[0].value
    routes = {s.labels["route"] for s in samples["sudata_portal_requests_total"]}
    assert "unmatched" in routes and not any("12345" in r for r in routes), "labels stay bounded"
    errors = [s for s in samples["sudata_portal_errors_total"]
              if s.labels["status"] == "404" and s.labels["route"] == "/api/3/action/package_show"]
    assert errors and errors[0].value >= 1
    ages = {s.labels["dataset"]: s.value for s in samples["sudata_dataset_current_version_age_seconds"]}
    published = {d["name"] for d in PublishedStore(paths.published).datasets() if d["current_version"]}
    assert set(ages) == published and all(v >= 0 for v in ages.values())
    assert "/metrics" not in {s.labels["route"] for s in samples["sudata_portal_errors_total"]}


def test_healthz_says_the_catalog_answers(client, paths):
    from sudata.store import PublishedStore

    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["datasets"] == len(PublishedStore(paths.published).datasets())


@pytest.fixture
def limited(paths, monkeypatch):
    monkeypatch.setenv("SUDATA_RATE_LIMIT_KEY", "5")
    monkeypatch.setenv("SUDATA_RATE_LIMIT_ANON", "1000")
    monkeypatch.setenv("SUDATA_KEY_DAILY_QUOTA", "8")
    monkeypatch.setenv("SUDATA_ALERT_DENIED", "4")
    monkeypatch.setenv("SUDATA_ALERT_KEY_SPIKE_MIN", "3")
    monkeypatch.delenv("SUDATA_ALERTS", raising=False)
    with TestClient(create_app(paths)) as c:
        yield c


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(limited, access):
    key = {"Authorization": access.issue("dataset", "taxi_operations", "限速测试")}
    remaining = []
    for _ in range(5):
        r = limited.get("/api/3/action/package_list", headers=key)
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limit"] == "5" and 1 <= int(r.headers["x-ratelimit-reset"]) <= 60
        remaining.append(int(r.headers["x-ratelimit-remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    r = limited.get("/api/3/action/package_list", headers=key)
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60 and r.headers["x-ratelimit-remaining"] == "0"
    assert r.json()["success"] is False and r.json()["error"]["__type"] == "Rate Limit Error"
    # Others are not held back by one key, and health and metrics are never limited.
    assert limited.get("/api/3/action/package_list").status_code == 200
    assert limited.get("/healthz").status_code == 200 and limited.get("/metrics").status_code == 200
    assert "x-ratelimit-limit" not in limited.get("/healthz").headers


def test_a_key_over_its_daily_quota_waits_for_the_next_day(limited, access, monkeypatch):
    import portal.ratelimit as rl

    key = {"Authorization": access.issue("dataset", "taxi_operations", "配额测试")}
    clock = [1_800_000_000.0]
    monkeypatch.setattr(rl.time, "time", lambda: clock[0])
    codes = []
    for _ in range(9):
        clock[0] += 61  # a new minute each time: only the day's quota can stop it
        codes.append(limited.get("/api/3/action/package_list", headers=key).status_code)
    assert codes == [200] * 8 + [429]
    r = limited.get("/api/3/action/package_list", headers=key)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
    assert r.headers["x-ratelimit-limit"] == "8"


def _wait_for(paths, kind: str, about: str = "") -> list[dict]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [a for a in AlertStore(paths.alerts).list(kind=kind, limit=1000) if about in a["message"]]
        if found:
            return found
        time.sleep(0.05)
    return []


def test_a_client_collecting_403s_raises_one_alert(limited, paths):
    for _ in range(6):
        r = limited.get("/api/3/action/datastore_search", params={"resource_id": "taxi_operations"})
        assert r.status_code == 403
    (alert,) = _wait_for(paths, "access_denied")
    assert alert["subject"] == "ip:testclient" and "4 times" in alert["message"]
    assert "sudata keys log" in alert["message"]


def test_a_key_reading_far_above_its_baseline_raises_an_alert(limited, paths, access):
    token = access.issue("dataset", "taxi_operations", "突增测试")
    for _ in range(4):
        assert limited.get("/api/3/action/package_list", headers={"Authorization": token}).status_code == 200
    spikes = _wait_for(paths, "access_spike", about="突增测试")
    assert len(spikes) == 1
    assert "sudata keys revoke" in spikes[0]["message"] and spikes[0]["details"]["reads"] == 4
