"""Anomaly warnings: row counts and null rates against a rolling weekday-aware baseline; an injected volume
spike in a source's drop is flagged, a usual night is not."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import date, timedelta

import duckdb

from sudata.ingest import state
from sudata.monitoring.anomalies import Observations, assess, baseline, judge
from sudata.store import PublishedStore

TONIGHT = "2026-11-23"  # a Monday


def _days(n: int, before: str = TONIGHT):
    end = date.fromisoformat(before)
    return [(end - timedelta(days=i)).isoformat() for i in range(n, 0, -1)]


def test_the_baseline_is_the_same_weekday_of_the_last_weeks():
    # A department that delivers ten times as much on Mondays.
    history = {d: (1000 + i % 3 * 10 if date.fromisoformat(d).weekday() == 0 else 100 + i % 5)
               for i, d in enumerate(_days(56))}
    b = baseline(history, TONIGHT)
    assert b.basis == "same weekday" and b.points == 8 and 990 <= b.median <= 1020
    assert judge("source s", "row_count", history, TONIGHT, 1010, relative=0.5) is None
    spike = judge("source s", "row_count", history, TONIGHT, 5000, relative=0.5)
    assert spike and "above the usual" in spike.describe() and "8 same weekday" in spike.describe()
    assert judge("source s", "row_count", history, TONIGHT, 0, relative=0.5), "an empty Monday is unusual too"
    tuesday = "2026-11-24"
    history[TONIGHT] = 1000
    assert judge("source s", "row_count", history, tuesday, 1000, relative=0.5), "Monday's volume on a Tuesday"
    assert judge("source s", "row_count", history, tuesday, 104, relative=0.5) is None
    # Too little history: no verdict rather than a guess.
    assert baseline({"2026-11-20": 5.0, "2026-11-21": 5.0}, TONIGHT) is None
    # Few same weekdays yet: the recent days are the baseline.
    recent = baseline({d: 100.0 for d in _days(5)}, TONIGHT)
    assert recent.basis == "recent days" and recent.points == 5


def _seed(paths, source: str, dataset: str, days: list[str]) -> None:
    with closing(state.connect(paths.state_db)) as con:
        for i, d in enumerate(days):
            con.execute("insert into partitions (source, drop_date, status, rows, files, quarantined_files,"
                        " quarantined_rows, at) values (?,?,?,?,1,0,0,?)", (source, d, "loaded", 200 + i % 7, d))
    with closing(PublishedStore(paths.published).connect()) as con:
        for i, d in enumerate(days):
            con.execute("insert into quality_runs (dataset, run_id, drop_date, checked_at, passed, report)"
                        " values (?,?,?,?,1,?)", (dataset, f"r{i}", d, d, json.dumps({"row_count": 5000 + i})))
    observations = Observations(paths.home / "monitoring.sqlite")
    for d in days:
        observations.record(dataset, d, 5000, {"school_name": 0.0, "phone": 0.02})


def test_an_injected_volume_spike_is_flagged_and_a_usual_night_is_not(paths):
    days = _days(42)
    _seed(paths, "schools", "schools", days)
    con = duckdb.connect()
    con.execute("create table schools as select 'school ' || i as school_name,"
                " case when i % 50 = 0 then null else '0512-6888' || i end as phone from range(5030) t(i)")
    args = dict(dataset="schools", relation="schools", sources=("schools",), state_db=paths.state_db,
                store=PublishedStore(paths.published), observations=Observations(paths.home / "monitoring.sqlite"))
    with closing(state.connect(paths.state_db)) as sc:
        sc.execute("insert into partitions (source, drop_date, status, rows, files, quarantined_files,"
                   " quarantined_rows, at) values ('schools', ?, 'loaded', 203, 1, 0, 0, ?)", (TONIGHT, TONIGHT))
    usual = assess(con, drop_date=TONIGHT, **args)
    assert usual["anomalies"] == [] and usual["row_count"] == 5030
    assert abs(usual["null_rates"]["phone"] - 0.02) < 0.001

    # The next night the department delivers ten times its usual drop, and half the phones are gone.
    spike_day = "2026-11-24"
    with closing(state.connect(paths.state_db)) as sc:
        sc.execute("insert into partitions (source, drop_date, status, rows, files, quarantined_files,"
                   " quarantined_rows, at) values ('schools', ?, 'loaded', 2040, 1, 0, 0, ?)", (spike_day, spike_day))
    con.execute("update schools set phone = null where hash(school_name) % 2 = 0")
    found = {a["metric"] + "@" + a["subject"]: a for a in assess(con, drop_date=spike_day, **args)["anomalies"]}
    assert set(found) == {"row_count@source schools", "null_rate:phone@dataset schools"}, found
    volume = found["row_count@source schools"]
    assert volume["value"] == 2040 and volume["high"] < 2040 and 200 <= volume["median"] <= 206
    assert "source schools: row_count 2,040 on 2026-11-24 is above the usual" in volume["message"]
    assert found["null_rate:phone@dataset schools"]["value"] > 0.4
    # Tonight's null rates join the history the next night is judged against.
    assert Observations(paths.home / "monitoring.sqlite").history("schools")["phone"][spike_day] > 0.4


def test_a_failed_anomaly_check_becomes_a_warning_alert_and_a_passed_one_none():
    import dagster as dg

    from orchestration.alerting import _check_alert
    from orchestration.checks.anomalies import ANOMALY_CHECK

    found = [{"message": "source schools: row_count 2,040 on 2026-11-24 is above the usual 100–306"}]
    evaluation = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(["marts", "schools"]), check_name=ANOMALY_CHECK, passed=False,
        metadata={"anomalies": dg.MetadataValue.json(found)}, severity=dg.AssetCheckSeverity.WARN)
    alert = _check_alert(evaluation, "run-1", "2026-11-24", "http://ui/runs/run-1")
    assert alert.kind == "anomaly" and alert.severity == "warning" and alert.key == "anomaly:schools:2026-11-24"
    assert found[0]["message"] in alert.message and "Published as usual" in alert.message
    assert alert.link == "http://ui/runs/run-1"
