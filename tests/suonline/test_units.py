"""The units master: 10 county-level units, 118 streets, and who covers whom."""

import csv

import pytest

from sudata import units


def test_master_matches_the_division_seed():
    with open(units.MASTER_CSV, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 118
    assert len(units.streets()) == 118
    assert len(units.districts()) == 10
    assert len(units.all_units()) == 128
    assert {s.code for s in units.streets()} == {r["code"] for r in rows}
    assert {d.code: d.name for d in units.districts()} == {r["district_code"]: r["district_name"] for r in rows}
    for r in rows:
        s = units.get(r["code"])
        assert (s.level, s.name, s.district_code, s.district_name) == (
            "street", r["name"], r["district_code"], r["district_name"])


def test_districts_partition_the_streets():
    seen = []
    for d in units.districts():
        streets = units.streets_of(d.code)
        assert streets, d
        assert all(s.code.startswith(d.code) and s.district_code == d.code for s in streets)
        seen += [s.code for s in streets]
    assert sorted(seen) == sorted(s.code for s in units.streets())
    assert units.streets_of("320508")[0].code == "320508017"
    assert [u.code for u in units.jurisdiction("320585")] == ["320585", *[s.code for s in units.streets_of("320585")]]
    assert [u.code for u in units.jurisdiction("320585100")] == ["320585100"]


def test_full_names():
    full = [s.full_name for s in units.streets()]
    assert len(set(full)) == len(full)
    assert units.get("320508021").full_name == "姑苏区双塔街道"
    assert units.get("320508").full_name == "姑苏区"


@pytest.mark.parametrize("code", ["", "32050", "3205080", "320508000", "320500", "abcdef", "3205080211", None, "320599"])
def test_invalid_codes(code):
    assert not units.is_valid_code(code)
    with pytest.raises(units.UnknownUnit):
        units.validate_code(code)


def test_district_of():
    assert units.district_of("320583104").code == "320583"
    assert units.district_of("320583").code == "320583"


def test_covers_every_pair():
    """All 128 × 128 holder/unit pairs against the rule stated on codes alone."""
    codes = [u.code for u in units.all_units()]
    allowed = 0
    for holder in codes:
        for unit in codes:
            expected = holder == unit or (len(holder) == 6 and len(unit) == 9 and unit[:6] == holder)
            assert units.covers(holder, unit) is expected, (holder, unit)
            allowed += expected
    assert allowed == 128 + 118
    assert not units.covers("320500", "320508") and not units.covers("320508", "320599001")
