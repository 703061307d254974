"""The city's targets in view: ``/kpi`` (a page with inline SVG charts) and ``/kpi.json``.

The figures are :func:`sudata.kpi.compute` over the published store, computed once per catalog snapshot
(the pipeline commits nightly, so they follow each night), with the history of the nightly records the
pipeline keeps (``kpi_snapshots``) for the chart of the catalog's size.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from sudata.kpi import compute

from .jsonutil import dumps
from .web import local_time, templates

router = APIRouter(tags=["KPI"])


async def figures(request: Request) -> dict:
    portal = request.app.state.portal
    snap = await portal.catalog.acurrent()
    cached = snap.cache.get("kpi")
    if cached is None:
        cached = snap.cache["kpi"] = await run_in_threadpool(compute, portal.store)
    return cached


def share(count: int, target: int) -> float:
    return round(min(1.0, count / target), 4) if target else 0.0


def history_chart(history: list[dict], width: int = 640, height: int = 160) -> dict | None:
    """Geometry of the catalog-size history (one point per nightly record)."""
    if not history:
        return None
    left, right, top, bottom = 52, 16, 12, 28
    hi = max(max(h["catalog_entries"] for h in history), 1)
    inner_w, inner_h = width - left - right, height - top - bottom
    n = len(history)

    def x(i: int) -> float:
        return round(left + (inner_w * i / (n - 1) if n > 1 else inner_w / 2), 1)

    marks = [{"x": x(i), "y": round(top + inner_h * (1 - h["catalog_entries"] / hi), 1), "day": h["day"],
              "value": h["catalog_entries"]} for i, h in enumerate(history)]
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top,
            "bottom": height - bottom, "max": hi, "marks": marks, "step": max(1, n // 6),
            "polyline": " ".join(f"{m['x']},{m['y']}" for m in marks)}


@router.get("/kpi.json", summary="The city's open-data targets and progress (JSON)")
async def kpi_json(request: Request) -> Response:
    return Response(dumps(await figures(request)), media_type="application/json")


@router.get("/kpi", response_class=HTMLResponse, include_in_schema=False)
async def kpi_page(request: Request) -> Response:
    f = await figures(request)
    targets = [
        {"key": "catalog_entries", "label": "目录条目", "count": f["catalog_entries"]["total"],
         "target": f["catalog_entries"]["target"]},
        {"key": "high_quality_datasets", "label": "高质量数据集", "count": f["high_quality_datasets"]["count"],
         "target": f["high_quality_datasets"]["target"]},
        {"key": "data_products", "label": "数据产品", "count": f["data_products"]["count"],
         "target": f["data_products"]["target"]},
    ]
    for t in targets:
        t["share"] = share(t["count"], t["target"])
    return templates.TemplateResponse(request, "kpi.html", {
        "f": f, "targets": targets, "chart": history_chart(f["history"]), "nav": "kpi",
        "computed": local_time(f["computed_at"]),
    })
