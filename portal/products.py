"""Data products (数据产品): operators register them with their credential; the listed ones are public
(``/products`` and its JSON), and so is the annual disclosure of authorisations, products and fees."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from operation.products import Products
from operation.store import OperationError

from .operation_http import YEAR, answer, json_body, operator, refuse, store
from .web import templates

router = APIRouter(tags=["Data products"])


def _products(request: Request) -> Products:
    return Products(store(request), request.app.state.portal.store)


@router.post("/api/operation/products", name="product_register")
async def register(request: Request) -> Response:
    """Register ``{name, kind, description, fee_cny, exchange_code, query_ids}`` for the credential's
    application; the lineage comes from the released queries named (or the datasets in scope)."""
    auth, denied = operator(request)
    if denied:
        return denied
    try:
        product = _products(request).register(auth, await json_body(request))
    except OperationError as e:
        return refuse(str(e), 400)
    return answer(product, 201)


@router.get("/api/operation/products", name="product_list")
def listed(request: Request) -> Response:
    return answer(_products(request).listed())


@router.get("/api/operation/disclosure/{year}.json", name="disclosure_json")
def disclosure_json(year: Annotated[int, YEAR], request: Request) -> Response:
    return answer(_products(request).disclosure(year))


@router.get("/api/operation/disclosure/{year}.csv", name="disclosure_csv")
def disclosure_csv(year: Annotated[int, YEAR], request: Request) -> Response:
    return Response(_products(request).disclosure_csv(year), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="disclosure-{year}.csv"'})


@router.get("/products", response_class=HTMLResponse, include_in_schema=False)
def products_page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "products.html", {"nav": "products",
                                                                 "products": _products(request).listed()})
