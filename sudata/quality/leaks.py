"""The leak scanner: personal data in clear in a table that is about to be published unconditionally.

Independent of the masking rules that should have prevented it (govern(), no_clear_pii, the masked-form
expectations): every text column is searched for a whole resident identity number with a valid check
character (GB 11643, python-stdnum) and for a whole mobile number. Counts per column only: the values
found are never returned, logged or stored.
"""

from __future__ import annotations

from typing import Mapping

from stdnum.cn import ric

from sudata.quality.frames import quote_relation
from sudata.sql import quote_ident

# RE2 (DuckDB) has no look-around: a boundary is start, end or a character that cannot extend the number.
_ID_SHAPE = r"(^|[^0-9A-Za-z])([1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx])([^0-9A-Za-z]|$)"
_MOBILE = r"(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)"
_CANDIDATES = 10_000  # ID-shaped values checked per column (dates and codes can take the shape)


def is_id_number(value: str) -> bool:
    """A resident ID number: check character and birth date valid (stdnum). Unlike ``ric.is_valid`` the
    division code is not looked up in stdnum's list, which lags behind re-divisions: a person's number
    with a new code is still a person's number."""
    value = value.upper()
    try:
        ric.get_birth_date(value)
    except Exception:  # stdnum raises its ValidationError subclasses for an impossible date
        return False
    return ric.calc_check_digit(value) == value[-1]


def _text_columns(columns: Mapping[str, str]) -> list[str]:
    return [c for c, t in columns.items() if t.upper().startswith(("VARCHAR", "TEXT", "STRING"))]


def scan(con, relation: str, columns: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Column → {"id_number": n, "mobile": n} for the columns where personal data was found in clear."""
    rel = quote_relation(relation)
    found: dict[str, dict[str, int]] = {}
    for column in _text_columns(columns):
        col = quote_ident(column)
        mobiles = con.execute(f"select count(*) from {rel} where regexp_matches({col}, ?)", [_MOBILE]).fetchone()[0]
        shaped = con.execute(
            f"select regexp_extract({col}, ?, 2) from {rel} where regexp_matches({col}, ?) limit {_CANDIDATES}",
            [_ID_SHAPE, _ID_SHAPE]).fetchall()
        ids = sum(1 for (v,) in shaped if v and is_id_number(v))
        if mobiles or ids:
            found[column] = {"id_number": int(ids), "mobile": int(mobiles)}
    return found
