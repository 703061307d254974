"""The web catalog: server-rendered Chinese HTML (Jinja2), no front-end build step."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from operation.products import Products
from sudata.vocabulary import ALL_DIMENSIONS

from .catalog import (
    DATA_FORMATS, DIMENSION_LABELS, DIMENSIONS, GRADE_LABELS, OPEN_TYPE_LABELS, Dataset, Version, parse_time,
)
from .ckan import public_base
from .quality_page import accessibility, blocked_update, preview_rows
from .search import SearchQueryError, search

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
FACETS = (  # (field, heading)
    ("organization", "提供部门"),
    ("domain", "所属领域"),
    ("open_type", "开放属性"),
    ("res_format", "文件格式"),
    ("update_frequency", "更新频率"),
    ("harvest_source", "汇聚来源"),
)
SORTS = {
    "": ("相关度", None),
    "modified": ("最近更新", "metadata_modified desc"),
    "title": ("名称", "title_string asc"),
}


def score_pct(score) -> float | None:
    """Quality scores as percentages (reports give 0–1 or 0–100)."""
    if score is None:
        return None
    try:
        s = float(score)
    except (TypeError, ValueError):
        return None
    return round(s * 100 if s <= 1.0 else s, 1)


def local_time(value: str | None, with_time: bool = True) -> str:
    dt = parse_time(value)
    if not dt:
        return ""
    from zoneinfo import ZoneInfo

    from sudata.settings import TIMEZONE

    dt = dt.astimezone(ZoneInfo(TIMEZONE))
    return dt.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def human_size(n) -> str:
    try:
        n = float(n)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


templates.env.filters["local_time"] = local_time
templates.env.filters["human_size"] = human_size
templates.env.filters["pct"] = score_pct
templates.env.globals.update(
    OPEN_TYPE_LABELS=OPEN_TYPE_LABELS, GRADE_LABELS=GRADE_LABELS, DIMENSION_LABELS=DIMENSION_LABELS,
    DIMENSIONS=DIMENSIONS, ALL_DIMENSIONS=ALL_DIMENSIONS, DATA_FORMATS=DATA_FORMATS,
)


def score_chart(versions: list[Version], width: int = 640, height: int = 180) -> dict | None:
    """Geometry of the quality-history chart (an inline SVG drawn by the template)."""
    points = [(v.version, score_pct(v.score), v) for v in versions if score_pct(v.score) is not None]
    if not points:
        return None
    left, right, top, bottom = 44, 16, 14, 30
    lo = min(p[1] for p in points)
    y_min = 0.0 if lo < 50 else float(int(lo // 10 * 10) - (10 if lo % 10 == 0 and lo > 0 else 0))
    y_min = max(0.0, min(y_min, 90.0))
    y_max = 100.0
    span_x = max(1, len(points) - 1)
    inner_w, inner_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return round(left + (inner_w * i / span_x if len(points) > 1 else inner_w / 2), 1)

    def y(s: float) -> float:
        return round(top + inner_h * (1 - (s - y_min) / (y_max - y_min)), 1)

    marks = [{"x": x(i), "y": y(s), "version": n, "score": s, "passed": v.passed,
              "label": local_time(v.published_at, False)} for i, (n, s, v) in enumerate(points)]
    ticks = [{"y": y(t), "label": f"{t:g}"} for t in (y_min, (y_min + y_max) / 2, y_max)]
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top,
        "bottom": height - bottom, "marks": marks, "ticks": ticks,
        "polyline": " ".join(f"{m['x']},{m['y']}" for m in marks),
        "step": max(1, len(marks) // 8),
    }


def _url(params: dict[str, list[str]], **changes) -> str:
    """The search URL with some parameters changed (a value of None removes the parameter)."""
    out = {k: list(v) for k, v in params.items()}
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v if isinstance(v, list) else [v]
    if "page" not in changes:
        out.pop("page", None)
    items = [(k, x) for k, vs in out.items() for x in vs if x != ""]
    return "/?" + urlencode(items) if items else "/"


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    snap = await request.app.state.portal.catalog.acurrent()
    qp = request.query_params
    params: dict[str, list[str]] = {}
    for k, v in qp.multi_items():
        if k in ("q", "sort", "page", "tags") or k in dict(FACETS):
            params.setdefault(k, []).append(v)
    q = (qp.get("q") or "").strip()
    sort_key = qp.get("sort") or ""
    if sort_key not in SORTS:
        sort_key = ""
    try:
        page = max(1, int(qp.get("page") or 1))
    except ValueError:
        page = 1
    filters = {k: params[k] for k, _ in FACETS if k in params}
    if "tags" in params:
        filters["tags"] = params["tags"]
    error = None
    try:
        sort = SORTS[sort_key][1] or ("score desc, metadata_modified desc" if q else "metadata_modified desc")
        result = search(snap, q=q, sort=sort, start=(page - 1) * PAGE_SIZE, rows=PAGE_SIZE,
                        facet_fields=[f for f, _ in FACETS], facet_limit=50, filters=filters)
    except SearchQueryError as exc:
        error = str(exc)
        result = search(snap, rows=0, facet_fields=[f for f, _ in FACETS])
        result.count = 0
    pages = max(1, -(-result.count // PAGE_SIZE))
    facets = []
    for fname, heading in FACETS:
        selected = params.get(fname, [])
        items = []
        for value, count in result.facets.get(fname, []):
            active = value in selected
            label = value
            if fname == "organization":
                o = snap.org_by_key.get(value)
                label = o.title if o else value
            elif fname == "open_type":
                label = OPEN_TYPE_LABELS.get(value, value)
            new = [s for s in selected if s != value] if active else selected + [value]
            items.append({"value": value, "label": label, "count": count, "active": active,
                          "url": _url(params, **{fname: new or None})})
        facets.append({"field": fname, "heading": heading, "items": items})
    active_filters = []
    for fname, values in filters.items():
        for value in values:
            label = value
            if fname == "organization":
                o = snap.org_by_key.get(value)
                label = o.title if o else value
            elif fname == "open_type":
                label = OPEN_TYPE_LABELS.get(value, value)
            rest = [v for v in values if v != value]
            active_filters.append({"label": label, "url": _url(params, **{fname: rest or None})})
    return templates.TemplateResponse(request, "index.html", {
        "q": q, "results": [snap.datasets[i] for i in result.positions], "count": result.count,
        "facets": facets, "active_filters": active_filters, "page": page, "pages": pages,
        "sort_key": sort_key, "sorts": SORTS, "error": error, "total": snap.size,
        "prev_url": _url(params, page=str(page - 1)) if page > 1 else None,
        "next_url": _url(params, page=str(page + 1)) if page < pages else None,
        "hidden": [(k, v) for k, vs in params.items() if k not in ("q", "page", "sort") for v in vs],
        "orgs": snap.org_by_key, "nights": snap.nights,
    })


@router.get("/organization", response_class=HTMLResponse)
async def organizations(request: Request) -> Response:
    snap = await request.app.state.portal.catalog.acurrent()
    return templates.TemplateResponse(request, "organizations.html", {"organizations": snap.organizations})


@router.get("/about/api", response_class=HTMLResponse)
async def api_help(request: Request) -> Response:
    return templates.TemplateResponse(request, "api.html", {"base": public_base(request)})


@router.get("/dataset/{name}", response_class=HTMLResponse)
async def dataset_page(name: str, request: Request) -> Response:
    portal = request.app.state.portal
    snap = await portal.catalog.acurrent()
    d: Dataset | None = snap.get(name)
    if d is None or d.name != name:
        return templates.TemplateResponse(request, "not_found.html", {"name": name}, status_code=404)
    base = public_base(request)
    blocked, runs = [], []
    try:
        runs = portal.store.quality_runs(d.name, limit=20)
        for run in runs:
            if not run.get("passed"):
                report = run.get("report") if isinstance(run.get("report"), dict) else {}
                failed = [c for c in report.get("checks", []) if isinstance(c, dict) and c.get("passed") is False]
                blocked.append({"checked_at": run.get("checked_at"), "drop_date": run.get("drop_date"),
                                "score": report.get("score"), "failed": failed[:5]})
    except Exception:  # the store being rewritten must not break the page  # noqa: BLE001
        blocked = []
    checks = [c for c in (d.quality or {}).get("checks", []) if isinstance(c, dict)]
    resource_id = d.resource_ids.get("parquet") or next(iter(d.resource_ids.values()), "")
    auth = ' \\\n  -H "Authorization: <您的密钥>"' if d.conditional else ""
    key_arg = ', apikey="<您的密钥>"' if d.conditional else ""
    examples = {
        "curl_show": f"curl '{base}/api/3/action/package_show?id={d.name}'",
        "curl_rows": f"curl{auth} '{base}/api/3/action/datastore_search?resource_id={resource_id}&limit=5'",
        "python": (
            "from ckanapi import RemoteCKAN\n\n"
            f"site = RemoteCKAN(\"{base}\"{key_arg})\n"
            f"rows = site.action.datastore_search(resource_id=\"{resource_id}\", limit=5)\n"
            "print(rows[\"total\"], rows[\"records\"][0])"
        ),
    }
    dims = dict((d.quality or {}).get("dimensions") or {})
    own = not d.harvest and not d.directory
    extras = await run_in_threadpool(_own_dataset_extras, portal, d) if own else {}
    if "accessibility" in extras:
        dims["accessibility"] = extras["accessibility"]
    return templates.TemplateResponse(request, "dataset.html", {
        "d": d, "org": snap.org_by_key.get(d.department), "versions": list(reversed(d.versions)),
        "chart": score_chart(d.versions), "quality": d.quality or {}, "dims": dims, "checks": checks,
        "blocked": blocked, "examples": examples, "base": base, "resource_id": resource_id,
        "license": snap.license(d), "gate_block": blocked_update(d, runs) if own else None,
        "preview": extras.get("preview"), "downloads": extras.get("downloads", {}),
        "products": extras.get("products", []),
    })


def _own_dataset_extras(portal, d: Dataset) -> dict:
    """The parts of a published dataset's page that read files or the access store (off the event loop:
    the first view of a version hashes its files)."""
    out = {"preview": preview_rows(portal, d), "downloads": portal.access.download_counts(d.name),
           "products": Products(portal.operation, portal.store).derived_from(d.name)}
    if d.versions:
        out["accessibility"] = accessibility(portal, d)
    return out
