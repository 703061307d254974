"""Last line of defence: Su Online never serves a column that carries resident ID numbers in clear.

Persons' ID numbers (公民身份号码, GB 11643) are pseudonymised upstream. Should one slip through, the
portal withholds the whole column — from JSON rows, change feeds, workbooks and Parquet downloads —
for every unit, and says so in the response (``withheld_columns``).

A value "looks like" an ID number when it is, or contains as a separate token, 18 characters made of a
6-digit division code, a real birth date (1900–2099), a 3-digit sequence and the ISO 7064 MOD 11-2
check character (``stdnum.cn.ric``). One such value is enough to withhold the column. The scan runs
once per published version (its files are immutable) over that version's district slices, which hold
every row of their streets, so the same columns are withheld for every unit.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from portal.changefeed import cursor
from stdnum.cn import ric
from sudata.sql import quote_ident, quote_literal

# An 18-character candidate standing on its own (not inside a longer run of letters and digits).
ID_CANDIDATE = (
    r"(?:^|[^0-9A-Za-z])"
    r"([1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx])"
    r"(?:[^0-9A-Za-z]|$)"
)
MAX_CANDIDATES = 20_000


def is_resident_id(value: str) -> bool:
    """18 characters, valid birth date and a valid GB 11643 check character."""
    v = value.strip().upper()
    if len(v) != 18 or not v[:17].isdigit():
        return False
    try:
        dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    return v[-1] == ric.calc_check_digit(v)


@lru_cache(maxsize=2048)
def id_number_columns(paths: tuple[str, ...]) -> tuple[str, ...]:
    """Columns of the given Parquet files holding at least one resident ID number in clear."""
    files = [p for p in paths if Path(p).exists()]
    if not files:
        return ()
    con = cursor()
    try:
        source = "read_parquet([" + ", ".join(quote_literal(p) for p in files) + "], union_by_name = true)"
        columns = [r[0] for r in con.execute(f"describe select * from {source}").fetchall()]
        if not columns:
            return ()
        pattern = quote_literal(ID_CANDIDATE)
        hits = con.execute(
            "select " + ", ".join(
                f"count(*) filter (where regexp_matches(cast({quote_ident(c)} as varchar), {pattern}))" for c in columns)
            + f" from {source}"
        ).fetchone()
        found: list[str] = []
        for col, n in zip(columns, hits):
            if not n:
                continue
            candidates = con.execute(
                f"select distinct v from (select unnest(regexp_extract_all(cast({quote_ident(col)} as varchar),"
                f" {pattern}, 1)) as v from {source}) limit {MAX_CANDIDATES}"
            ).fetchall()
            if any(is_resident_id(v) for (v,) in candidates if v):
                found.append(col)
        return tuple(found)
    finally:
        con.close()
