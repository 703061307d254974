"""The grassroots units of Su Online: Suzhou's 10 county-level units and their 118 streets and towns.

The master data is the dbt seed ``dbt_project/seeds/suzhou_streets.csv`` (NBS 2023 statistical division
codes: 9-digit street / town codes, 6-digit county-level codes), so the warehouse and the portal use
the same list. A district-level unit covers its own streets; a street covers only itself.

    >>> from sudata import units
    >>> units.get("320508021").full_name
    '姑苏区双塔街道'
    >>> units.covers("320508", "320508021"), units.covers("320508021", "320508")
    (True, False)
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sudata.settings import DBT_PROJECT_DIR

MASTER_CSV = DBT_PROJECT_DIR / "seeds" / "suzhou_streets.csv"
CITY_CODE = "320500"
CITY_NAME = "苏州市"

STREET = "street"
DISTRICT = "district"
LEVELS = (DISTRICT, STREET)

_STREET_RE = re.compile(r"^\d{9}$")
_DISTRICT_RE = re.compile(r"^\d{6}$")


class UnknownUnit(KeyError):
    """A code that is not one of the grassroots units."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return f"unknown Su Online unit: {self.code!r}"


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str              # "district" (county-level unit) or "street" (street / town)
    district_code: str      # a district's own code for district units
    district_name: str

    @property
    def full_name(self) -> str:
        """Name qualified by its district (开发区 alone does not say which one)."""
        return self.name if self.level == DISTRICT else f"{self.district_name}{self.name}"

    @property
    def level_label(self) -> str:
        return "县级市（区）" if self.level == DISTRICT else "街道（镇）"

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "full_name": self.full_name,
            "level": self.level,
            "district_code": self.district_code,
            "district_name": self.district_name,
        }


@dataclass(frozen=True)
class Master:
    districts: tuple[Unit, ...]
    streets: tuple[Unit, ...]
    by_code: dict[str, Unit]
    streets_by_district: dict[str, tuple[Unit, ...]]


def _load(path: Path) -> Master:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    streets: list[Unit] = []
    districts: dict[str, Unit] = {}
    for r in rows:
        code, district_code = r["code"].strip(), r["district_code"].strip()
        if not _STREET_RE.match(code) or not _DISTRICT_RE.match(district_code) or not code.startswith(district_code):
            raise ValueError(f"{path}: malformed unit row {r!r}")
        streets.append(Unit(code, r["name"].strip(), STREET, district_code, r["district_name"].strip()))
        districts.setdefault(
            district_code,
            Unit(district_code, r["district_name"].strip(), DISTRICT, district_code, r["district_name"].strip()),
        )
    streets.sort(key=lambda u: u.code)
    by_code = {u.code: u for u in [*districts.values(), *streets]}
    if len(by_code) != len(districts) + len(streets):
        raise ValueError(f"{path}: duplicate unit codes")
    by_district = {d: tuple(s for s in streets if s.district_code == d) for d in sorted(districts)}
    return Master(
        districts=tuple(districts[d] for d in sorted(districts)),
        streets=tuple(streets),
        by_code=by_code,
        streets_by_district=by_district,
    )


@lru_cache(maxsize=1)
def master() -> Master:
    return _load(MASTER_CSV)


def all_units() -> list[Unit]:
    """Every unit: the districts, each followed by its streets (the order of listings)."""
    m = master()
    out: list[Unit] = []
    for d in m.districts:
        out.append(d)
        out.extend(m.streets_by_district[d.code])
    return out


def districts() -> list[Unit]:
    return list(master().districts)


def streets() -> list[Unit]:
    return list(master().streets)


def is_valid_code(code: object) -> bool:
    """True when ``code`` is the code of a known unit (6-digit district or 9-digit street)."""
    return isinstance(code, str) and code in master().by_code


def validate_code(code: str) -> Unit:
    """The unit with that code; raises :class:`UnknownUnit` (with a reason) otherwise."""
    code = (code or "").strip()
    if not (_STREET_RE.match(code) or _DISTRICT_RE.match(code)):
        raise UnknownUnit(code)
    unit = master().by_code.get(code)
    if unit is None:
        raise UnknownUnit(code)
    return unit


def get(code: str) -> Unit:
    return validate_code(code)


def find(code: str) -> Unit | None:
    return master().by_code.get((code or "").strip())


def streets_of(district_code: str) -> list[Unit]:
    """The streets of a district (empty for unknown districts)."""
    return list(master().streets_by_district.get(district_code, ()))


def district_of(code: str) -> Unit:
    """The district a unit belongs to (a district is its own district)."""
    return master().by_code[validate_code(code).district_code]


def jurisdiction(code: str) -> list[Unit]:
    """The units a key of ``code`` opens: the unit itself and, for a district, its streets."""
    unit = validate_code(code)
    return [unit, *streets_of(unit.code)] if unit.level == DISTRICT else [unit]


def covers(holder_code: str, unit_code: str) -> bool:
    """Whether the unit ``holder_code`` may read the slices of ``unit_code``."""
    holder, unit = find(holder_code), find(unit_code)
    if holder is None or unit is None:
        return False
    if holder.code == unit.code:
        return True
    return holder.level == DISTRICT and unit.level == STREET and unit.district_code == holder.code
