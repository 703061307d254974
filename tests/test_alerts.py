"""Delivery deadlines and alerts: a late drop, a failed run, each alerts once through every channel of
alerts.yml (a loopback webhook and an aiosmtpd server), is stored and listed by ``sudata alerts``."""

from __future__ import annotations

import os
import shutil
from datetime import datetime

import dagster as dg
import pytest

from sudata.monitoring.alerts import AlertStore
from sudata.monitoring.deadlines import ZONE, delivery_status, latest_due
from sudata.registry import Delivery, RegistryError, load_registry
from sudata.settings import REGISTRY_DIR

from .monitoring_receivers import receivers, write_alerts_config

LATE_SOURCE = "medical_institutions"
DROP = "2026-11-24"
AFTER_DEADLINE = "2026-11-25T02:00:00+08:00"  # the drop of 11-24 was due at 01:30


def _deliver_everything_on_time(paths) -> None:
    before = datetime(2026, 11, 24, 20, 0, tzinfo=ZONE).timestamp()
    for f in paths.raw.rglob("*"):
        if f.is_file():
            os.utime(f, (before, before))


def _watch(instance, as_of: str):
    from orchestration.definitions import defs

    job = defs.resolve_job_def("delivery_watch")
    return job.execute_in_process(instance=instance, raise_on_error=False,
                                  run_config={"ops": {"delivery_deadlines": {"config": {"as_of": as_of}}}})


def _sense(sensor, instance, run_id: str, failure: bool = False) -> None:
    run = instance.get_run_by_id(run_id)
    event_type = dg.DagsterEventType.RUN_FAILURE if failure else dg.DagsterEventType.RUN_SUCCESS
    (record,) = instance.get_records_for_run(run_id, of_type=event_type).records
    context = dg.build_run_status_sensor_context(sensor_name=sensor.name, dagster_instance=instance, dagster_run=run,
                                                 dagster_event=record.event_log_entry.dagster_event)
    sensor(context.for_run_failure() if failure else context)


def test_a_late_drop_raises_exactly_one_alert_through_each_channel(sample_raw, monkeypatch, capsys):
    from cli.main import main
    from orchestration.sensors import alerts_after_success

    _deliver_everything_on_time(sample_raw)
    shutil.rmtree(sample_raw.raw / load_registry()[LATE_SOURCE].folder / DROP)
    monkeypatch.setenv("SUDATA_TEST_HOOK_TOKEN", "s3cret")
    with receivers() as rx, dg.DagsterInstance.ephemeral() as instance:
        write_alerts_config(sample_raw.home, rx["url"], rx["smtp_port"])
        result = _watch(instance, AFTER_DEADLINE)
        assert result.success, "a late drop is reported, it does not fail the watch"
        evaluations = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
        assert len(evaluations) == len([s for s in load_registry().values() if s.delivery])
        failed = [name for name, e in evaluations.items() if not e.passed]
        assert failed == [LATE_SOURCE]
        assert evaluations[LATE_SOURCE].metadata["status"].value == "missing"
        assert evaluations["schools"].metadata["status"].value == "on_time"

        _sense(alerts_after_success, instance, result.run_id)
        _sense(alerts_after_success, instance, result.run_id)  # the sensor sees the run again
        again = _watch(instance, "2026-11-25T03:00:00+08:00")  # the next watch finds the drop still missing
        _sense(alerts_after_success, instance, again.run_id)

        assert len(rx["posted"]) == 1 and len(rx["mails"]) == 1, (rx["posted"], rx["mails"])
        posted = rx["posted"][0]
        assert posted["headers"]["X-Token"] == "s3cret", "secrets come from the environment"
        body = posted["json"]
        assert body["kind"] == "late_drop" and body["subject"] == LATE_SOURCE and body["severity"] == "error"
        assert body["key"] == f"late_drop:{LATE_SOURCE}:{DROP}"
        assert body["link"] == f"http://dagster.test:3000/runs/{result.run_id}"
        assert "has not been delivered" in body["message"] and "2026-11-25 01:30" in body["message"]
        assert f"health_commission/{LATE_SOURCE}/{DROP}/" in body["message"], "says where the drop belongs"
        mail = rx["mails"][0]
        assert "not delivered" in mail["Subject"] and mail["To"] == "duty@city.test"
        assert body["link"] in mail.get_payload()

    (stored,) = AlertStore(sample_raw.alerts).list()
    assert stored["deliveries"] == {"ops": "sent", "duty": "sent"}
    capsys.readouterr()
    assert main(["alerts"]) == 0
    out = capsys.readouterr().out
    assert f"late_drop:{LATE_SOURCE}:{DROP}" in out and "ops sent" in out and body["link"] in out


def test_a_failed_run_alerts_with_its_failed_step_and_a_link(paths):
    from orchestration.sensors import alerts_after_failure

    @dg.op
    def land_drops():
        raise OSError("the landing zone is not mounted")

    @dg.job(name="nightly")
    def broken():
        land_drops()

    with dg.DagsterInstance.ephemeral() as instance:
        result = broken.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        _sense(alerts_after_failure, instance, result.run_id, failure=True)
        _sense(alerts_after_failure, instance, result.run_id, failure=True)
    (alert,) = AlertStore(paths.alerts).list()
    assert alert["kind"] == "run_failed" and alert["key"] == f"run_failed:{result.run_id}"
    assert "land_drops" in alert["message"] and "the landing zone is not mounted" in alert["message"]
    assert alert["link"] == f"http://127.0.0.1:3000/runs/{result.run_id}"
    assert alert["deliveries"] == {}, "no alerts.yml: stored and listed, sent nowhere"


def test_an_unreachable_channel_is_retried_and_the_others_are_not_repeated(paths):
    from sudata.monitoring.alerts import Alert
    from sudata.monitoring.channels import Alerter

    with receivers() as rx:
        write_alerts_config(paths.home, rx["url"], rx["smtp_port"])
        smtp_port = rx["smtp_port"]
    # both receivers are down now
    alert = Alert(key="late_drop:schools:2026-11-24", kind="late_drop", title="t", message="m")
    assert Alerter(paths).raise_alert(alert) is True
    assert AlertStore(paths.alerts).get(alert.key)["deliveries"] == {"ops": "failed", "duty": "failed"}
    with receivers() as rx:
        write_alerts_config(paths.home, rx["url"], rx["smtp_port"])
        assert Alerter(paths).raise_alert(alert) is False, "the same key is not a new alert"
        assert Alerter(paths).raise_alert(alert) is False
        assert len(rx["posted"]) == 1 and len(rx["mails"]) == 1
    assert smtp_port
    assert AlertStore(paths.alerts).get(alert.key)["deliveries"] == {"ops": "sent", "duty": "sent"}


def test_a_drop_that_arrives_after_its_deadline_is_late(sample_raw):
    source = load_registry()["schools"]
    now = datetime.fromisoformat(AFTER_DEADLINE)
    _deliver_everything_on_time(sample_raw)
    assert delivery_status(sample_raw, source, now).status == "on_time"
    late = datetime(2026, 11, 25, 1, 45, tzinfo=ZONE).timestamp()
    for f in (sample_raw.raw / source.folder / DROP).iterdir():
        os.utime(f, (late, late))
    status = delivery_status(sample_raw, source, now)
    assert status.status == "late" and not status.ok
    assert "arrived late" in status.describe(source) and "2026-11-25 01:45" in status.describe(source)
    # Before the deadline, the drop due is the previous day's.
    assert delivery_status(sample_raw, source, datetime(2026, 11, 25, 1, 0, tzinfo=ZONE)).drop_date == "2026-11-23"


def test_weekly_and_monthly_deadlines():
    weekly = Delivery(frequency="每周", deadline="09:00", days_after=2, day=1)  # Monday's drop, due Wednesday 09:00
    assert latest_due(weekly, datetime(2026, 11, 25, 9, 30, tzinfo=ZONE)).isoformat() == "2026-11-23"
    assert latest_due(weekly, datetime(2026, 11, 25, 8, 30, tzinfo=ZONE)).isoformat() == "2026-11-16"
    monthly = Delivery(frequency="每月", deadline="12:00", days_after=5, day=1)
    assert latest_due(monthly, datetime(2026, 12, 6, 12, 0, tzinfo=ZONE)).isoformat() == "2026-12-01"
    assert latest_due(monthly, datetime(2026, 12, 6, 11, 0, tzinfo=ZONE)).isoformat() == "2026-11-01"


@pytest.mark.parametrize("delivery, error", [
    ('{deadline: "25:00"}', "not a time of day"),
    ("{frequency: hourly}", "not in"),
    ("{frequency: 每周, day: 9}", "is not 1–7"),
    ("{due: 1}", "unknown field"),
])
def test_the_registry_refuses_a_bad_delivery(tmp_path, delivery, error):
    text = (REGISTRY_DIR / "education.yml").read_text(encoding="utf-8")
    assert 'delivery: {frequency: 每日, deadline: "01:30"}' in text
    (tmp_path / "education.yml").write_text(
        text.replace('delivery: {frequency: 每日, deadline: "01:30"}', f"delivery: {delivery}"), encoding="utf-8")
    with pytest.raises(RegistryError, match=error) as exc:
        load_registry(tmp_path)
    assert "delivery" in str(exc.value)


def test_the_watch_runs_a_minute_after_each_deadline_and_hourly():
    from orchestration.checks.freshness import build_delivery_checks, delivery_watch_job, delivery_watch_schedule

    registry = load_registry()
    checks = build_delivery_checks(registry)
    schedule = delivery_watch_schedule(delivery_watch_job(checks), registry)
    assert schedule.cron_schedule == ["31 1 * * *", "5 * * * *"] and schedule.execution_timezone == "Asia/Shanghai"
    (check,) = checks
    assert {k.asset_key.path[-1] for k in check.check_keys} == set(registry), "every source declares a delivery"
