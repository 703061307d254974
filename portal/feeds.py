"""Atom 1.0 feed of new and updated datasets (``/feeds/datasets.atom``, RFC 4287), newest first.

Built with the stdlib's ElementTree, so every title and summary is escaped; cached per snapshot."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .catalog import OPEN_TYPE_LABELS, Dataset, parse_time
from .ckan import public_base
from .search import search

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
router = APIRouter(tags=["Feeds"])


def _time(value: str | None) -> str:
    dt = parse_time(value) or datetime(1970, 1, 1, tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _summary(d: Dataset) -> str:
    parts = [f"{d.department_name} · {OPEN_TYPE_LABELS.get(d.open_type, d.open_type)}"]
    if d.versions and not d.harvest and not d.directory:
        parts.append(f"第 {d.current_version} 版，{d.current.row_count:,} 行")
    if d.description:
        parts.append(d.description)
    return "。".join(parts)


def datasets_feed(snap, base: str) -> bytes:
    ET.register_namespace("", ATOM)
    result = search(snap, sort="metadata_modified desc", rows=FEED_SIZE)
    entries = [snap.datasets[i] for i in result.positions]
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _sub(feed, "id", f"{base}/feeds/datasets.atom")
    _sub(feed, "title", "苏州公共数据开放平台 · 新增和更新的数据集")
    _sub(feed, "updated", _time(entries[0].updated_at if entries else None))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/feeds/datasets.atom")
    _sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/?sort=modified")
    _sub(_sub(feed, "author"), "name", "苏州公共数据开放平台")
    for d in entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"urn:uuid:{d.id}")
        _sub(entry, "title", d.title)
        _sub(entry, "updated", _time(d.updated_at or d.created_at))
        _sub(entry, "published", _time(d.created_at))
        _sub(entry, "link", rel="alternate", type="text/html", href=f"{base}/dataset/{d.name}")
        _sub(_sub(entry, "author"), "name", d.department_name)
        if d.domain:
            _sub(entry, "category", term=d.domain)
        _sub(entry, "summary", _summary(d))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@router.get("/feeds/datasets.atom", summary="New and updated datasets as an Atom 1.0 feed")
async def datasets_atom(request: Request) -> Response:
    snap = await request.app.state.portal.catalog.acurrent()
    base = public_base(request)
    key = ("datasets.atom", base)
    body = snap.cache.get(key)
    if body is None:
        body = snap.cache[key] = datasets_feed(snap, base)
    return Response(body, media_type="application/atom+xml; charset=utf-8")
