"""The zone's query rules, checked on sqlglot's syntax tree before anything runs.

A query is accepted only when it is exactly one aggregate SELECT over authorised tables and columns,
built from an allow-list of node types and functions (no table functions, files, extensions, settings,
subqueries or windows), with person-identifying columns only inside counting aggregates. The engine
runs the SQL regenerated from the checked tree (comments and anything the parser ignored are gone),
with hidden columns added for output checking: the cell's row count and, for every sum, its two
largest contributions (the dominance rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import logging

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

CELL_COUNT = "__cell_n"
logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to a Command": refused below anyway

AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Median, exp.Stddev, exp.StddevSamp,
              exp.StddevPop, exp.Variance, exp.VariancePop, exp.ApproxDistinct)
# aggregates that return one contributor's own value: the output check sends them to review
REVEALING = (exp.Min, exp.Max, exp.Median)
# the only aggregates a person-identifying column may appear in: they count, never show a value
COUNTING = (exp.Count, exp.ApproxDistinct)
SCALARS = (exp.Lower, exp.Upper, exp.Length, exp.Substring, exp.Trim, exp.Round, exp.Abs, exp.Floor, exp.Ceil,
           exp.Coalesce, exp.Nullif, exp.Cast, exp.TryCast, exp.Year, exp.Month, exp.Day, exp.Quarter,
           exp.Extract, exp.DateTrunc, exp.TimestampTrunc, exp.If, exp.Case)
# syntax a zone query may be built from; anything else (Anonymous functions, table functions, Subquery,
# With, Window, Union, Lateral, Unnest, Star outside count(*), Placeholder, …) is refused by its absence
STRUCTURE = (exp.Select, exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered,
             exp.Limit, exp.Column, exp.Identifier, exp.Table, exp.TableAlias, exp.Alias, exp.Literal,
             exp.Boolean, exp.Null, exp.DataType, exp.Distinct, exp.Paren, exp.Neg, exp.Not, exp.And, exp.Or,
             exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is, exp.In, exp.Between, exp.Like,
             exp.ILike, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Tuple, exp.If, exp.Var, exp.Interval,
             exp.Star)
ALLOWED = STRUCTURE + AGGREGATES + SCALARS


class QueryRefused(ValueError):
    """The query breaks a zone rule; the message says which, in terms an operator can act on."""


@dataclass(frozen=True)
class Table:
    """An authorised table of the zone: a dataset's current version, its authorised and its person-
    identifying columns."""

    name: str
    columns: tuple[str, ...]
    identifying: frozenset[str] = frozenset()


@dataclass
class CheckedQuery:
    sql: str                                   # what the engine runs (regenerated, with hidden columns)
    tables: list[str]                          # the authorised tables it reads
    output_columns: list[str]                  # the operator's columns, in order
    # output column → hidden columns: (record count, is the statistic itself a count) per aggregate in it,
    # and (top two contributions, total) per sum in it
    counts: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    sums: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    revealing: list[str] = field(default_factory=list)   # output columns of min/max/median


def _name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return node.key.upper()


def _inside(node: exp.Expression, kinds) -> exp.Expression | None:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, kinds):
            return parent
        parent = parent.parent
    return None


def check(sql: str, tables: dict[str, Table], max_rows: int) -> CheckedQuery:
    """The checked, rewritten query, or :class:`QueryRefused` saying why not."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as e:
        raise QueryRefused(f"the query does not parse: {str(e).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryRefused(f"exactly one statement is allowed, found {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Select):
        raise QueryRefused(f"only a SELECT is allowed, not {tree.key.upper()}")
    for node in tree.walk():
        if not isinstance(node, ALLOWED):
            raise QueryRefused(f"{_name(node)} is not allowed in the zone (allowed: aggregates, simple scalar"
                               " functions, joins of authorised tables, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT)")
    for node in tree.walk():
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
            raise QueryRefused("SELECT * returns rows: name the aggregates you need")
        if isinstance(node, (exp.Min, exp.Max)) and node.args.get("count") is not None:
            raise QueryRefused(f"{_name(node).lower()}(x, n) returns individual values")
        if isinstance(node, AGGREGATES) and _inside(node, AGGREGATES):
            raise QueryRefused("aggregates inside aggregates are not allowed")

    # tables: only authorised ones, by plain name
    aliases: dict[str, str] = {}
    for t in tree.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier) or t.args.get("db") or t.args.get("catalog"):
            raise QueryRefused(f"{t.sql(dialect='duckdb')} is not a table of the zone")
        if t.name not in tables:
            raise QueryRefused(f"table {t.name!r} is not authorised (authorised: {', '.join(sorted(tables))})")
        aliases[t.alias_or_name] = t.name
    if not aliases:
        raise QueryRefused("the query reads no authorised table")

    projections = list(tree.expressions)
    output_columns = []
    for i, p in enumerate(projections):
        name = p.alias_or_name if isinstance(p, (exp.Alias, exp.Column)) else f"col{i + 1}"
        if name.startswith("__"):
            raise QueryRefused(f"output column {name!r}: names starting with __ are reserved")
        output_columns.append(name)
    if len(set(output_columns)) != len(output_columns):
        raise QueryRefused("output column names must be distinct (use AS)")

    # columns: authorised, resolved to their table; identifying ones only inside counting aggregates
    group = tree.args.get("group")
    group_keys = {g.sql(dialect="duckdb") for g in (group.expressions if group else [])}
    for g in group.expressions if group else []:
        if isinstance(g, exp.Literal):
            raise QueryRefused("GROUP BY a position is not allowed: name the grouping columns")
    for col in tree.find_all(exp.Column):
        if not col.table and col.name in output_columns and _inside(col, (exp.Order, exp.Having)):
            continue  # an output alias in ORDER BY / HAVING
        if col.table:
            if col.table not in aliases:
                raise QueryRefused(f"{col.sql()}: unknown table {col.table!r}")
            owners = [aliases[col.table]]
        else:
            owners = sorted({n for n in aliases.values() if col.name in tables[n].columns})
            if len(owners) > 1:
                raise QueryRefused(f"column {col.name!r} is ambiguous ({', '.join(owners)}): qualify it")
            if not owners:
                owners = sorted(set(aliases.values()))
        table = tables[owners[0]]
        if col.name not in table.columns:
            raise QueryRefused(f"column {col.name!r} of {table.name} is not authorised")
        if col.name in table.identifying:
            # only as count's own argument: inside an expression (count(case when name = '…' …)) it would
            # test for a named person
            parent = col.parent.parent if isinstance(col.parent, exp.Distinct) else col.parent
            if not isinstance(parent, COUNTING):
                raise QueryRefused(f"column {col.name!r} identifies persons: it may appear only as"
                                   " count(column) or count(distinct column)")

    # an alias named like an identifying column would shadow it in ORDER BY / HAVING
    identifying = set().union(*(tables[n].identifying for n in set(aliases.values())))
    if identifying & set(output_columns):
        raise QueryRefused(f"output column {sorted(identifying & set(output_columns))[0]!r}: a person-identifying"
                           " column's name cannot name an output")

    # aggregates only: every projection is an aggregate or a grouping key
    has_aggregate = False
    for p, name in zip(projections, output_columns):
        inner = p.this if isinstance(p, exp.Alias) else p
        if inner.find(*AGGREGATES) is not None:
            has_aggregate = True
            for col in inner.find_all(exp.Column):
                if _inside(col, AGGREGATES) is None and col.sql(dialect="duckdb") not in group_keys:
                    raise QueryRefused(f"{name}: {col.sql()} is outside an aggregate and not grouped")
        elif inner.sql(dialect="duckdb") not in group_keys:
            raise QueryRefused(f"{name}: only aggregates and GROUP BY keys may be returned (row-level output"
                               " never leaves the zone)")
    if not has_aggregate:
        raise QueryRefused("the query returns no aggregate: row-level output never leaves the zone")

    checked = CheckedQuery(sql="", tables=sorted(set(aliases.values())), output_columns=output_columns)
    tree = tree.copy()
    # every output column under its checked name, whatever the engine would have called it
    tree.set("expressions", [exp.alias_(p.this if isinstance(p, exp.Alias) else p.copy(), name, quoted=True)
                             for p, name in zip(projections, output_columns)])
    tree.select(exp.alias_(exp.Count(this=exp.Star()), CELL_COUNT), copy=False)
    for k, (p, name) in enumerate(zip(projections, output_columns)):
        inner = p.this if isinstance(p, exp.Alias) else p
        for j, agg in enumerate(inner.find_all(*AGGREGATES)):
            if isinstance(agg, REVEALING) and name not in checked.revealing:
                checked.revealing.append(name)
            hidden = f"__n_{k}_{j}"
            if isinstance(agg, COUNTING):  # a count is itself a frequency: its own value is checked
                tree.select(exp.alias_(agg.copy(), hidden), copy=False)
            else:                          # any other statistic: how many records contribute to it
                tree.select(exp.alias_(exp.Count(this=agg.this.copy()), hidden), copy=False)
            checked.counts.setdefault(name, []).append((hidden, isinstance(agg, COUNTING)))
            if isinstance(agg, exp.Sum):
                top2, total = f"__top2_{k}_{j}", f"__abs_{k}_{j}"
                arg = exp.Abs(this=agg.this.copy())
                tree.select(exp.alias_(exp.Anonymous(this="list_sum", expressions=[
                    exp.Max(this=arg, count=exp.Literal.number(2))]), top2), copy=False)
                tree.select(exp.alias_(exp.Sum(this=arg.copy()), total), copy=False)
                checked.sums.setdefault(name, []).append((top2, total))
    limit = tree.args.get("limit")
    if limit is None or not isinstance(limit.expression, exp.Literal) or int(limit.expression.this) > max_rows + 1:
        tree.limit(max_rows + 1, copy=False)  # one more than the cap, so the check sees an overflow
    checked.sql = tree.sql(dialect="duckdb", comments=False)  # nothing of the submitted text but the tree
    return checked
