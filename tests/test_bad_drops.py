"""The corpus of bad departmental drops (tests/bad_drops/manifest.yaml): for each, the declared outcome with
its reason, the raw file byte-identical afterwards, the source's earlier good partition untouched, and
another department's drop of the same night landed."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sudata.ingest import ingest_dates, ingest_partition, pending_drop_dates, state
from sudata.ingest.land import partition_path
from sudata.settings import PROJECT_ROOT
from tests.bad_drops.make import HERE, REG, TEMPLATE_DATE, cases, make

CASES = cases()
NIGHT = "2026-11-25"
OTHER = REG["medical_institutions"]  # another department (health commission), delivering the same night
ROWS = {"loaded": 5, "rejected_rows": 4}  # the makers write 5 data rows; one broken where rows are rejected


def test_the_corpus_has_at_least_30_cases_each_with_its_outcome_and_committed_file():
    assert len(CASES) >= 30 and len({c["case"] for c in CASES}) == len(CASES)
    for c in CASES:
        assert c["source"] in REG and c["expect"] in ("loaded", "rejected_rows", "quarantined"), c
        assert c["expect"] == "loaded" or c.get("reason"), f"{c['case']}: a bad drop needs its reason"
        if "file" in c:
            assert (HERE / c["file"]).is_file(), c["file"]


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _zone(paths) -> dict[str, str]:
    elsewhere = paths.home.parent / "elsewhere"
    return {**_files(paths.raw), **({f"../{k}": v for k, v in _files(elsewhere).items()} if elsewhere.exists() else {})}


def _copy_sample(paths, source, sample_date: str, night: str) -> None:
    (src,) = (PROJECT_ROOT / "raw" / source.folder / sample_date).glob(source.files)
    dest = paths.raw / source.folder / night
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest / src.name)


def _deliver(paths, case: dict, data: bytes) -> str:
    """Put the case into the landing zone; the path the quarantine ledger names it by."""
    source = REG[case["source"]]
    name = case.get("deliver_as", f"{source.id}_20261125.{source.format}")
    setup = case.get("setup")
    folder = paths.raw / source.folder / ("2026-13-45" if setup == "invalid_date_folder" else NIGHT)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if setup == "symlink_out":
        outside = paths.home.parent / "elsewhere" / "secret.csv"
        outside.parent.mkdir()
        outside.write_bytes(data)
        target.symlink_to(outside)
    else:
        target.write_bytes(data)
    if setup == "twice":
        (folder / f"副本 {name}").write_bytes(data)
    if setup == "invalid_date_folder":
        return str(folder.relative_to(paths.raw)) + "/"
    return str(target.relative_to(paths.raw))


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_bad_drop(paths, case):
    source = REG[case["source"]]
    _copy_sample(paths, source, TEMPLATE_DATE, TEMPLATE_DATE)
    assert ingest_partition(paths, source, TEMPLATE_DATE).status == "loaded"
    earlier = partition_path(paths, source, TEMPLATE_DATE).read_bytes()
    _copy_sample(paths, OTHER, "2026-11-24", NIGHT)
    delivered = _deliver(paths, case, make(case))
    raw_before = _zone(paths)

    result = ingest_dates(paths, source, [NIGHT])[NIGHT]
    other = ingest_partition(paths, OTHER, NIGHT)

    assert (other.status, other.rows > 0) == ("loaded", True), "another department's drop of the night still lands"
    assert _zone(paths) == raw_before, "raw files (and whatever a link points to) are never modified"
    assert partition_path(paths, source, TEMPLATE_DATE).read_bytes() == earlier, "the earlier good drop is untouched"
    records = [q for q in state.quarantine_records(paths.state_db, source.id) if q["file"] == delivered]
    expect = case["expect"]
    if expect == "quarantined":
        (q,) = [q for q in records if q["kind"] == "file"]
        for part in case["reason"]:
            assert part in q["reason"], f"{part!r} not in {q['reason']!r}"
        if q["kept_at"]:
            assert (paths.home / q["kept_at"]).read_bytes() == (paths.raw / delivered).read_bytes()
        if case.get("setup") == "invalid_date_folder":
            assert result.status == "missing" and q["drop_date"] == "2026-13-45"
        else:
            assert (result.status, result.landed) == ("quarantined", False)
            assert [f["reason"] for f in result.files if f["file"] == delivered] == [q["reason"]]
            assert not partition_path(paths, source, NIGHT).exists()
    else:
        assert result.status == "loaded"
        assert result.rows == case.get("rows", ROWS[expect])
        assert pq.read_table(partition_path(paths, source, NIGHT)).num_rows == result.rows
        assert not [q for q in records if q["kind"] == "file"]
        if expect == "rejected_rows":
            (q,) = [q for q in records if q["kind"] == "rows"]
            assert q["rows"] == result.quarantined_rows == 1
            for part in case["reason"]:
                assert part in q["reason"], f"{part!r} not in {q['reason']!r}"
        elif case.get("reason"):  # loaded, with a file set aside as a duplicate
            reasons = [f.get("reason", "") for f in result.files if f["status"] == "duplicate"]
            assert len(reasons) == 1 and all(part in reasons[0] for part in case["reason"]), reasons
        else:
            assert result.quarantined_rows == 0 and not records
    assert pending_drop_dates(paths, {source.id: source, OTHER.id: OTHER}) == [], "each case is settled in one run"


def _case(name: str) -> dict:
    return next(c for c in CASES if c["case"] == name)


def test_reordered_columns_land_under_their_headers(paths):
    source = REG["bus_stops"]
    _deliver(paths, _case("reordered_columns"), make(_case("reordered_columns")))
    ingest_partition(paths, source, NIGHT)
    table = pq.read_table(partition_path(paths, source, NIGHT))
    assert table.column("stop_id").to_pylist()[0] == "674918" and table.column("longitude").to_pylist()[0] == "120.624658"


def test_quoted_newlines_and_quotes_land_as_delivered(paths):
    source = REG["bus_stops"]
    _deliver(paths, _case("embedded_newlines_and_quotes"), make(_case("embedded_newlines_and_quotes")))
    ingest_partition(paths, source, NIGHT)
    assert pq.read_table(partition_path(paths, source, NIGHT)).column("stop_name")[0].as_py() == '北门"东"\n（临时站）'


def test_a_refused_entry_is_recorded_once_however_often_the_night_runs(paths):
    source = REG["bus_stops"]
    _deliver(paths, _case("dot_dot_name"), make(_case("dot_dot_name")))
    _deliver(paths, _case("invalid_date_folder"), make(_case("invalid_date_folder")))
    for _ in range(3):
        ingest_partition(paths, source, NIGHT)
    assert sorted(q["file"] for q in state.quarantine_records(paths.state_db, source.id)) == [
        "transport/bus_stops/2026-11-25/..bus_stops.csv", "transport/bus_stops/2026-13-45/"]
