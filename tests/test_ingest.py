"""Ingestion: idempotent landing, lineage, and quarantine of everything that cannot be read."""

from __future__ import annotations

import json

import openpyxl
import pyarrow.parquet as pq
import pytest

from sudata.ingest import ingest_partition, pending_drop_dates, state
from sudata.ingest.land import partition_path
from sudata.registry import load_registry

REG = load_registry()
SCHOOLS = REG["schools"]          # csv, gbk
PARKING = REG["public_parking"]   # json
PENALTIES = REG["administrative_penalties"]  # xlsx
DAY1, DAY2 = "2026-11-23", "2026-11-24"


def _csv_text(source, n=3, drop=()):
    cols = [c for c in source.columns if c.name not in drop]
    lines = [",".join(c.header for c in cols)]
    for i in range(n):
        lines.append(",".join(f"{c.name}-{i}" for c in cols))
    return "\n".join(lines) + "\n"


def _drop(paths, source, day, name, data: bytes):
    folder = paths.raw / source.folder / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def test_csv_lands_with_lineage_and_is_idempotent(paths):
    f = _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS, 4).encode("gbk"))
    raw_bytes = f.read_bytes()
    r = ingest_partition(paths, SCHOOLS, DAY1)
    assert r.status == "loaded" and r.rows == 4
    table = pq.read_table(partition_path(paths, SCHOOLS, DAY1))
    assert table.column_names[: len(SCHOOLS.columns)] == SCHOOLS.column_names
    assert {"_source_file", "_source_sha256", "_drop_date", "_loaded_at", "_row_number"} <= set(table.column_names)
    assert table.column("_row_number").to_pylist() == [1, 2, 3, 4]
    assert table.column("_source_file")[0].as_py() == f"{SCHOOLS.folder}/{DAY1}/schools.csv"
    mtime = partition_path(paths, SCHOOLS, DAY1).stat().st_mtime_ns
    again = ingest_partition(paths, SCHOOLS, DAY1)
    assert again.status == "unchanged" and again.rows == 4
    assert partition_path(paths, SCHOOLS, DAY1).stat().st_mtime_ns == mtime, "unchanged drop must not be rewritten"
    assert f.read_bytes() == raw_bytes, "raw files are never modified"
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == []


def test_rerunning_a_landed_drop_reads_nothing_until_a_file_changes(paths, monkeypatch):
    import os

    from sudata.ingest import land

    f = _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS, 4).encode("gbk"))
    first = ingest_partition(paths, SCHOOLS, DAY1)
    real_read = land.read_file
    reads = []
    monkeypatch.setattr(land, "read_file", lambda path, source: reads.append(path.name) or real_read(path, source))

    again = ingest_partition(paths, SCHOOLS, DAY1)
    assert reads == [], "an untouched drop that landed is not parsed again"
    assert (again.status, again.rows) == ("unchanged", first.rows)
    assert [(x["file"], x["sha256"], x["status"]) for x in again.files] == \
        [(x["file"], x["sha256"], x["status"]) for x in first.files]
    assert state.partition(paths.state_db, SCHOOLS.id, DAY1)["status"] == "unchanged"

    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    assert ingest_partition(paths, SCHOOLS, DAY1).status == "unchanged" and reads == ["schools.csv"]
    f.write_bytes(_csv_text(SCHOOLS, 7).encode("gbk"))
    changed = ingest_partition(paths, SCHOOLS, DAY1)
    assert (changed.status, changed.rows) == ("loaded", 7)


def test_identical_redelivery_on_a_later_date_adds_nothing(paths):
    data = _csv_text(SCHOOLS, 3).encode("gbk")
    _drop(paths, SCHOOLS, DAY1, "schools.csv", data)
    _drop(paths, SCHOOLS, DAY2, "schools.csv", data)
    assert ingest_partition(paths, SCHOOLS, DAY1).status == "loaded"
    r = ingest_partition(paths, SCHOOLS, DAY2)
    assert r.status == "duplicate" and r.rows == 0
    assert "identical to" in r.files[0]["reason"]
    assert not partition_path(paths, SCHOOLS, DAY2).exists()


def test_a_duplicate_whose_original_is_corrected_is_loaded_as_a_rebuild_would(paths):
    """A later drop repeats an earlier file, then the department corrects the earlier one: the repeated
    copy is no longer identical to anything landed, so its drop lands it (a rebuild from this landing zone
    loads it too), and the date is pending for the next night."""
    original = _csv_text(SCHOOLS, 3).encode("gbk")
    first = _drop(paths, SCHOOLS, DAY1, "schools.csv", original)
    _drop(paths, SCHOOLS, DAY2, "schools.csv", original)
    _drop(paths, SCHOOLS, DAY2, "schools_extra.csv", _csv_text(SCHOOLS, 5).encode("gbk"))
    ingest_partition(paths, SCHOOLS, DAY1)
    assert ingest_partition(paths, SCHOOLS, DAY2).rows == 5  # the repeated file left out
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == []

    first.write_bytes(_csv_text(SCHOOLS, 2).encode("gbk"))  # the correction withdraws a record
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == [DAY1, DAY2]
    assert ingest_partition(paths, SCHOOLS, DAY1).rows == 2
    again = ingest_partition(paths, SCHOOLS, DAY2)
    assert (again.status, again.rows) == ("loaded", 3 + 5)
    assert {f["file"].rsplit("/", 1)[1]: f["status"] for f in again.files} == \
        {"schools.csv": "loaded", "schools_extra.csv": "loaded"}
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == []


def test_a_file_an_earlier_correction_repeats_becomes_a_duplicate(paths):
    later = _csv_text(SCHOOLS, 4).encode("gbk")
    first = _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS, 3).encode("gbk"))
    _drop(paths, SCHOOLS, DAY2, "schools.csv", later)
    _drop(paths, SCHOOLS, DAY2, "schools_extra.csv", _csv_text(SCHOOLS, 5).encode("gbk"))
    ingest_partition(paths, SCHOOLS, DAY1)
    assert ingest_partition(paths, SCHOOLS, DAY2).rows == 4 + 5

    first.write_bytes(later)  # the earlier drop is corrected into the later file
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == [DAY1, DAY2]
    ingest_partition(paths, SCHOOLS, DAY1)
    again = ingest_partition(paths, SCHOOLS, DAY2)
    assert again.rows == 5
    assert {f["file"].rsplit("/", 1)[1]: f["status"] for f in again.files} == \
        {"schools.csv": "duplicate", "schools_extra.csv": "loaded"}


def test_finding_pending_drops_reads_only_files_whose_stat_changed(paths, monkeypatch):
    import os

    from sudata.ingest import land

    f1 = _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS, 3).encode("gbk"))
    _drop(paths, SCHOOLS, DAY2, "schools.csv", _csv_text(SCHOOLS, 4).encode("gbk"))
    ingest_partition(paths, SCHOOLS, DAY1)
    ingest_partition(paths, SCHOOLS, DAY2)
    hashed = []
    real = land.sha256_file
    monkeypatch.setattr(land, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == []
    assert hashed == [], "files the ledger hashed and that did not change are not read again"

    os.utime(f1, ns=(f1.stat().st_atime_ns, f1.stat().st_mtime_ns + 10**9))  # touched, same bytes
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == [] and hashed == ["schools.csv"]
    f1.write_bytes(_csv_text(SCHOOLS, 6).encode("gbk"))
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == [DAY1]


def test_a_ledger_without_stat_columns_is_migrated(paths):
    import sqlite3

    with sqlite3.connect(paths.state_db) as con:
        con.execute("create table files (source text not null, drop_date text not null, file text not null, sha256 text"
                    " not null, status text not null, rows integer not null default 0, bad_rows integer not null"
                    " default 0, reason text, at text not null, primary key (source, drop_date, file))")
    _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS, 3).encode("gbk"))
    assert ingest_partition(paths, SCHOOLS, DAY1).status == "loaded"
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == []


def test_changed_redelivery_replaces_the_partition(paths):
    _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS, 3).encode("gbk"))
    ingest_partition(paths, SCHOOLS, DAY1)
    _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS, 5).encode("gbk"))
    assert pending_drop_dates(paths, {SCHOOLS.id: SCHOOLS}) == [DAY1]
    r = ingest_partition(paths, SCHOOLS, DAY1)
    assert r.status == "loaded" and r.rows == 5
    assert pq.read_table(partition_path(paths, SCHOOLS, DAY1)).num_rows == 5


def test_wrong_encoding_is_quarantined_with_an_actionable_reason(paths):
    f = _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS).encode("utf-8"))
    r = ingest_partition(paths, SCHOOLS, DAY1)
    assert r.status == "quarantined" and not r.landed
    reason = r.files[0]["reason"]
    assert "not valid gbk" in reason and "utf" in reason.lower()
    assert f.exists(), "the raw file is kept"
    (q,) = state.quarantine_records(paths.state_db, SCHOOLS.id)
    assert q["kind"] == "file" and (paths.home / q["kept_at"]).read_bytes() == f.read_bytes()


def test_schema_drift_is_quarantined_naming_the_missing_columns(paths):
    _drop(paths, SCHOOLS, DAY1, "schools.csv", _csv_text(SCHOOLS, drop=("school_name",)).encode("gbk"))
    r = ingest_partition(paths, SCHOOLS, DAY1)
    assert r.status == "quarantined"
    assert "schema drift" in r.files[0]["reason"] and "学校名称" in r.files[0]["reason"]


def test_empty_and_header_only_files_are_quarantined(paths):
    _drop(paths, SCHOOLS, DAY1, "empty.csv", b"")
    assert "empty" in ingest_partition(paths, SCHOOLS, DAY1).files[0]["reason"]
    header_only = _csv_text(SCHOOLS, 0).encode("gbk")
    _drop(paths, SCHOOLS, DAY2, "header.csv", header_only)
    assert "no data rows" in ingest_partition(paths, SCHOOLS, DAY2).files[0]["reason"]


def test_truncated_csv_keeps_good_rows_and_quarantines_the_broken_one(paths):
    text = _csv_text(SCHOOLS, 4)
    truncated = text[: text.rstrip("\n").rfind(",")]  # last row cut mid-way, no final newline
    _drop(paths, SCHOOLS, DAY1, "schools.csv", truncated.encode("gbk"))
    r = ingest_partition(paths, SCHOOLS, DAY1)
    assert r.status == "loaded" and r.rows == 3 and r.quarantined_rows == 1
    (q,) = [q for q in state.quarantine_records(paths.state_db, SCHOOLS.id) if q["kind"] == "rows"]
    assert "fields" in q["reason"] and "truncated" in q["reason"]
    rejected = (paths.home / q["kept_at"]).read_text(encoding="utf-8").splitlines()
    assert len(rejected) == 1 and json.loads(rejected[0])["raw"].startswith("school_code-3")


def test_truncated_json_and_xlsx_are_quarantined(paths):
    doc = {"total": 1, "data": [{c.header: f"v{i}" for i, c in enumerate(PARKING.columns)}]}
    text = json.dumps(doc, ensure_ascii=False)
    _drop(paths, PARKING, DAY1, "parking.json", text[: len(text) // 2].encode("utf-8"))
    r = ingest_partition(paths, PARKING, DAY1)
    assert r.status == "quarantined" and "truncated" in r.files[0]["reason"]

    wb = openpyxl.Workbook()
    wb.active.append([c.header for c in PENALTIES.columns])
    wb.active.append([f"v{i}" for i in range(len(PENALTIES.columns))])
    good = _drop(paths, PENALTIES, DAY1, "p.xlsx", b"")
    wb.save(good)
    data = good.read_bytes()
    assert ingest_partition(paths, PENALTIES, DAY1).status == "loaded"
    _drop(paths, PENALTIES, DAY2, "p.xlsx", data[: len(data) // 2])
    r = ingest_partition(paths, PENALTIES, DAY2)
    assert r.status == "quarantined" and "xlsx" in r.files[0]["reason"]


def test_json_export_object_lands(paths):
    doc = {"total": 2, "exportTime": "2026-11-23 01:00:00",
           "data": [{c.header: (i if c.name == "spaces" else f"v{i}") for c in PARKING.columns} for i in range(2)]}
    _drop(paths, PARKING, DAY1, "parking.json", json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    r = ingest_partition(paths, PARKING, DAY1)
    assert r.status == "loaded" and r.rows == 2
    t = pq.read_table(partition_path(paths, PARKING, DAY1))
    assert t.column("spaces").to_pylist() == ["0", "1"]


def test_missing_drop_is_reported_not_fatal(paths):
    r = ingest_partition(paths, SCHOOLS, DAY1)
    assert r.status == "missing" and not r.landed
    assert (paths.lake / "raw" / SCHOOLS.id / "_empty.parquet").exists()


@pytest.mark.parametrize("source_id", sorted(REG))
def test_every_registered_source_ingests_from_the_bundled_sample(sample_raw, source_id):
    source = REG[source_id]
    from sudata.ingest import drop_dates

    days = drop_dates(sample_raw, source)
    assert len(days) >= 2, f"the sample should hold at least two drop dates of {source_id}"
    results = [ingest_partition(sample_raw, source, d) for d in days]
    assert results[0].status == "loaded" and results[0].rows > 0
    assert all(r.landed for r in results), [(r.drop_date, r.status, r.files) for r in results]
