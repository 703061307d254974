"""Prometheus ``/metrics`` and ``/healthz`` for the portal (prometheus-client).

- ``sudata_portal_request_duration_seconds`` (histogram; method, route template, status class)
- ``sudata_portal_requests_total`` and ``sudata_portal_errors_total`` (status 4xx/5xx; method, route, status)
- ``sudata_dataset_current_version_age_seconds`` (gauge per dataset, read from the published store at scrape)
- ``sudata_dataset_current_version`` (gauge per dataset)

Each app has its own registry, so several apps in one process (tests) do not share counters.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from .ckan import ACTIONS

router = APIRouter()

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class VersionAges:
    """A collector: the age and number of every dataset's current version, read when Prometheus scrapes."""

    def __init__(self, store):
        self.store = store

    def collect(self):
        age = GaugeMetricFamily("sudata_dataset_current_version_age_seconds",
                                "Seconds since the current version of a dataset was published", labels=["dataset"])
        number = GaugeMetricFamily("sudata_dataset_current_version", "Current version number of a dataset",
                                   labels=["dataset"])
        now = datetime.now(timezone.utc)
        for d in self.store.overview():
            cur = d["current"]
            if not cur:
                continue  # never published: no age rather than a sentinel
            published = datetime.fromisoformat(cur["published_at"])
            age.add_metric([d["name"]], (now - published).total_seconds())
            number.add_metric([d["name"]], cur["version"])
        yield age
        yield number


class Metrics:
    def __init__(self, store):
        self.registry = CollectorRegistry()
        self.duration = Histogram("sudata_portal_request_duration_seconds", "Time to answer a request",
                                  ["method", "route", "status"], buckets=BUCKETS, registry=self.registry)
        self.requests = Counter("sudata_portal_requests", "Requests answered", ["method", "route", "status"],
                                registry=self.registry)
        self.errors = Counter("sudata_portal_errors", "Requests answered with an error status (4xx, 5xx)",
                              ["method", "route", "status"], registry=self.registry)
        self.registry.register(VersionAges(store))


class MetricsMiddleware:
    """ASGI middleware timing every request; the route template (not the raw path) keeps labels bounded."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def tracking_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route = _route_label(scope)
            labels = (scope.get("method", ""), route, f"{status // 100}xx")
            self.metrics.duration.labels(*labels).observe(time.perf_counter() - started)
            self.metrics.requests.labels(labels[0], route, str(status)).inc()
            if status >= 400:
                self.metrics.errors.labels(labels[0], route, str(status)).inc()


def _route_label(scope) -> str:
    """The route template; a CKAN action is named (one route answers them all), an unknown name is not."""
    route = getattr(scope.get("route"), "path", None)
    if route is None:
        return "/static" if scope.get("path", "").startswith("/static/") else "unmatched"
    if route.endswith("/action/{name}"):
        name = (scope.get("path_params") or {}).get("name")
        if name in ACTIONS:
            return route.removesuffix("{name}") + name
    return route


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    """200 while the published store's catalog answers; 503 when it cannot be read."""
    store = request.app.state.portal.store
    try:
        datasets = store.datasets() if store.exists() else []
    except Exception as exc:  # the catalog index is unreadable: say so, without the engine's text
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    current = sum(1 for d in datasets if d.get("current_version"))
    return JSONResponse({"status": "ok", "datasets": len(datasets), "published": current,
                         "store": "present" if store.exists() else "empty"})
