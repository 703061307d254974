"""A version's CSV and JSON as parts per drop date: what a consumer reads equals a single export of the
same rows, and a night shares the parts it did not change with the version before."""

from __future__ import annotations

import io
import json
import threading
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from sudata.assembled import AssembledFile, missing_pieces, open_version_file, sha256_of
from sudata.datasets import DatasetSpec
from sudata.publish import _side_by_side, export_columns, export_version

COLUMNS = ["licence_number", "holder", "note", "decided_at", "fine"]


def _spec() -> DatasetSpec:
    return DatasetSpec(name="licences", unique_id="model.sudata.licences", relation="main.licences",
                       description="licences", catalog={"open_type": "unconditional", "primary_key": ["licence_number"],
                                                        "title": "许可"})


def _warehouse(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create table licences (licence_number varchar, holder varchar, note varchar, decided_at timestamp,"
                " fine decimal(12, 2), _drop_date date, _source_file varchar)")
    con.executemany("insert into licences values (?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def _rows(day: str, count: int, start: int = 0, note: str = "ok") -> list[tuple]:
    # text that needs quoting and escaping, a formula, Chinese text and nulls: the bytes a part must get right
    return [(f"L{day}-{i:05d}", f"苏州企业{i}", "=cmd" if i % 7 == 0 else (None if i % 5 == 0 else f'{note}, "{i}"'),
             f"{day} 08:{i % 60:02d}:00", i * 1.5, day, "f.csv") for i in range(start, start + count)]


def _publish(con, directory: Path, previous=None) -> dict:
    directory.mkdir(parents=True)
    return export_version(con, _spec(), directory, previous)


def _read(directory: Path, entry: dict) -> bytes:
    with open_version_file(directory, entry) as f:
        return f.read()


@pytest.fixture()
def two_versions(tmp_path):
    days = ["2026-11-23", "2026-11-24", "2026-11-25"]
    with closing(_warehouse([r for d in days for r in _rows(d, 300)])) as con:
        v1 = _publish(con, tmp_path / "v1")
        # the next night: a new drop, two of yesterday's rows corrected (they move to the new drop's part)
        con.execute("update licences set note = 'corrected', _drop_date = '2026-11-26'"
                    " where licence_number in ('L2026-11-25-00003', 'L2026-11-25-00004')")
        con.executemany("insert into licences values (?, ?, ?, ?, ?, ?, ?)", _rows("2026-11-26", 50))
        v2 = _publish(con, tmp_path / "v2", (tmp_path / "v1", v1["files"]))
        yield {"root": tmp_path, "v1": v1, "v2": v2, "con": con}


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_file_a_consumer_reads_is_a_single_export_of_the_same_rows(two_versions, fmt):
    root, con = two_versions["root"], two_versions["con"]
    for v in ("v1", "v2"):
        entry = two_versions[v]["files"][fmt]
        whole = root / f"whole-{v}.{fmt}"
        export_columns(con, root / v / "data.parquet", COLUMNS, whole, fmt)
        assert _read(root / v, entry) == whole.read_bytes(), v
        assert entry["size"] == whole.stat().st_size and entry["sha256"] == sha256_of(root / v, entry)
    rows = json.loads(_read(root / "v2", two_versions["v2"]["files"]["json"]))
    assert len(rows) == 950 and rows[-1]["licence_number"] == "L2026-11-26-00049"


def test_a_night_writes_the_parts_it_changed_and_links_the_others(two_versions):
    root, v1, v2 = two_versions["root"], two_versions["v1"], two_versions["v2"]
    assert v1["parts"] == {"count": 3, "written": {"csv": 3, "json": 3}}
    assert v2["parts"] == {"count": 4, "written": {"csv": 2, "json": 2}}  # 11-25 lost two rows, 11-26 is new
    for fmt in ("csv", "json"):
        old = {s["part"]: s for s in v1["files"][fmt]["segments"] if "part" in s}
        new = {s["part"]: s for s in v2["files"][fmt]["segments"] if "part" in s}
        assert list(new) == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"]
        for key, shared in (("2026-11-23", True), ("2026-11-24", True), ("2026-11-25", False)):
            same = (root / "v1" / old[key]["path"]).stat().st_ino == (root / "v2" / new[key]["path"]).stat().st_ino
            assert same is shared, (fmt, key)
        assert new["2026-11-25"]["rows"] == 298 and new["2026-11-26"]["rows"] == 52


def test_rows_are_published_by_drop_date_then_key(two_versions):
    root, con = two_versions["root"], two_versions["con"]
    got = [r[0] for r in con.execute(f"select licence_number from read_parquet('{root / 'v2' / 'data.parquet'}')").fetchall()]
    want = [r[0] for r in con.execute("select licence_number from licences order by _drop_date, licence_number").fetchall()]
    assert got == want and got[-52:][:2] == ["L2026-11-25-00003", "L2026-11-25-00004"]


def test_a_changed_format_writes_every_part_again(two_versions, tmp_path):
    """Same rows, one column's type changed: no part of the version before may be reused."""
    con, v2 = two_versions["con"], two_versions["v2"]
    con.execute("alter table licences alter fine type double")
    v3 = _publish(con, tmp_path / "v3", (tmp_path / "v2", v2["files"]))
    assert v3["parts"]["written"] == {"csv": 4, "json": 4}
    whole = tmp_path / "whole.csv"
    export_columns(con, tmp_path / "v3" / "data.parquet", COLUMNS, whole, "csv")
    assert _read(tmp_path / "v3", v3["files"]["csv"]) == whole.read_bytes()


def test_a_part_missing_from_the_version_before_is_written_not_linked(two_versions, tmp_path):
    con, v2 = two_versions["con"], two_versions["v2"]
    gone = next(s for s in v2["files"]["csv"]["segments"] if s.get("part") == "2026-11-23")
    in_file = [s["part"] for s in v2["files"]["csv"]["segments"] if s.get("path") == gone["path"]]
    (tmp_path / "v2" / gone["path"]).unlink()
    assert set(missing_pieces(tmp_path / "v2", v2["files"]["csv"])) == {gone["path"]}
    v3 = _publish(con, tmp_path / "v3", (tmp_path / "v2", v2["files"]))
    assert v3["parts"]["written"] == {"csv": len(in_file), "json": 0}
    assert missing_pieces(tmp_path / "v3", v3["files"]["csv"]) == []
    whole = tmp_path / "whole.csv"
    export_columns(con, tmp_path / "v3" / "data.parquet", COLUMNS, whole, "csv")
    assert _read(tmp_path / "v3", v3["files"]["csv"]) == whole.read_bytes()


def test_a_mart_without_drop_dates_and_an_empty_one_are_one_part(tmp_path):
    with closing(duckdb.connect()) as con:
        con.execute("create table licences (licence_number varchar, holder varchar)")
        empty = _publish(con, tmp_path / "empty")
        con.execute("insert into licences values ('b', '乙'), ('a', '甲')")
        full = _publish(con, tmp_path / "full")
        for name, built in (("empty", empty), ("full", full)):
            for fmt in ("csv", "json"):
                whole = tmp_path / f"{name}.{fmt}"
                export_columns(con, tmp_path / name / "data.parquet", ["licence_number", "holder"], whole, fmt)
                assert _read(tmp_path / name, built["files"][fmt]) == whole.read_bytes(), (name, fmt)
        assert [s.get("part") for s in full["files"]["csv"]["segments"]] == [None, ""]


def test_an_assembled_file_seeks_and_reads_any_range(tmp_path):
    (tmp_path / "a").write_bytes(b"xxHELLOyy")
    segments = [{"text": "头"}, {"path": "a", "offset": 2, "size": 5}, {"text": "!"}]
    whole = "头".encode() + b"HELLO!"
    with AssembledFile(tmp_path, segments) as f:
        for start in range(len(whole)):
            for n in (1, 2, 5, 100):
                f.seek(start)
                assert f.read(n) == whole[start:start + n], (start, n)
        f.seek(0, io.SEEK_END)
        assert f.tell() == len(whole) and f.read(1) == b""


def test_values_with_line_breaks_are_cut_at_their_rows(tmp_path):
    """A CSV row spans lines when a value holds a line break: the parts are then written one by one, and the
    file is still a single export of the rows (the JSON escapes it and is cut as usual)."""
    rows = _rows("2026-11-23", 40) + _rows("2026-11-24", 40)
    rows[45] = rows[45][:2] + ("第一行\n第二行\r\n第三行",) + rows[45][3:]
    with closing(_warehouse(rows)) as con:
        built = _publish(con, tmp_path / "v1")
        for fmt in ("csv", "json"):
            whole = tmp_path / f"whole.{fmt}"
            export_columns(con, tmp_path / "v1" / "data.parquet", COLUMNS, whole, fmt)
            assert _read(tmp_path / "v1", built["files"][fmt]) == whole.read_bytes(), fmt
        files = {fmt: {s["path"] for s in built["files"][fmt]["segments"] if "part" in s} for fmt in ("csv", "json")}
        assert len(files["csv"]) == 2 and len(files["json"]) == 1  # one export per part / one export cut in two


def test_a_versions_formats_are_written_side_by_side_and_a_failed_one_fails_the_version():
    con = duckdb.connect()
    meeting = threading.Barrier(2, timeout=20)  # written one after the other, the first would wait here alone

    def meet(cur):
        meeting.wait()
        return cur.execute("select 1").fetchone()[0]

    assert _side_by_side(con, {"csv": meet, "json": meet}) == {"csv": 1, "json": 1}

    def disk_full(cur):
        raise duckdb.IOException("No space left on device")

    with pytest.raises(duckdb.IOException, match="No space left"):
        _side_by_side(con, {"csv": lambda cur: 1, "slices": disk_full})
