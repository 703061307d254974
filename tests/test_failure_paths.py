"""Breaking one source's drop blocks only what depends on it; its datasets keep their last good version."""

from __future__ import annotations

import shutil

import pytest

from sudata.settings import PROJECT_ROOT
from tests.conftest import SAMPLE_FIRST_NIGHT

pytestmark = pytest.mark.integration

BROKEN_SOURCE = "medical_institutions"


@pytest.fixture(scope="module")
def broken_night(sample_nights, tmp_path_factory):
    from cli.main import main
    from cli.pipeline import status_snapshot
    from sudata.ingest import drop_dates
    from sudata.registry import load_registry
    from sudata.settings import Paths
    from sudata.store import PublishedStore

    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("broken")
    home, raw = base / "home", base / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    shutil.copytree(sample_nights["first"], home, symlinks=True)  # the first sample night, run once per session
    mp.setenv("SUDATA_HOME", str(home))
    mp.setenv("SUDATA_RAW", str(raw))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    paths = Paths(home=home, raw=raw)
    source = load_registry()[BROKEN_SOURCE]
    day1, day2 = drop_dates(paths, source)[:2]
    assert day1 == SAMPLE_FIRST_NIGHT
    first = {d["name"]: d["current_version"] for d in PublishedStore(paths.published).datasets()}
    # Tonight's delivery of one source arrives truncated.
    victims = sorted((raw / source.folder / day2).iterdir())
    originals = {v: v.read_bytes() for v in victims}
    for v in victims:
        v.write_bytes(originals[v][: len(originals[v]) // 3])
    code = main(["run", "--date", day2])
    yield {"code": code, "paths": paths, "first": first, "status": status_snapshot(), "day2": day2,
           "victims": victims, "originals": originals}
    mp.undo()


def test_the_run_reports_the_blocked_datasets(broken_night):
    assert broken_night["code"] == 3  # partial: some datasets blocked by their gate


def test_the_corrupt_drop_is_quarantined_and_kept(broken_night):
    status = broken_night["status"]
    src = next(s for s in status["sources"] if s["source"] == BROKEN_SOURCE)
    assert src["last_status"] == "quarantined" and src["quarantined_files"] >= 1
    q = [q for q in status["quarantine"] if q["source"] == BROKEN_SOURCE and q["kind"] == "file"]
    assert q and all(q_["reason"] for q_ in q)
    for v in broken_night["victims"]:
        assert v.exists(), "the raw file is kept"
        assert (broken_night["paths"].home / q[0]["kept_at"]).exists()


def test_only_dependent_datasets_are_blocked(broken_night):
    from sudata.store import PublishedStore

    store = PublishedStore(broken_night["paths"].published)
    dependents, others = [], []
    for d in store.datasets():
        upstream = d["meta"].get("upstream_sources", [])
        last = store.quality_runs(d["name"], limit=1)[0]
        assert last["drop_date"] == broken_night["day2"], d["name"]
        if BROKEN_SOURCE in upstream:
            dependents.append(d["name"])
            assert not last["passed"], f"{d['name']} depends on the broken drop but passed"
            assert d["current_version"] == broken_night["first"][d["name"]], "last good version stays current"
            assert any("timeliness" in c.get("dimension", "") and not c["passed"] for c in last["report"]["checks"])
        else:
            others.append(d["name"])
            assert last["passed"], f"{d['name']} does not depend on {BROKEN_SOURCE} but was blocked"
    assert dependents and len(others) >= 8


def test_status_shows_the_failed_check(broken_night):
    blocked = [d for d in broken_night["status"]["datasets"] if d["last_check"] and not d["last_check"]["passed"]]
    assert blocked and all(d["last_check"]["blocking_failures"] for d in blocked)


def test_the_blocked_datasets_and_the_quarantined_files_alert_once_with_a_link(broken_night):
    from orchestration.alerting import alert_run
    from sudata.monitoring.alerts import AlertStore

    paths = broken_night["paths"]
    alerts = AlertStore(paths.alerts).list(limit=500)
    blocked = {d["dataset"]: d for d in broken_night["status"]["datasets"]
               if d["last_check"] and not d["last_check"]["passed"]}
    blocked_alerts = {a["subject"]: a for a in alerts if a["kind"] == "blocked_dataset"}
    assert set(blocked_alerts) == set(blocked)
    for name, a in blocked_alerts.items():
        assert a["key"] == f"blocked_dataset:{name}:{broken_night['day2']}"
        assert a["link"].endswith(f"/runs/{a['run_id']}")
        assert all(f in a["message"] for f in blocked[name]["last_check"]["blocking_failures"])
        assert f"sudata gate accept {name}" in a["message"], "says what to do"
    quarantined = [a for a in alerts if a["kind"] == "quarantined_file"]
    assert {a["details"]["file"] for a in quarantined} == {
        str(v.relative_to(paths.raw)) for v in broken_night["victims"]}
    assert all(a["subject"] == BROKEN_SOURCE and a["details"]["reason"] in a["message"] for a in quarantined)
    assert not [a for a in alerts if a["kind"] == "run_failed"], "a blocked gate is not a failed run"
    # Reading the run again (the daemon's sensor after the CLI) raises nothing new.
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        assert alert_run(instance, blocked_alerts[next(iter(blocked_alerts))]["run_id"], paths) == []
