"""The sample drops: layout, headers, encodings, identifiers, grassroots codes, cross-source references,
the catalogued dirt, determinism and scale."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum

from samplegen import DIRT, generate
from samplegen import core
from samplegen import reference as ref
from samplegen.commands import add_commands
from sudata.registry import load_registry

ROWS, DAYS = 5000, 2
DATES = ["2026-11-23", "2026-11-24"]
REGISTRY = load_registry()
STREETS = {row["code"]: row for row in csv.DictReader(ref.STREETS_SEED.read_text(encoding="utf-8").splitlines())}
DISTRICT_CODES = {row["district_code"] for row in STREETS.values()}


# --- reading drops the way a careful loader would -------------------------------------------------------


def read_file(path: Path, source) -> tuple[list[str], list[dict]]:
    """(header, rows as header -> value) of one delivered file; values as delivered (str, number, date, None)."""
    if source.format == "csv":
        text = path.read_bytes().decode("utf-8-sig" if source.encoding == "utf-8" else source.encoding)
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        return header, [dict(zip(header, r, strict=False)) for r in reader]  # dirty rows may be short
    if source.format == "json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["total"] == len(doc["data"])
        header = list(doc["data"][0]) if doc["data"] else []
        return header, doc["data"]
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    header = list(rows[0])
    return header, [dict(zip(header, r, strict=False)) for r in rows[1:]]


def files(root: Path, source_id: str) -> dict[str, list[Path]]:
    source = REGISTRY[source_id]
    return {d: sorted((root / source.folder / d).glob(source.files)) for d in DATES}


def rows_of(root: Path, source_id: str, day: str | None = None) -> list[dict]:
    """All rows of a source (by snake_case column name), excluding the re-delivered copy."""
    source = REGISTRY[source_id]
    out = []
    for d, paths in files(root, source_id).items():
        if day and d != day:
            continue
        for p in paths:
            if p.stem.endswith(d.replace("-", "")):
                _, rows = read_file(p, source)
                out += [{source.headers[h]: v for h, v in r.items()} | {"_drop": d} for r in rows]
    return out


def norm(value) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


@pytest.fixture(scope="module")
def drops(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("raw")
    return root, generate(root, rows=ROWS, days=DAYS)


# --- layout, headers, encodings --------------------------------------------------------------------------


def test_every_registered_source_delivers_on_every_date(drops):
    root, summary = drops
    assert set(summary["rows"]) == set(REGISTRY)
    for source_id in REGISTRY:
        for day, paths in files(root, source_id).items():
            own = [p for p in paths if p.name == f"{source_id}_{day.replace('-', '')}.{REGISTRY[source_id].format}"]
            assert own, f"{source_id} has no file for {day}"
            assert read_file(own[0], REGISTRY[source_id])[1], f"{source_id} {day} is empty"


def test_headers_are_exactly_the_registry_headers(drops):
    root, _ = drops
    for source_id, source in REGISTRY.items():
        for paths in files(root, source_id).values():
            for p in paths:
                header, _ = read_file(p, source)
                assert header == [c.header for c in source.columns], p


def test_files_are_in_the_registered_encodings(drops):
    root, _ = drops
    gbk = [s for s, src in REGISTRY.items() if src.format == "csv" and src.encoding == "gbk"]
    utf8 = [s for s, src in REGISTRY.items() if src.format in ("csv", "json") and src.encoding == "utf-8"]
    assert gbk and utf8
    for source_id in gbk:
        for paths in files(root, source_id).values():
            raw = paths[0].read_bytes()
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            assert raw.decode("gbk").startswith(REGISTRY[source_id].columns[0].header)
    for source_id in utf8:
        for paths in files(root, source_id).values():
            paths[0].read_bytes().decode("utf-8")  # strict
    bom = [s for s in utf8 if files(root, s)[DATES[0]][0].read_bytes().startswith(b"\xef\xbb\xbf")]
    assert bom == ["service_hall_transactions"]


def test_json_is_a_departmental_export_with_numbers_as_numbers(drops):
    root, _ = drops
    path = files(root, "job_postings")[DATES[0]][0]
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc) == {"total", "exportTime", "data"}
    assert re.fullmatch(r"2026-11-23 \d\d:\d\d:\d\d", doc["exportTime"])
    openings = [r["招聘人数"] for r in doc["data"]]
    assert all(isinstance(x, int) for x in openings)
    salaries = [r["最低月薪(元)"] for r in doc["data"]]
    assert any(isinstance(x, int) for x in salaries) and any(isinstance(x, str) and "," in x for x in salaries)


def test_excel_dates_are_date_cells_except_the_odd_text_date(drops):
    root, _ = drops
    values = [r["decision_date"] for r in rows_of(root, "administrative_penalties")]
    cells = [x for x in values if hasattr(x, "year")]
    texts = [x for x in values if isinstance(x, str)]
    assert len(cells) > 0.9 * len(values)
    assert texts and all(re.fullmatch(r"2026(年11月2[34]日|\.11\.2[34])", t) for t in texts)


# --- identifiers -----------------------------------------------------------------------------------------


def test_credit_codes_validate_except_the_intended_wrong_check_characters(drops):
    root, _ = drops
    for source_id in ("enterprise_registrations", "administrative_licences", "administrative_penalties", "job_postings",
                      "medical_institutions", "elderly_care_facilities"):
        codes = [norm(r["uscc"]) for r in rows_of(root, source_id) if norm(r["uscc"])]
        assert codes
        bad = [c for c in codes if not uscc.is_valid(c)]
        for c in bad:   # right shape, only the check character is wrong
            assert re.fullmatch(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}", c)
            with pytest.raises(InvalidChecksum):
                uscc.validate(c)
        planned = sum(d.rate for d in DIRT.get(source_id, ()) if d.kind == "wrong_check" and d.column == "uscc")
        if planned:   # small files may by chance carry none; larger ones carry about the planned share
            low = 0.3 * planned if len(codes) >= 200 else 0
            assert low * len(codes) <= len(bad) <= 2.5 * planned * len(codes) + DAYS, (source_id, len(bad), len(codes))
        else:
            assert bad == [], source_id
        assert all(c[:2] in ("91", "12", "52") and c[2:6] == "3205" for c in codes)


def test_resident_id_numbers_validate_except_the_intended_wrong_check_characters(drops):
    root, _ = drops
    numbers = [norm(r["legal_rep_id_number"]) for r in rows_of(root, "enterprise_registrations")]
    bad = [n for n in numbers if not ric.is_valid(n)]
    for n in bad:
        with pytest.raises(InvalidChecksum):
            ric.validate(n)
    assert 0.003 <= len(bad) / len(numbers) <= 0.03
    assert all(n[:6] in {d for d, _, _ in ref.RIC_DIVISIONS} for n in numbers)


def test_phone_numbers_look_like_suzhou_numbers(drops):
    root, _ = drops
    phones = [norm(r["contact_phone"]) for r in rows_of(root, "enterprise_registrations")]
    assert all(re.fullmatch(r"1[3-9]\d{9}|0512-[56]\d{7}", p) for p in phones)
    community = [r["phone"] for r in rows_of(root, "communities")]
    fullwidth = [p for p in community if p != norm(p)]
    assert fullwidth and all(re.fullmatch(r"0512-[56]\d{7}", norm(p)) for p in community)


# --- grassroots codes --------------------------------------------------------------------------------------

STREET_SOURCES = ("communities", "elderly_care_facilities", "scenic_spots", "schools", "service_hall_transactions",
                  "medical_institutions", "job_postings", "bus_stops", "public_parking")


def outdated(code: str) -> bool:
    current = {old + code[6:]: new for new, old in ref.GUSU_OLD_DISTRICT.items()}
    return code in current or (code.startswith(ref.WUJIANG_OLD_DISTRICT) and "320509" + code[6:] in STREETS)


def test_street_codes_are_master_data_apart_from_the_catalogued_outdated_and_unknown_ones(drops):
    root, _ = drops
    for source_id in STREET_SOURCES:
        rows = rows_of(root, source_id)
        codes = [norm(r["street_code"]) for r in rows]
        off = [c for c in codes if c not in STREETS]
        assert all(outdated(c) or c in ref.UNKNOWN_STREET_CODES for c in off), (source_id, off)
        planned = sum(d.rate for d in DIRT[source_id] if d.kind in ("outdated_street", "unknown_street"))
        if planned:
            assert off, source_id
        assert len(off) <= 2.5 * planned * len(codes) + 2 * DAYS, source_id
        # addresses name the district and the street of a valid code, so they can be matched to it
        for r in rows:
            code = norm(r["street_code"])
            address = r.get("address") or r.get("work_address")
            if code in STREETS and address:
                assert STREETS[code]["name"] in address and STREETS[code]["district_name"] in address, (source_id, r)


def test_communities_are_coded_under_their_streets(drops):
    root, _ = drops
    rows = rows_of(root, "communities")
    for r in rows:
        code = r["community_code"]
        assert re.fullmatch(r"\d{12}", code) and code[:9] in STREETS
        assert code[9] in ("01" if r["community_type"] == "社区" else "23"), r    # 001-199 committees, 200-399 villages
    assert len({r["community_code"] for r in rows if r["_drop"] == DATES[0]}) == len([r for r in rows if r["_drop"] == DATES[0]])


def test_air_quality_has_24_readings_per_station_and_6_digit_district_codes(drops):
    root, _ = drops
    for day in DATES:
        rows = rows_of(root, "air_quality_hourly", day)
        readings = defaultdict(set)
        for r in rows:
            readings[r["station_code"]].add(r["observed_at"])
            assert r["observed_at"].startswith(day)
        assert all(len(hours) == 24 for hours in readings.values())
        assert len(rows) > 24 * len(readings)      # the duplicated readings
        districts = {r["district_code"] for r in rows}
        assert all(re.fullmatch(r"\d{6}", d) for d in districts)
        assert districts - DISTRICT_CODES <= set(ref.OUTDATED_DISTRICT_PREFIXES)
        assert districts & set(ref.OUTDATED_DISTRICT_PREFIXES)


def test_service_hall_rows_are_per_street_day_and_category(drops):
    root, summary = drops
    current = {old + new[6:]: new for new, old in ref.GUSU_OLD_DISTRICT.items()}
    for day in DATES:
        rows = rows_of(root, "service_hall_transactions", day)
        keys = [(current.get(r["street_code"], r["street_code"].replace(ref.WUJIANG_OLD_DISTRICT, "320509", 1)),
                 r["service_category"]) for r in rows]
        assert len(set(keys)) == len(keys)
        assert {k[0] for k in keys} <= set(STREETS)
        assert len(keys) == len({k[0] for k in keys}) * summary["plan"]["service_categories"]
        assert all(int(r["completed"]) >= 0 and int(r["received"]) >= 0 for r in rows)


# --- cross-source consistency ----------------------------------------------------------------------------


def test_licences_penalties_and_postings_point_at_registered_enterprises(drops):
    root, _ = drops
    registered = {norm(r["uscc"])[:17] for r in rows_of(root, "enterprise_registrations") if norm(r["uscc"])}
    for source_id in ("administrative_licences", "administrative_penalties", "job_postings", "enterprise_changes"):
        codes = {norm(r["uscc"])[:17] for r in rows_of(root, source_id) if norm(r["uscc"])}
        assert codes and codes <= registered, source_id
    others = {norm(r["uscc"])[:17] for s in ("medical_institutions", "elderly_care_facilities") for r in rows_of(root, s)}
    assert not others & registered       # institutions have credit codes of their own


def test_visitors_count_every_rated_spot_every_day(drops):
    root, _ = drops
    spots: dict[str, str] = {}
    for r in rows_of(root, "scenic_spots"):
        spots.setdefault(r["spot_id"], r["_drop"])
    for day in DATES:
        visits = rows_of(root, "scenic_visitors_daily", day)
        existing = {s for s, first in spots.items() if first <= day}
        assert {r["spot_id"] for r in visits} == existing
        assert all(re.fullmatch(r"\d+", r["visitors"].replace(",", "")) for r in visits)


def test_master_data_is_a_snapshot_then_new_and_corrected_records(drops):
    root, _ = drops
    for source_id in core.MASTERS:
        pk = REGISTRY[source_id].primary_key[0]
        first = {norm(r[pk]): r for r in rows_of(root, source_id, DATES[0])}
        later = rows_of(root, source_id, DATES[1])
        assert 0 < len(later) < len(first) / 5, source_id
        again = [r for r in later if norm(r[pk]) in first]
        new = [r for r in later if norm(r[pk]) not in first]
        assert again and new, source_id
        columns = REGISTRY[source_id].column_names
        assert any(any(r[c] != first[norm(r[pk])][c] for c in columns) for r in again), source_id


def test_licence_and_posting_corrections_arrive_the_next_day(drops):
    root, _ = drops
    first = {r["licence_number"]: r for r in rows_of(root, "administrative_licences", DATES[0])}
    late = [r for r in rows_of(root, "administrative_licences", DATES[1]) if r["licence_number"] in first]
    assert late
    assert all(norm(r["decision_date"]) in ("", "2026-11-23", "2026/11/23", "2026年11月23日", "20261123", "2026.11.23") for r in late)
    for r in late:
        before = first[r["licence_number"]]
        assert r["valid_until"] != before["valid_until"] or r["licence_content"] != before["licence_content"]
    posted = {r["posting_id"]: r for r in rows_of(root, "job_postings", DATES[0])}
    again = [r for r in rows_of(root, "job_postings", DATES[1]) if r["posting_id"] in posted]
    assert again and all(r["posting_id"].startswith("GW20261123") for r in again)
    assert all(norm(r["salary_max"]).replace(",", "") != norm(posted[r["posting_id"]]["salary_max"]).replace(",", "") for r in again)


# --- the catalogued dirt ---------------------------------------------------------------------------------


def test_the_first_licence_file_is_delivered_again_unchanged(drops):
    root, summary = drops
    folder = root / REGISTRY["administrative_licences"].folder
    original = folder / DATES[0] / "administrative_licences_20261123.csv"
    again = folder / DATES[1] / "administrative_licences_20261123.csv"
    assert again.read_bytes() == original.read_bytes()
    assert summary["redelivered"] == again.relative_to(root).as_posix()


def test_duplicate_rows_missing_values_and_date_formats(drops):
    root, _ = drops
    for source_id in ("administrative_licences", "job_postings", "air_quality_hourly", "bus_stops", "enterprise_changes"):
        for day in DATES if source_id not in core.MASTERS else DATES[:1]:
            rows = [tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows_of(root, source_id, day)]
            assert len(set(rows)) < len(rows), (source_id, day)
    licences = rows_of(root, "administrative_licences")
    shapes = Counter(re.sub(r"\d", "9", r["decision_date"]) for r in licences)
    assert {"9999-99-99", "9999/99/99", "99999999", "9999.99.99"} <= set(shapes)
    assert shapes["9999-99-99"] > 0.9 * len(licences)
    assert 0 < shapes[""] < 0.02 * len(licences)
    names = [r["enterprise_name"] for r in rows_of(root, "enterprise_registrations")]
    assert any(n == "" for n in names)
    assert any(n != n.strip() for n in names)
    assert any("(" in n for n in names) and any("（" in n for n in names)
    fullwidth = [r["uscc"] for r in rows_of(root, "enterprise_registrations") if re.search("[０-９Ａ-Ｚ]", r["uscc"])]
    assert fullwidth and all(re.fullmatch(r"[0-9A-Z]{18}", norm(c)) for c in fullwidth)


def test_numbers_with_separators_and_units_stay_parseable(drops):
    root, _ = drops
    capital = [r["registered_capital"] for r in rows_of(root, "enterprise_registrations")]
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d)?", c) for c in capital)
    assert any(c.endswith("万") for c in capital)
    assert all(re.fullmatch(r"[\d,]+(\.\d+)?万?", c) for c in capital)
    beds = [r["beds"] for r in rows_of(root, "elderly_care_facilities")]
    assert all(isinstance(b, int) or re.fullmatch(r"\d+张", b) for b in beds) and any(isinstance(b, str) for b in beds)
    spaces = [r["spaces"] for r in rows_of(root, "public_parking")]
    assert all(isinstance(s, int) or re.fullmatch(r"\d+个", s) for s in spaces) and any(isinstance(s, str) for s in spaces)


def test_summary_counts_match_the_files(drops):
    root, summary = drops
    for source_id in REGISTRY:
        assert len(rows_of(root, source_id)) == summary["rows"][source_id], source_id
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert on_disk == summary["files"]


# --- determinism and scale -------------------------------------------------------------------------------


def _contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_arguments_give_the_same_files(drops, tmp_path):
    root, _ = drops
    generate(tmp_path, rows=ROWS, days=DAYS)
    a, b = _contents(root), _contents(tmp_path)
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] for k in a)
    for source_id in ("scenic_spots", "job_postings", "schools"):          # and so do the parsed rows
        assert rows_of(root, source_id) == rows_of(tmp_path, source_id)


def test_another_seed_or_start_gives_other_data(drops, tmp_path):
    root, _ = drops
    generate(tmp_path / "seed", rows=ROWS, days=DAYS, seed=7)
    assert rows_of(root, "job_postings") != rows_of(tmp_path / "seed", "job_postings")
    summary = generate(tmp_path / "start", rows=500, days=1, start=date(2027, 1, 4))
    assert all("/2027-01-04/" in f for f in summary["files"])


def test_background_excel_writing_gives_the_same_bytes(tmp_path, monkeypatch):
    generate(tmp_path / "inline", rows=800, days=2)
    monkeypatch.setattr(core, "BACKGROUND_XLSX_ROWS", 35)   # the two larger workbooks
    generate(tmp_path / "background", rows=800, days=2)
    a, b = _contents(tmp_path / "inline"), _contents(tmp_path / "background")
    assert a == b and any(k.endswith(".xlsx") for k in a)


def test_rows_are_roughly_honoured(tmp_path):
    small = generate(tmp_path / "small", rows=3000, days=2)
    large = generate(tmp_path / "large", rows=30000, days=3)
    assert abs(small["total_rows"] - 3000) <= 0.1 * 3000
    assert abs(large["total_rows"] - 30000) <= 0.05 * 30000
    assert len(large["files"]) == 15 * 3 + 1
    event_share = sum(large["rows"][s] for s in ("air_quality_hourly", "administrative_licences", "job_postings")) / large["total_rows"]
    assert event_share > 0.5


def test_generate_command(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["generate", "--rows", "800", "--days", "2", "--out", str(tmp_path), "--start", "2026-12-01"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "rows in 31 files" in out and "re-delivered" in out
    assert (tmp_path / "ecology_environment/air_quality_hourly/2026-12-02/air_quality_hourly_20261202.csv").exists()
