"""Row-level rules quarantine rows instead of blocking a dataset, domain validity rules hold, and what
staging sets to null is counted and reported.

A third night of hourly air quality follows the bundled sample, with: a reading dated two days after its
drop (quarantined: the dataset still publishes), a station whose PM2.5 has only 10 valid hours (HJ 663:
no daily mean), a station whose every reading is empty (no row at all), and text in the AQI column
(counted, reported by the gate).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sudata.settings import PROJECT_ROOT
from sudata.store import PublishedStore

pytestmark = pytest.mark.integration

DAY = "2026-11-25"
SHORT_PM25, SILENT, FUTURE, TEXT_AQI = "1160A", "1161A", "1162A", "1163A"


def _third_night(raw: Path) -> None:
    (source,) = (raw / "ecology_environment" / "air_quality_hourly" / "2026-11-24").glob("*.csv")
    rows = list(csv.reader(io.StringIO(source.read_text("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    out = []
    for row in body:
        row = [v.replace("2026-11-24", DAY) for v in row]
        station, hour = row[0], int(row[3][11:13]) if len(row[3]) >= 13 else 0
        if station == SHORT_PM25 and hour >= 10:
            row[5] = ""                           # PM2.5 missing from 10:00 on: 10 valid hours
        if station == SILENT:
            row[4:] = [""] * (len(row) - 4)       # nothing measured all day
        if station == FUTURE and hour == 8:
            row[3] = "2026-11-27 08:00:00"        # two days after the drop
        if station == TEXT_AQI and hour == 9:
            row[4] = "维护中"                      # text in a number column
        out.append(row)
    folder = raw / "ecology_environment" / "air_quality_hourly" / DAY
    folder.mkdir()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *out])
    (folder / f"air_quality_hourly_{DAY.replace('-', '')}.csv").write_text(buffer.getvalue(), "utf-8")


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    base = tmp_path_factory.mktemp("validity")
    raw, home = base / "raw", base / "home"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    _third_night(raw)
    (home / "dagster").mkdir(parents=True)
    env = {**os.environ, "SUDATA_RAW": str(raw), "SUDATA_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    done = subprocess.run([str(Path(sys.executable).with_name("sudata")), "run"], env=env,
                          capture_output=True, text=True, timeout=900)
    return {"done": done, "home": home}


def _daily(nights) -> dict:
    store = PublishedStore(nights["home"] / "published")
    version = store.current_version("air_quality_daily")
    assert version is not None and version["drop_date"] == DAY, nights["done"].stdout[-3000:]
    parquet = store.path(version["path"]) / version["files"]["parquet"]["path"]
    with duckdb.connect() as con:
        rows = con.execute(f"select station_code, hours_with_aqi, aqi_mean, pm25_mean_ug_m3, pm10_mean_ug_m3 "
                           f"from read_parquet('{parquet}') where observation_date = date '{DAY}'").fetchall()
    return {r[0]: r for r in rows} | {"_version": version}


def test_a_future_dated_reading_is_quarantined_and_the_dataset_still_publishes(nights):
    daily = _daily(nights)
    assert daily[FUTURE][1] == 23  # the future hour is not counted among the day's readings
    with duckdb.connect(str(nights["home"] / "warehouse.duckdb"), read_only=True) as con:
        reasons = con.execute("select reason, primary_key from int_quarantined_rows where source = 'air_quality_hourly'"
                              f" and _drop_date = date '{DAY}'").fetchall()
    assert ("future_date:observed_at", f"{FUTURE}|2026-11-27 08:00:00") in reasons


def test_a_daily_mean_needs_twenty_valid_hours_and_an_empty_day_is_no_row(nights):
    daily = _daily(nights)
    assert daily[SHORT_PM25][3] is None and daily[SHORT_PM25][4] is not None  # PM2.5: 10 hours; PM10: 24
    assert SILENT not in daily                                                  # no valid hour, no row
    assert daily[TEXT_AQI][1] == 23 and daily[TEXT_AQI][2] is not None          # 23 valid AQI hours ≥ 20


def test_text_in_a_number_column_is_counted_and_reported(nights):
    with duckdb.connect(str(nights["home"] / "warehouse.duckdb"), read_only=True) as con:
        counts = dict(((s, c), n) for s, c, n in con.execute(
            "select source, column_name, unusable_values from int_unusable_values"
            f" where _drop_date = date '{DAY}'").fetchall())
    assert counts[("air_quality_hourly", "aqi")] == 1
    assert ("air_quality_hourly", "pm25_ug_m3") not in counts  # an empty cell is missing, not unusable
    report = _daily(nights)["_version"]["quality"]
    (check,) = [c for c in report["checks"] if c["name"] == "no_unusable_values"]
    assert not check["passed"] and not check["blocking"]
    assert check["observed"]["unusable_values"] == {"air_quality_hourly.aqi": 1}
    assert "air_quality_hourly.aqi 1" in check["detail"]
