"""``datastore_search`` over a published version's Parquet file, with DuckDB.

Every column name that reaches SQL is one of the file's own columns (or ``_id``, the 1-based row
number CKAN's datastore exposes), checked against the file's schema and quoted; every value is a
bound parameter. Deep pages use keyset paging: each page returns an opaque ``next_cursor`` (the sort
values of its last row), and the next page starts strictly after it, instead of counting past
``offset`` rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from urllib.parse import urlencode

import duckdb

from sudata.publish import neutralise_formula
from sudata.sql import quote_ident

from .errors import INT64_MAX, INT64_MIN, ValidationError
from .jsonutil import Fragment, parse_json
from .signing import BadSignature, Signer

MAX_LIMIT = 32000
DEFAULT_LIMIT = 100
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")


def ckan_type(duck_type: str) -> str:
    t = duck_type.upper()
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"):
        return "int"
    if t.startswith(("DECIMAL", "NUMERIC")) or t in ("DOUBLE", "FLOAT", "REAL"):
        return "numeric"
    if t == "VARCHAR":
        return "text"
    if t == "BOOLEAN":
        return "bool"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t in ("DATE", "TIME", "INTERVAL", "UUID", "BLOB"):
        return t.lower()
    return t.lower()


@dataclass(frozen=True)
class Column:
    name: str
    type: str


class Datastore:
    """One in-process DuckDB; a cursor per worker thread; the schema of each (immutable) file cached."""

    def __init__(self, max_schemas: int = 4096):
        self._con = duckdb.connect(":memory:")
        self._local = threading.local()
        self._schemas: OrderedDict[str, list[Column]] = OrderedDict()
        self._schemas_lock = threading.Lock()
        self._max_schemas = max_schemas

    def cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def columns(self, path: str) -> list[Column]:
        with self._schemas_lock:
            cols = self._schemas.get(path)
            if cols is not None:
                self._schemas.move_to_end(path)
                return cols
        rows = self.cursor().execute("describe select * from read_parquet(?)", [path]).fetchall()
        cols = [Column(r[0], r[1]) for r in rows]
        with self._schemas_lock:
            self._schemas[path] = cols
            while len(self._schemas) > self._max_schemas:
                self._schemas.popitem(last=False)
        return cols

    def close(self) -> None:
        self._con.close()


# -- parameters ----------------------------------------------------------------------------------
def _as_list(value, name: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                value = parse_json(s)
            except ValueError:
                raise ValidationError(f"{name}: invalid JSON list", {name: ["Invalid JSON list"]}) from None
        else:
            return [p.strip() for p in s.split(",") if p.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{name}: a list of column names is required", {name: ["Must be a list of names"]})
    return [v.strip() for v in value if v.strip()]


def _as_dict(value, name: str) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = parse_json(value)
        except ValueError:
            raise ValidationError(f"{name}: invalid JSON object", {name: ["Invalid JSON object"]}) from None
    if not isinstance(value, dict):
        raise ValidationError(f"{name}: a JSON object is required", {name: ["Must be a JSON object"]})
    return value


def _check(name: str, allowed: dict[str, Column], param: str) -> str:
    if not isinstance(name, str) or name not in allowed:
        raise ValidationError(f"{param}: field {name!r} not in the table", {param: [f"field {name!r} not in table"]})
    return name


def _parse_sort(value, allowed: dict[str, Column]) -> list[tuple[str, bool]]:
    items: list[str]
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = value.split(",")
    else:
        raise ValidationError("sort: invalid", {"sort": ["Invalid sort"]})
    keys: list[tuple[str, bool]] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        direction = "asc"
        lowered = item.lower()
        for suffix in (" asc", " desc"):
            if lowered.endswith(suffix):
                direction = suffix.strip()
                item = item[: -len(suffix)].strip()
                break
        if len(item) >= 2 and item[0] == item[-1] == '"':
            item = item[1:-1].replace('""', '"')
        keys.append((_check(item, allowed, "sort"), direction == "desc"))
    return keys


def _scalar(v, field: str):
    if isinstance(v, int) and not isinstance(v, bool) and not INT64_MIN <= v <= INT64_MAX:
        raise ValidationError(f"filters: value for {field!r} is out of range (64-bit integers)",
                              {"filters": [f"integer out of range for {field!r}"]})
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    raise ValidationError(f"filters: invalid value for {field!r}", {"filters": [f"invalid value for {field!r}"]})


# -- cursors for keyset paging -----------------------------------------------------------------
def _enc(v):
    if isinstance(v, datetime):
        return {"dt": v.isoformat()}
    if isinstance(v, date):
        return {"d": v.isoformat()}
    if isinstance(v, time):
        return {"t": v.isoformat()}
    if isinstance(v, Decimal):
        return {"n": str(v)}
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return {"s": str(v)}


def _dec(v):
    if isinstance(v, dict) and len(v) == 1:
        (k, x), = v.items()
        return {"dt": datetime.fromisoformat, "d": date.fromisoformat, "t": time.fromisoformat,
                "n": Decimal, "s": str}[k](x)
    return v


@dataclass(frozen=True)
class Cursor:
    """Where a keyset page sequence stands: the version it reads (pinned for the whole sequence, so a
    publication between two pages cannot mix versions), the query it belongs to and the sort values
    of the last row handed out. Signed, so it cannot be forged or altered."""
    dataset: str
    version: int
    spec: str
    values: list


def encode_cursor(signer: Signer, c: Cursor) -> str:
    return signer.dumps({"d": c.dataset, "ver": c.version, "q": c.spec, "v": [_enc(v) for v in c.values]})


def _invalid_cursor(why: str) -> ValidationError:
    return ValidationError(f"cursor: {why}; start again without a cursor", {"cursor": [why]})


def read_cursor(signer: Signer, token, dataset: str) -> Cursor | None:
    """The cursor of a request (None when there is none); a forged, altered or foreign one is refused."""
    if token in (None, ""):
        return None
    if not isinstance(token, str):
        raise _invalid_cursor("not a cursor")
    try:
        obj = signer.loads(token)
    except BadSignature:
        raise _invalid_cursor("not a cursor issued by this portal") from None
    try:
        c = Cursor(str(obj["d"]), obj["ver"], str(obj["q"]), [_dec(v) for v in obj["v"]])
    except (ValueError, KeyError, TypeError, ArithmeticError):
        raise _invalid_cursor("not a cursor issued by this portal") from None
    if c.dataset != dataset or not isinstance(c.version, int):
        raise _invalid_cursor("a cursor of another table")
    return c


def fields_out(select_cols, allowed, columns_info) -> list[dict]:
    result_fields = []
    for c in select_cols:
        col = allowed[c]
        fd = {"id": c, "type": ckan_type(col.type)}
        info = columns_info.get(c)
        if info:
            fd["info"] = {"label": info.get("title") or "", "notes": info.get("description") or "",
                          "grade": info.get("grade") or "", "type_override": ""}
        result_fields.append(fd)
    return result_fields


# -- the search ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    """The immutable Parquet file of one published version."""
    dataset: str
    version: int
    path: str
    row_count: int


def _filter_clauses(filters: dict, allowed: dict[str, Column]) -> tuple[list[str], list]:
    where: list[str] = []
    args: list = []
    for name, value in filters.items():
        _check(name, allowed, "filters")
        if isinstance(value, list):
            if not value or len(value) > 1000:
                raise ValidationError("filters: a list of 1 to 1000 values is required",
                                      {"filters": [f"invalid list for {name!r}"]})
            vals = [_scalar(v, name) for v in value]
            where.append(f"{quote_ident(name)} in ({', '.join('?' for _ in vals)})")
            args.extend(vals)
        elif value is None:
            where.append(f"{quote_ident(name)} is null")
        else:
            where.append(f"{quote_ident(name)} = ?")
            args.append(_scalar(value, name))
    return where, args


def _text_clauses(q, allowed: dict[str, Column], data_cols: list[Column]) -> tuple[list[str], list]:
    """``q``: full text over every column, or ``{column: text}`` (substring, case-insensitive)."""
    where: list[str] = []
    args: list = []
    if isinstance(q, str) and q.strip().startswith("{"):
        q = _as_dict(q, "q")
    if isinstance(q, dict):
        for name, text in q.items():
            _check(name, allowed, "q")
            if not isinstance(text, (str, int, float)):
                raise ValidationError("q: invalid value", {"q": ["Invalid value"]})
            where.append(f"contains(lower(cast({quote_ident(name)} as varchar)), ?)")
            args.append(str(text).lower())
    elif q not in (None, ""):
        if not isinstance(q, (str, int, float)):
            raise ValidationError("q: invalid value", {"q": ["Invalid value"]})
        for term in str(q).lower().split():
            ors = [f"contains(lower(cast({quote_ident(c.name)} as varchar)), ?)" for c in data_cols]
            where.append("(" + " or ".join(ors) + ")")
            args.extend([term] * len(data_cols))
    return where, args


def _after_clause(sort_keys: list[tuple[str, bool]], values: list) -> tuple[str, list]:
    """Rows strictly after ``values`` in the sort order (NULLS LAST)."""
    clauses, args = [], []
    for k, (name, desc) in enumerate(sort_keys):
        v = values[k]
        if v is None:
            continue  # nothing sorts after NULL within this key (NULLS LAST)
        parts = [f"{quote_ident(sort_keys[j][0])} is not distinct from ?" for j in range(k)]
        parts.append(f"({quote_ident(name)} {'<' if desc else '>'} ? or {quote_ident(name)} is null)")
        clauses.append("(" + " and ".join(parts) + ")")
        args.extend(values[:k])
        args.append(v)
    return ("(" + " or ".join(clauses) + ")" if clauses else "false"), args


def _query_spec(resource_id, filters, q, sort_keys, fields, distinct) -> str:
    """What a cursor belongs to: a page sequence may not change its query midway."""
    return hashlib.sha256(json.dumps(
        [resource_id, sorted(filters.items(), key=lambda kv: kv[0]) if filters else [], q or "",
         sort_keys, fields, distinct], default=str, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def _source_sql(cols: list[Column]) -> str:
    drop = "file_row_number, _id" if "_id" in {c.name for c in cols} else "file_row_number"
    return f"(select file_row_number + 1 as _id, * exclude ({drop}) from read_parquet(?, file_row_number = true))"


def _order_sql(sort_keys) -> str:
    return ", ".join(f"{quote_ident(n)} {'desc' if d else 'asc'} nulls last" for n, d in sort_keys)


def _total(cur, table: Table, source: str, projection: str, where: list[str], args: list, distinct: bool) -> int:
    if not where and not distinct:
        return table.row_count
    cond = (" where " + " and ".join(where)) if where else ""
    inner = f"select distinct {projection} from {source} t{cond}" if distinct else f"select 1 from {source} t{cond}"
    return cur.execute(f"select count(*) from ({inner})", [table.path, *args]).fetchall()[0][0]


def _text_records(rows, select_cols: list[str], records_format: str):
    if records_format == "objects":
        return [dict(zip(select_cols, r)) for r in rows]
    if records_format == "lists":
        return [list(r) for r in rows]
    buf = io.StringIO()
    # CRLF rows (RFC 4180, and what CKAN writes): a CR inside a value is then quoted too
    writer = csv.writer(buf, delimiter="," if records_format == "csv" else "\t")
    for r in rows:
        writer.writerow(["" if v is None else neutralise_formula(v) if isinstance(v, str) else _text(v) for v in r])
    return buf.getvalue()


def _links(api_path: str, resource_id: str, params: dict, limit: int, offset: int, next_cursor: str | None) -> dict:
    link_params = {"resource_id": resource_id}
    for key in ("q", "filters", "fields", "sort", "records_format", "distinct", "include_total"):
        v = params.get(key)
        if v not in (None, "", [], {}):
            link_params[key] = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    if "limit" in params:
        link_params["limit"] = str(limit)
    links = {"start": f"{api_path}?{urlencode(link_params)}"}
    following = {"cursor": next_cursor} if next_cursor else {"offset": str(offset + limit)}
    links["next"] = f"{api_path}?{urlencode({**link_params, **following})}"
    return links


@dataclass
class _Query:
    """One request's parameters, checked against the table's columns."""
    fields: list[str]
    select_cols: list[str]
    filters: dict
    q: object
    where: list[str]                 # the request's conditions (for the page and the total)
    args: list
    sort_keys: list[tuple[str, bool]]
    limit: int
    offset: int
    include_total: bool
    distinct: bool
    records_format: str

    @property
    def in_file_order(self) -> bool:
        return self.sort_keys == [("_id", False)]


def _parse_query(params: dict, allowed: dict[str, Column], data_cols: list[Column], int_param, bool_param) -> _Query:
    fields = _as_list(params.get("fields"), "fields")
    for f in fields:
        _check(f, allowed, "fields")
    filters = _as_dict(params.get("filters"), "filters")
    q = params.get("q")
    where, args = _filter_clauses(filters, allowed)
    text_where, text_args = _text_clauses(q, allowed, data_cols)
    sort_keys = _parse_sort(params.get("sort"), allowed)
    if not any(name == "_id" for name, _ in sort_keys):
        sort_keys.append(("_id", False))
    records_format = params.get("records_format") or "objects"
    if records_format not in RECORDS_FORMATS:
        raise ValidationError("records_format: one of objects, lists, csv, tsv",
                              {"records_format": ["Must be one of objects, lists, csv, tsv"]})
    return _Query(
        fields=fields, select_cols=fields or ["_id"] + [c.name for c in data_cols], filters=filters, q=q,
        where=where + text_where, args=args + text_args, sort_keys=sort_keys,
        limit=min(int_param("limit", DEFAULT_LIMIT, 0, None), MAX_LIMIT), offset=int_param("offset", 0, 0, None),
        include_total=bool_param("include_total", True), distinct=bool_param("distinct", False),
        records_format=records_format)


def _page_conditions(qr: _Query, cursor: Cursor | None, spec: str) -> tuple[list[str], list, int]:
    """The conditions of the requested page, their arguments and the rows to skip: after the cursor
    (keyset paging) or past ``offset``."""
    where, args, skip = list(qr.where), list(qr.args), qr.offset
    if cursor is not None and not qr.distinct:
        if cursor.spec != spec or len(cursor.values) != len(qr.sort_keys):
            raise _invalid_cursor("not a cursor of this query")
        clause, after_args = _after_clause(qr.sort_keys, cursor.values)
        where.append(clause)
        args.extend(after_args)
        skip = qr.offset = 0
    if not qr.where and not qr.distinct and qr.in_file_order and qr.limit:
        # the whole table in file order: a page is a range of row numbers, which the Parquet reader
        # can go to directly instead of counting past ``offset`` rows
        start = (args[-1] if args else 0) if cursor is not None else skip
        return ['"_id" > ?', '"_id" <= ?'], [start, start + qr.limit + 1], 0
    return where, args, skip


def _rows_sql(qr: _Query, source: str, where: list[str], extra: list[str]) -> str:
    """The page's rows for the Python path (csv, tsv, distinct): the requested columns, then the sort
    columns needed for the next cursor."""
    projection = ", ".join(quote_ident(c) for c in qr.select_cols)
    if qr.distinct:
        order_sql = _order_sql([(n, d) for n, d in qr.sort_keys if n in qr.select_cols]) or "1"
        sql = f"select distinct {projection} from {source} t"
    else:
        order_sql = _order_sql(qr.sort_keys)
        sql = f"select {projection}{''.join(f', {quote_ident(n)}' for n in extra)} from {source} t"
    if where:
        sql += " where " + " and ".join(where)
    if qr.distinct or not qr.in_file_order:
        sql += f" order by {order_sql}"
    # else: file order is _id order; DuckDB keeps a scan's order when no ORDER BY is given
    # (preserve_insertion_order, on by default), which spares sorting the whole table for each page
    return sql + " limit ? offset ?"


def _fetch_page(cur, qr: _Query, table: Table, source: str, allowed: dict[str, Column], where: list[str],
                args: list, skip: int):
    """(records, number of rows, sort values of the last row when a next page may follow)."""
    if qr.records_format in ("objects", "lists") and not qr.distinct:
        # serialised by DuckDB itself (to_json): faster than building Python objects, and it runs
        # without the interpreter lock
        records, n_rows, last_keys = _json_page(
            cur, source, qr.select_cols, allowed, qr.sort_keys, where, [table.path, *args], qr.limit, skip,
            qr.records_format, None if qr.in_file_order else _order_sql(qr.sort_keys))
        full = qr.limit and n_rows == qr.limit  # a full page may have a successor (empty at worst)
        return records, n_rows, last_keys if full else None
    extra = [n for n, _ in qr.sort_keys if n not in qr.select_cols] if not qr.distinct else []
    sql = _rows_sql(qr, source, where, extra)
    rows = cur.execute(sql, [table.path, *args, qr.limit + 1, skip]).fetchall() if qr.limit else []
    last_keys = None
    if len(rows) > qr.limit and not qr.distinct:
        pos = {c: i for i, c in enumerate(qr.select_cols)}
        pos.update({n: len(qr.select_cols) + i for i, n in enumerate(extra)})
        last_keys = [rows[qr.limit - 1][pos[n]] for n, _ in qr.sort_keys]
    rows = [r[:len(qr.select_cols)] for r in rows[:qr.limit]]
    return _text_records(rows, qr.select_cols, qr.records_format), len(rows), last_keys


def search(
    store: Datastore,
    table: Table,
    resource_id: str,
    params: dict,
    columns_info: dict[str, dict],
    int_param,
    bool_param,
    signer: Signer,
    cursor: Cursor | None = None,
    api_path: str = "/api/3/action/datastore_search",
    columns: tuple[str, ...] | None = None,
) -> tuple[dict, int]:
    """Run one ``datastore_search`` on ``table``; returns the CKAN result and the number of records in it.
    ``columns``: the only columns the reader may see, filter, sort or search (a field-scoped
    authorisation); the others are as absent as columns the table does not have."""
    cols = store.columns(table.path)
    allowed: dict[str, Column] = {"_id": Column("_id", "BIGINT")}
    allowed.update({c.name: c for c in cols if c.name != "_id" and (columns is None or c.name in columns)})
    qr = _parse_query(params, allowed, [c for c in cols if c.name != "_id" and c.name in allowed], int_param,
                      bool_param)
    spec = _query_spec(resource_id, qr.filters, params.get("q"), qr.sort_keys, qr.fields, qr.distinct)
    source = _source_sql(cols)
    where, args, skip = _page_conditions(qr, cursor, spec)
    cur = store.cursor()
    try:
        records, n_rows, last_keys = _fetch_page(cur, qr, table, source, allowed, where, args, skip)
        projection = ", ".join(quote_ident(c) for c in qr.select_cols)
        total = _total(cur, table, source, projection, qr.where, qr.args, qr.distinct) if qr.include_total else None
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.BinderException,
            duckdb.TypeMismatchException, duckdb.OutOfRangeException):
        # the engine's own message names internals: say what the client can act on
        raise ValidationError("filters: a value does not fit its column's type",
                              {"filters": ["a value does not fit its column's type"]}) from None
    next_cursor = None
    if last_keys is not None:
        next_cursor = encode_cursor(signer, Cursor(table.dataset, table.version, spec, last_keys))
    return _result(qr, table, resource_id, params, allowed, columns_info, records, total, next_cursor,
                   api_path), n_rows


def _result(qr: _Query, table: Table, resource_id: str, params: dict, allowed, columns_info, records, total,
            next_cursor: str | None, api_path: str) -> dict:
    result = {
        "include_total": qr.include_total,
        "resource_id": resource_id,
        "fields": fields_out(qr.select_cols, allowed, columns_info),
        "records_format": qr.records_format,
        "records": records,
        "limit": qr.limit,
        "offset": qr.offset,
        "sort": ", ".join(f"{n} {'desc' if d else 'asc'}" for n, d in qr.sort_keys),
        "_links": _links(api_path, resource_id, params, qr.limit, qr.offset, next_cursor),
        "version": table.version,
    }
    if qr.filters:
        result["filters"] = qr.filters
    if qr.q not in (None, ""):
        result["q"] = qr.q
    if qr.include_total:
        result["total"] = total
        result["total_was_estimated"] = False
    if next_cursor:
        result["next_cursor"] = next_cursor
    return result


def _json_value(col: Column) -> str:
    """The SQL expression whose JSON form matches what the Python path would write for a column."""
    q = quote_ident(col.name)
    t = col.type.upper()
    if t.startswith("TIMESTAMP"):
        return f"replace(cast({q} as varchar), ' ', 'T')"
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return f"case when isfinite({q}) then {q} end"
    if t == "BLOB":
        return f"hex({q})"
    return q


def _json_page(cur, source: str, select_cols: list[str], allowed: dict[str, Column], sort_keys, where: list[str],
               args: list, limit: int, offset: int, records_format: str, order_sql: str | None):
    """One page as JSON text built by DuckDB: (records Fragment, row count, last row's sort values)."""
    if not limit:
        return Fragment(b"[]"), 0, None
    values = [_json_value(allowed[c]) for c in select_cols]
    if records_format == "objects":
        item = "to_json(struct_pack(" + ", ".join(f"{quote_ident(c)} := {v}" for c, v in zip(select_cols, values)) + "))"
    else:
        item = "json_array(" + ", ".join(values) + ")"
    keys = ", ".join(f"{quote_ident(n)} as __k{i}" for i, (n, _) in enumerate(sort_keys))
    agg_order = ", ".join(f"__k{i} {'desc' if d else 'asc'} nulls last" for i, (_, d) in enumerate(sort_keys))
    last = "struct_pack(" + ", ".join(f"__k{i} := __k{i}" for i in range(len(sort_keys))) + ")"
    # the page is cut first and only its rows are turned into JSON: in the select list below the limit,
    # DuckDB would build the JSON of every row it sorts past (offset + limit of them)
    inner = f"select *, {keys} from {source} t"
    if where:
        inner += " where " + " and ".join(where)
    if order_sql:
        inner += f" order by {order_sql}"
    inner += " limit ? offset ?"
    sql = (f"select string_agg(cast({item} as varchar), ',' order by {agg_order}), count(*),"
           f" last({last} order by {agg_order}) from ({inner}) p")
    body, n, last_row = cur.execute(sql, [*args, limit, offset]).fetchall()[0]
    keys_out = [last_row[f"__k{i}"] for i in range(len(sort_keys))] if last_row else None
    return Fragment(b"[" + (body or "").encode("utf-8") + b"]"), int(n or 0), keys_out


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    return str(v)
