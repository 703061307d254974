"""Alerts from what a finished run recorded: its failed steps, its failed checks, its quarantined files.

Read from the run's own events (check evaluations, materializations, step failures) by the run-status
sensors in ``orchestration.sensors`` and by ``sudata run`` after an in-process run (no daemon there). Each
alert's key names the event, so reading the same run twice alerts once.
"""

from __future__ import annotations

import dagster as dg

from orchestration.checks.anomalies import ANOMALY_CHECK
from orchestration.checks.freshness import DELIVERY_CHECK
from orchestration.checks.quality_gate import GATE as GATE_CHECK
from orchestration.partitions import PARTITION_TAG, RANGE_END_TAG
from sudata.monitoring.alerts import Alert
from sudata.monitoring.channels import Alerter
from sudata.settings import Paths, get_paths

_CHECK_FAILURE_MARKS = ("DagsterAssetCheckFailedError", "Blocking check")


def _value(metadata: dict, key: str, default=None):
    entry = metadata.get(key)
    return default if entry is None else getattr(entry, "value", entry)


def _records(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType):
    return [r.event_log_entry.dagster_event for r in instance.get_records_for_run(
        run_id, of_type=event_type, limit=100_000).records if r.event_log_entry.dagster_event]


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Steps that failed for another reason than a blocking check doing its job."""
    out = []
    for event in _records(instance, run_id, dg.DagsterEventType.STEP_FAILURE):
        error = event.event_specific_data.error if event.event_specific_data else None
        messages = []
        while error is not None:  # the framework's wrapper first, the cause that says what broke last
            messages.append(error.message.strip().splitlines()[0] if error.message.strip() else "")
            error = error.cause
        if not any(mark in m for m in messages for mark in _CHECK_FAILURE_MARKS):
            out.append(f"{event.step_key}: {messages[-1] if messages else 'failed'}")
    return out


def run_alerts(instance: dg.DagsterInstance, run: dg.DagsterRun, link: str | None) -> list[Alert]:
    """Every alert a run calls for, in the order they happened."""
    run_id, tags = run.run_id, run.tags or {}
    drop_date = tags.get(PARTITION_TAG) or tags.get(RANGE_END_TAG)
    alerts: list[Alert] = []
    for event in _records(instance, run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        data = event.event_specific_data
        if data.passed:
            continue
        alert = _check_alert(data, run_id, drop_date, link)
        if alert:
            alerts.append(alert)
    for event in _records(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = event.event_specific_data.materialization
        if mat.asset_key.path[0] != "raw":
            continue
        source = mat.asset_key.path[-1]
        for f in _value(mat.metadata, "files", []) or []:
            if f.get("status") != "quarantined":
                continue
            alerts.append(Alert(
                key=f"quarantined_file:{source}:{f.get('drop_date')}:{f['file']}:{f.get('sha256', '')}",
                kind="quarantined_file", severity="warning", subject=source, run_id=run_id, link=link,
                title=f"{source}: {f['file']} quarantined",
                message=f"The {f.get('drop_date')} drop file {f['file']} of {source} could not be loaded and is kept in "
                        f"quarantine: {f.get('reason', 'unreadable')}. Ask the department to redeliver it; "
                        f"`sudata status` lists the quarantine.",
                details={"drop_date": f.get("drop_date"), "file": f["file"], "reason": f.get("reason")},
            ))
    if run.status == dg.DagsterRunStatus.FAILURE:
        steps = failed_steps(instance, run_id)
        if steps:
            alerts.append(Alert(
                key=f"run_failed:{run_id}", kind="run_failed", severity="error", subject=run.job_name,
                run_id=run_id, link=link,
                title=f"{run.job_name} run failed" + (f" (drop date {drop_date})" if drop_date else ""),
                message=f"The {run.job_name} run {run_id} failed in {len(steps)} step(s): " + "; ".join(steps[:5])
                        + ". Open the run for the logs; after fixing the cause, re-execute it from failure in the "
                          "Dagster UI or run `sudata run` again.",
                details={"failed_steps": steps, "drop_date": drop_date},
            ))
    return alerts


def _check_alert(data, run_id: str, drop_date: str | None, link: str | None) -> Alert | None:
    name, key = data.check_name, data.asset_key
    subject = key.path[-1]
    meta = data.metadata or {}
    if name == DELIVERY_CHECK:
        due_date = _value(meta, "drop_date")
        status = _value(meta, "status", "missing")
        return Alert(
            key=f"late_drop:{subject}:{due_date}", kind="late_drop", subject=subject, run_id=run_id, link=link,
            severity="warning" if status == "late" else "error",
            title=f"{subject}: the {due_date} drop is " + ("late" if status == "late" else "not delivered"),
            message=_value(meta, "message", data.description or ""), details={"status": status, "drop_date": due_date},
        )
    if name == GATE_CHECK:
        failures = _value(meta, "blocking_failures", []) or []
        return Alert(
            key=f"blocked_dataset:{subject}:{drop_date}", kind="blocked_dataset", subject=subject, run_id=run_id,
            link=link, severity="error", title=f"{subject} blocked by its quality gate",
            message=f"The quality gate blocked tonight's version of {subject} (drop date {drop_date}): "
                    f"{', '.join(failures) or 'see the run'} failed. Its last good version stays current. Fix the "
                    f"drop and run again, or, having checked the failure, `sudata gate accept {subject} CHECK "
                    f"--by NAME --reason TEXT`.",
            details={"blocking_failures": failures, "drop_date": drop_date},
        )
    if name == ANOMALY_CHECK:
        anomalies = _value(meta, "anomalies", []) or []
        return Alert(
            key=f"anomaly:{subject}:{drop_date}", kind="anomaly", subject=subject, run_id=run_id, link=link,
            severity="warning", title=f"{subject}: unusual volume or null rates on {drop_date}",
            message="; ".join(a["message"] for a in anomalies) + ". Published as usual (a warning): check the "
                    "drop with the department before the next night.",
            details={"anomalies": anomalies, "drop_date": drop_date},
        )
    return None  # drop_landed: its quarantined files alert one by one; a missing drop is the deadline's business


def alert_run(instance: dg.DagsterInstance, run_id: str, paths: Paths | None = None) -> list[Alert]:
    """Raise the alerts of one finished run; returns those that were new."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return []
    alerter = Alerter(paths or get_paths())
    return [a for a in run_alerts(instance, run, alerter.run_link(run_id)) if alerter.raise_alert(a)]
