"""Downloads and Frictionless data packages.

Stable URLs: ``/dataset/<name>/download.<fmt>`` is the current version,
``/dataset/<name>/version/<n>/download.<fmt>`` one immutable version. Files are streamed from the
published store (never read whole into memory), with a strong ``ETag`` (the file's SHA-256) and
``Last-Modified`` (the publication time), so ``If-None-Match`` / ``If-Modified-Since`` get a 304.
Conditional datasets need a key; every read of one is written to the access log.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from contextlib import asynccontextmanager
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from operation import downloads
from sudata.assembled import is_assembled, open_version_file

from .auth import request_token
from .catalog import DATA_FORMATS, Dataset, Version, parse_time
from .ckan import public_base
from .errors import ActionError, NotFound, error_response
from .jsonutil import dumps

router = APIRouter(tags=["Downloads"])


class _StreamedFile(FileResponse):
    """Streams in 1 MiB reads: each read is a hop to a worker thread, so fewer hops keep downloads
    from queueing behind busy threads when many clients are served at once."""

    chunk_size = 1024 * 1024


class _AssembledFile(_StreamedFile):
    """A file the store keeps as parts (:mod:`sudata.assembled`), served as one file: ranges, HEAD and
    conditional requests work as for a plain file, with the size and time the index records."""

    def __init__(self, directory: Path, entry: dict, published_at: float, **kwargs):
        self._directory, self._entry = directory, entry
        size = int(entry["size"])
        stat_result = os.stat_result((stat.S_IFREG | 0o444, 0, 0, 1, 0, 0, size, published_at, published_at, published_at))
        super().__init__(directory, stat_result=stat_result, **kwargs)

    @asynccontextmanager
    async def _open_file(self):
        file = anyio.wrap_file(open_version_file(self._directory, self._entry))
        try:
            yield file
        finally:
            with anyio.CancelScope(shield=True):
                await file.aclose()

    async def _handle_simple(self, send, send_header_only: bool, send_pathsend: bool) -> None:
        await super()._handle_simple(send, send_header_only, False)  # there is no one path to hand the server
_EXT_TO_FORMAT = {ext: key for key, (_, _, ext) in DATA_FORMATS.items()}


def _http_date(value: str | None) -> str | None:
    dt = parse_time(value)
    return format_datetime(dt, usegmt=True) if dt else None


def _not_modified(request: Request, etag: str, last_modified: str | None) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
    ims = request.headers.get("if-modified-since")
    if ims and last_modified:
        try:
            since = parsedate_to_datetime(ims)
            modified = parsedate_to_datetime(last_modified)
        except (TypeError, ValueError, IndexError):
            return False
        return modified <= since
    return False




def _resolve(request: Request, name: str, version: int | None) -> tuple[Dataset, Version]:
    snap = request.app.state.portal.catalog.current()
    d = snap.get(name)
    if d is None or d.name != name:
        raise NotFound(f"Dataset not found: {name}")
    v = d.current if version is None else d.version(version)
    if v is None:
        raise NotFound(f"Version {version} of {name} not found")
    return d, v


def _serve(request: Request, name: str, version: int | None, ext: str) -> Response:
    portal = request.app.state.portal
    fmt = _EXT_TO_FORMAT.get(ext)
    try:
        if fmt is None:
            raise NotFound(f"Unknown format: {ext} (csv, parquet, json)")
        d, v = _resolve(request, name, version)
        located = portal.version_file(d, v, fmt)
        if located is None:
            raise NotFound(f"{name} v{v.version} has no {ext} file")
        path = None if is_assembled(located[1]) else located[0] / located[1]["path"]
        action = f"download.{ext}"
        grant = portal.gate.admit(d, request_token(request.headers), action, rows=v.row_count,
                                  counted=request.method == "GET")
        if grant is not None and grant.columns is not None:
            path = _projection(portal, grant, d, v, fmt)
    except ActionError as exc:
        return error_response(exc)
    info = v.file(fmt) or {}
    sha = info.get("sha256")
    if sha:
        etag = f'"{sha[:40]}"'
    else:  # a plain file the index has no checksum of
        st = path.stat()
        etag = '"' + hashlib.sha256(f"{path}:{st.st_mtime_ns}:{st.st_size}".encode()).hexdigest()[:40] + '"'
    if grant is not None and grant.columns is not None:  # another file: another tag
        etag = '"' + hashlib.sha256(f"{etag}:{','.join(grant.columns)}".encode()).hexdigest()[:40] + '"'
    last_modified = _http_date(v.published_at)
    headers = {
        **dict(grant.headers if grant else ()),
        "ETag": etag,
        "Cache-Control": ("private" if d.conditional else "public")
        + (", max-age=31536000, immutable" if version is not None else ", max-age=60"),
        "X-Dataset-Version": str(v.version),
    }
    if last_modified:
        headers["Last-Modified"] = last_modified
    if d.conditional:
        headers["Vary"] = "Authorization, X-CKAN-API-Key"
    if _not_modified(request, etag, last_modified):
        portal.gate.record(grant, action, d, 0, 304)
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":  # headers only: no row leaves, so none is counted
        portal.gate.record(grant, f"head.{ext}", d, None, 200)
    else:
        portal.gate.record(grant, action, d, v.row_count, 200)
        if (request.headers.get("range") or "bytes=0-").replace(" ", "").startswith("bytes=0-"):
            portal.access.count_download(d.name, fmt)  # a resumed download (a later range) is not a new one
    media = info.get("media_type") or DATA_FORMATS[fmt][1]
    if fmt == "csv" and "charset" not in media:
        media += "; charset=utf-8"
    attachment = {"media_type": media, "headers": headers, "filename": f"{d.name}-v{v.version:06d}.{ext}",
                  "content_disposition_type": "attachment"}
    if path is None:
        published = parse_time(v.published_at)
        return _AssembledFile(located[0], located[1], published.timestamp() if published else 0.0, **attachment)
    return _StreamedFile(path, **attachment)


def _projection(portal, grant, d: Dataset, v: Version, fmt: str) -> Path:
    """The version's file with only the grant's columns (``operation.downloads``), never the full file."""
    parquet = portal.file_path(d, v, "parquet")
    if fmt not in downloads.PROJECTION_FORMATS or parquet is None:
        raise NotFound(f"{d.name}: this authorisation opens some fields only, served as"
                       f" {' or '.join(downloads.PROJECTION_FORMATS)} (download.csv, download.parquet)")
    app_id = int(grant.scope.rsplit(":", 1)[1])
    portal.sweep_projections()  # a portal that runs for weeks drops the subsets of ended authorisations
    return downloads.projection(portal.operation.projections_dir, app_id, d.name, v.version, parquet,
                                list(grant.columns), fmt)


def download_current(name: str, ext: str, request: Request) -> Response:
    return _serve(request, name, None, ext)


def download_version(name: str, version: int, ext: str, request: Request) -> Response:
    return _serve(request, name, version, ext)


for _method in ("GET", "HEAD"):
    router.add_api_route("/dataset/{name}/download.{ext}", download_current, methods=[_method],
                         summary="Download the current version (csv, parquet, json)",
                         operation_id=f"download_current_{_method.lower()}")
    router.add_api_route("/dataset/{name}/version/{version}/download.{ext}", download_version, methods=[_method],
                         summary="Download one version (csv, parquet, json)",
                         operation_id=f"download_version_{_method.lower()}")


# -- datapackage.json ------------------------------------------------------------------------------
def datapackage(d: Dataset, v: Version, base: str, store_root: Path) -> dict:
    """The version's ``datapackage.json`` with resource paths made absolute download URLs."""
    src = store_root / v.path / "datapackage.json"
    pkg: dict | None = None
    if src.is_file():
        try:
            pkg = json.loads(src.read_text("utf-8-sig"))
        except ValueError:
            pkg = None
    by_path = {}
    for fmt, (_, _, ext) in DATA_FORMATS.items():
        f = v.file(fmt)
        if f:
            by_path[f["path"]] = f"{base}/dataset/{d.name}/version/{v.version}/download.{ext}"
    if not isinstance(pkg, dict) or not isinstance(pkg.get("resources"), list):
        csv = v.file("csv")
        pkg = {
            "profile": "tabular-data-package", "name": d.name, "title": d.title,
            "resources": [{
                "name": d.name, "path": csv["path"], "profile": "tabular-data-resource", "format": "csv",
                "mediatype": "text/csv", "encoding": "utf-8-sig", "schema": _table_schema(d, v),
            }] if csv else [],
        }
    for res in pkg["resources"]:
        if not isinstance(res, dict):
            continue
        path = res.get("path")
        if isinstance(path, str) and path in by_path:
            res["path"] = by_path[path]
        elif isinstance(path, list):
            res["path"] = [by_path.get(p, p) if isinstance(p, str) else p for p in path]
    pkg.setdefault("name", d.name)
    pkg.setdefault("title", d.title)
    pkg.setdefault("version", str(v.version))
    pkg.setdefault("homepage", f"{base}/dataset/{d.name}")
    pkg.setdefault("created", v.published_at)
    return pkg


def _table_schema(d: Dataset, v: Version) -> dict:
    if d.current is v and isinstance(d.schema, dict) and d.schema.get("fields"):
        return d.schema
    return {"fields": [{"name": c["name"], "type": "any", "title": c.get("title") or c["name"]} for c in d.columns]}


def _datapackage_response(request: Request, name: str, version: int | None) -> Response:
    portal = request.app.state.portal
    try:
        d, v = _resolve(request, name, version)
    except ActionError as exc:
        return error_response(exc)
    body = dumps(datapackage(d, v, public_base(request), portal.store.root))
    etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    lm = _http_date(v.published_at)
    if lm:
        headers["Last-Modified"] = lm
    if _not_modified(request, etag, lm):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/dataset/{name}/datapackage.json", summary="Frictionless data package of the current version")
def datapackage_current(name: str, request: Request) -> Response:
    return _datapackage_response(request, name, None)


@router.get("/dataset/{name}/version/{version}/datapackage.json", summary="Frictionless data package of one version")
def datapackage_version(name: str, version: int, request: Request) -> Response:
    return _datapackage_response(request, name, version)
