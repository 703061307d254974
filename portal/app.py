"""The portal's ASGI application: ``create_app(paths)`` (uvicorn: ``portal.app:create_app --factory``).

The portal reads only the published store (``catalog.sqlite`` opened read-only, version files
streamed or queried in place) and writes only its own stores: the key store and access log, and the
operation store (applications, zone queries and releases, under ``$SUDATA_HOME/operation``).
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from .access import AccessStore
from operation.store import OperationStore
from sudata.assembled import is_assembled, missing_pieces, piece_paths
from sudata.settings import Paths, get_paths
from sudata.store import PublishedStore

from . import applications, ckan, credit, dcat, feeds, files, kpi, products, web, zone, zone_pages
from .auth import Gate
from .errors import ServerErrorGuard
from .metrics import Metrics, MetricsMiddleware
from .metrics import router as metrics_router
from .ratelimit import RateLimit
from .secret import load_secret
from .signing import Signer
from .catalog import DATA_FORMATS, CatalogIndex, Dataset, Version
from .datastore import Datastore

HERE = Path(__file__).resolve().parent
PROJECTION_SWEEP_SECONDS = 3600


class Portal:
    """Everything a request handler needs, on ``app.state.portal``."""

    def __init__(self, paths: Paths):
        self.paths = paths
        self.store = PublishedStore(paths.published)
        self.catalog = CatalogIndex(self.store)
        self.access = AccessStore(paths.portal_db)
        self.operation = OperationStore(paths.operation_db)
        self.gate = Gate(self.access, self.operation)
        self.datastore = Datastore()
        self.secret = load_secret(paths.portal_db.parent)
        self.cursor_signer = Signer(self.secret, "datastore_search cursor")
        self._projections_swept = float("-inf")

    def sweep_projections(self) -> None:
        """At most once an hour: the field subsets kept for authorisations that ended (period over,
        credential revoked) are deleted (:meth:`OperationStore.remove_ended_projections`)."""
        if time.monotonic() - self._projections_swept >= PROJECTION_SWEEP_SECONDS:
            self._projections_swept = time.monotonic()
            self.operation.remove_ended_projections()

    def file_path(self, d: Dataset, v: Version, fmt: str) -> Path | None:
        """The file of one format of a version, if it is in the store as one plain file."""
        located = self.version_file(d, v, fmt)
        if located is None or is_assembled(located[1]):
            return None
        return located[0] / located[1]["path"]

    def version_file(self, d: Dataset, v: Version, fmt: str) -> tuple[Path, dict] | None:
        """The version's directory and its index entry for ``fmt``, if every piece of the file is in the
        store (a plain file, or the parts of an assembled one: :mod:`sudata.assembled`)."""
        if fmt not in DATA_FORMATS:
            return None
        f = v.file(fmt)
        if not f:
            return None
        root = self.store.root.resolve()
        directory = (self.store.root / v.path).resolve()
        if any(root not in (directory / piece).resolve().parents for piece in piece_paths(f)):
            return None
        if missing_pieces(directory, f):
            return None
        return directory, f

    def close(self) -> None:
        self.catalog.close()
        self.datastore.close()


def _suonline_router():
    try:
        from portal.suonline.routes import router
    except ModuleNotFoundError as exc:
        if exc.name in ("portal.suonline", "portal.suonline.routes"):
            return None
        raise
    return router


def _alerter(paths: Paths):
    from sudata.monitoring.channels import Alerter

    return Alerter(paths)


def create_app(paths: Paths | None = None) -> FastAPI:
    paths = paths or get_paths()
    portal = Portal(paths)
    portal.catalog.refresh()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        portal.sweep_projections()
        yield
        portal.close()

    app = FastAPI(
        title="苏州公共数据开放平台 · Su Data Foundation open catalog",
        description=(
            "CKAN-compatible Action API (`/api/3/action/<name>`), downloads of every published version, "
            "DCAT-AP JSON-LD and DCAT-US catalogs, Frictionless data packages, and the web catalog."
        ),
        version="1.0",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # the portal's metrics are Prometheus' (portal.metrics); FastAPI's OpenTelemetry hooks would look
        # for a configured provider on every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # innermost: quotas and rate limits per key or address (portal.ratelimit), inside CORS so browsers see a 429
    app.add_middleware(RateLimit, access=portal.access, alerter_factory=lambda: _alerter(paths))
    # open data: browser applications on other sites may call the API (keys travel in a header, never cookies)
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "HEAD"],
                       allow_headers=["Authorization", "X-CKAN-API-Key", "Content-Type"],
                       expose_headers=["ETag", "Last-Modified", "X-Dataset-Version", "Retry-After",
                                       "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"],
                       max_age=86400)
    app.add_middleware(ServerErrorGuard)
    app.state.metrics = Metrics(portal.store)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: times every answer, 500s too
    app.state.portal = portal
    app.state.paths = paths
    app.include_router(metrics_router)
    app.include_router(ckan.router)
    app.include_router(files.router)
    app.include_router(dcat.router)
    app.include_router(feeds.router)
    app.include_router(applications.router)
    app.include_router(zone.router)
    app.include_router(zone_pages.router)
    app.include_router(credit.router)
    app.include_router(products.router)
    suonline = _suonline_router()
    if suonline is not None:
        app.include_router(suonline, prefix="/suonline")
    app.include_router(kpi.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app
