"""The registry of data products (数据产品登记): what operators built on authorised public data.

A product (dataset, API, model, report or application) is registered by its operator with the
credential of an approved application; its lineage is the dataset versions and query hashes of the
released zone results it names (or, for a download authorisation, the current versions of the datasets
in scope). It gets a registration code, ``SZDP-<year>-<number>``; the providing department lists or
withdraws it. Products and their status events are append-only; the status is the latest event.
The annual disclosure (年度披露) lists the year's authorisations, products and fees.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import closing

from sudata.store import PublishedStore

from .store import Authorisation, OperationError, OperationStore, now

KINDS = {"dataset": "数据集", "api": "数据接口", "model": "模型", "report": "研究报告", "application": "应用"}
STATUSES = ("registered", "listed", "withdrawn")

SCHEMA = """
create table if not exists products (
    id             integer primary key autoincrement,
    code           text not null unique,
    application_id integer not null,
    organisation   text not null,
    department     text not null,
    name           text not null,
    kind           text not null check (kind in ('dataset', 'api', 'model', 'report', 'application')),
    description    text not null,
    fee_cny        real not null default 0,       -- the price of the product, yuan
    exchange_code  text,                           -- registration code at a data exchange, if any
    lineage        text not null,                  -- json {versions: {dataset: [versions]}, query_hashes, queries}
    registered_at  text not null
);
create table if not exists product_events (
    id          integer primary key autoincrement,
    product_id  integer not null references products(id),
    at          text not null,
    status      text not null check (status in ('registered', 'listed', 'withdrawn')),
    actor       text not null,
    note        text
);
"""
for _table in ("products", "product_events"):
    SCHEMA += (
        f"create trigger if not exists {_table}_no_update before update on {_table}"
        f" begin select raise(abort, '{_table} is append-only'); end;\n"
        f"create trigger if not exists {_table}_no_delete before delete on {_table}"
        f" begin select raise(abort, '{_table} is append-only'); end;\n"
    )

DISCLOSURE_COLUMNS = ["section", "id", "organisation", "department", "subject", "datasets", "mode_or_kind",
                      "period_or_status", "date", "fee_cny"]


class Products:
    def __init__(self, store: OperationStore, published: PublishedStore):
        self.store = store
        self.published = published

    def connect(self):
        con = self.store.connect()
        con.executescript(SCHEMA)
        return con

    def _lineage(self, auth: Authorisation, query_ids: list[int]) -> dict:
        versions: dict[str, set] = {}
        hashes, queries = [], []
        for qid in query_ids:
            q = self.store.query(int(qid))
            if q is None or q["application_id"] != auth.application_id:
                raise OperationError(f"query {qid} is not a zone query of this application")
            if not q["released_at"]:
                raise OperationError(f"query {qid} is not released: only released results can make a product")
            for name, v in (q["versions"] or {}).items():
                versions.setdefault(name, set()).add(v)
            hashes.append(q["sql_hash"])
            queries.append(q["id"])
        if not query_ids:
            if auth.mode == "zone":
                raise OperationError("query_ids: a zone product names the released queries it is built from")
            for name in auth.datasets:
                current = self.published.current_version(name)
                if current:
                    versions.setdefault(name, set()).add(current["version"])
        return {"versions": {k: sorted(v) for k, v in sorted(versions.items())}, "query_hashes": hashes,
                "queries": queries}

    def register(self, auth: Authorisation, data: dict) -> dict:
        name = str(data.get("name") or "").strip()
        kind = str(data.get("kind") or "").strip()
        description = str(data.get("description") or "").strip()
        if not name or not description:
            raise OperationError("name and description are required")
        if kind not in KINDS:
            raise OperationError(f"kind: one of {', '.join(KINDS)}")
        try:
            fee = float(data.get("fee_cny") or 0)
        except (TypeError, ValueError):
            raise OperationError("fee_cny: a number of yuan") from None
        if fee < 0:
            raise OperationError("fee_cny: not negative")
        query_ids = data.get("query_ids") or []
        if not isinstance(query_ids, list) or not all(isinstance(q, int) and 0 < q < 2 ** 62 for q in query_ids):
            raise OperationError("query_ids: a list of released zone query ids")
        lineage = self._lineage(auth, query_ids)
        at = now()
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            number = con.execute("select count(*) from products where substr(registered_at, 1, 4) = ?",
                                 (at[:4],)).fetchone()[0] + 1
            code = f"SZDP-{at[:4]}-{number:06d}"
            cur = con.execute(
                "insert into products (code, application_id, organisation, department, name, kind, description,"
                " fee_cny, exchange_code, lineage, registered_at) values (?,?,?,?,?,?,?,?,?,?,?)",
                (code, auth.application_id, auth.organisation, auth.department, name, kind, description, fee,
                 (str(data.get("exchange_code") or "").strip() or None), json.dumps(lineage), at))
            con.execute("insert into product_events (product_id, at, status, actor) values (?,?,?,?)",
                        (cur.lastrowid, at, "registered", auth.organisation))
            self.store._audit(con, auth.organisation, "product.registered", auth.application_id, code=code,
                              lineage=lineage)
            con.execute("commit")
        return self.product(code)

    def set_status(self, code: str, status: str, actor: str, note: str | None = None,
                   department: str | None = None) -> dict:
        p = self.product(code)
        if p is None or (department is not None and p["department"] != department):
            raise OperationError(f"no product {code}")
        if status not in STATUSES[1:]:
            raise OperationError(f"status: one of {', '.join(STATUSES[1:])}")
        if p["status"] == "withdrawn":
            raise OperationError(f"{code} is withdrawn")
        with closing(self.connect()) as con:
            con.execute("begin immediate")
            con.execute("insert into product_events (product_id, at, status, actor, note) values (?,?,?,?,?)",
                        (p["id"], now(), status, actor, note))
            self.store._audit(con, actor, f"product.{status}", p["application_id"], code=code, note=note)
            con.execute("commit")
        return self.product(code)

    def _rows(self, where: str = "", params: tuple = ()) -> list[dict]:
        with closing(self.connect()) as con:
            rows = con.execute(
                "select p.*, (select status from product_events e where e.product_id = p.id order by e.id desc"
                " limit 1) as status from products p " + where + " order by p.id", params).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["lineage"] = json.loads(d["lineage"])
            d["kind_label"] = KINDS[d["kind"]]
            out.append(d)
        return out

    def product(self, code: str) -> dict | None:
        rows = self._rows("where p.code = ?", (code,))
        return rows[0] if rows else None

    def products(self, status: str | None = None, application_id: int | None = None) -> list[dict]:
        rows = self._rows()
        return [p for p in rows if (status is None or p["status"] == status)
                and (application_id is None or p["application_id"] == application_id)]

    def listed(self) -> list[dict]:
        """The catalog's view: listed products, without the operator's internal lineage details."""
        return [{k: p[k] for k in ("code", "name", "kind", "kind_label", "organisation", "department", "description",
                                   "exchange_code", "registered_at")} | {"datasets": sorted(p["lineage"]["versions"])}
                for p in self.products(status="listed")]

    def derived_from(self, dataset: str) -> list[dict]:
        """The listed products whose lineage reads ``dataset``, with the versions of it they were built on
        (what the dataset's page shows)."""
        if not self.store.path.exists():  # no authorised operation yet: a page view creates nothing
            return []
        return [{k: p[k] for k in ("code", "name", "kind_label", "organisation", "exchange_code", "registered_at")}
                | {"versions": p["lineage"]["versions"][dataset]}
                for p in self.products(status="listed") if dataset in p["lineage"]["versions"]]

    # -- annual disclosure --------------------------------------------------------------------------
    def disclosure(self, year: int) -> dict:
        y = str(year)
        authorisations = []
        for a in self.store.applications(status="approved"):
            d = a.to_dict()
            if not d["decision"]["decided_at"].startswith(y):
                continue
            scope = d["decision"]["scope"]
            authorisations.append({"id": a.id, "organisation": d["organisation"], "department": d["department"],
                                   "purpose": d["purpose"], "datasets": sorted(scope["datasets"]),
                                   "mode": scope["mode"], "period": f"{scope['period_start']}..{scope['period_end']}",
                                   "decided_at": d["decision"]["decided_at"]})
        products = [{"code": p["code"], "name": p["name"], "kind": p["kind"], "organisation": p["organisation"],
                     "department": p["department"], "datasets": sorted(p["lineage"]["versions"]),
                     "status": p["status"], "registered_at": p["registered_at"], "fee_cny": p["fee_cny"],
                     "exchange_code": p["exchange_code"]}
                    for p in self.products() if p["registered_at"].startswith(y)]
        return {"year": year, "authorisations": authorisations, "products": products,
                "totals": {"authorisations": len(authorisations), "products": len(products),
                           "listed_products": sum(p["status"] == "listed" for p in products),
                           "exchange_registered": sum(bool(p["exchange_code"]) for p in products),
                           "fees_cny": round(sum(p["fee_cny"] for p in products), 2)}}

    def disclosure_csv(self, year: int) -> str:
        d = self.disclosure(year)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(DISCLOSURE_COLUMNS)
        for a in d["authorisations"]:
            w.writerow(["authorisation", a["id"], a["organisation"], a["department"], a["purpose"],
                        ";".join(a["datasets"]), a["mode"], a["period"], a["decided_at"], ""])
        for p in d["products"]:
            w.writerow(["product", p["code"], p["organisation"], p["department"], p["name"], ";".join(p["datasets"]),
                        p["kind"], p["status"], p["registered_at"], p["fee_cny"]])
        return "\ufeff" + out.getvalue()
