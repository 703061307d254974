"""deploy/dagster.yaml against a real PostgreSQL 15: a run, its events and the schedule state land there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sudata.settings import PROJECT_ROOT

from .portal.conftest import free_port

PG_BIN = Path(os.environ.get("SUDATA_PG_BIN", "/usr/lib/postgresql/15/bin"))
DEPLOY = PROJECT_ROOT / "deploy"
USER, PASSWORD, DB = "dagster", "dagster-test", "dagster"


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: CI runs as root, so the server runs as Debian's postgres user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert done.returncode == 0, f"{cmd[-1]}: {done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL 15 of its own on 127.0.0.1 and a free port, in a temporary directory."""
    assert (PG_BIN / "initdb").exists(), f"PostgreSQL 15 binaries not found in {PG_BIN} (Debian: postgresql-15)"
    # outside pytest's root-only temporary tree, so that the postgres user can reach it
    base = Path(tempfile.mkdtemp(prefix="sudata-pg-"))
    data, pwfile = base / "data", base / "pw"
    pwfile.write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    _run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
                       "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"]))
    port = free_port()
    _run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
                       "-o", f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off", "start"]))
    try:
        _run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DB],
             env={**os.environ, "PGPASSWORD": PASSWORD})
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_USER": USER,
               "DAGSTER_PG_PASSWORD": PASSWORD, "DAGSTER_PG_DB": DB}
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def query(pg: dict, sql: str, *params):
    import psycopg2

    with psycopg2.connect(host=pg["DAGSTER_PG_HOST"], port=pg["DAGSTER_PG_PORT"], user=USER,
                          password=PASSWORD, dbname=DB) as con, con.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_runs_events_and_schedules_are_stored_in_postgres(postgres, sample_raw, tmp_path, monkeypatch):
    import dagster as dg
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from orchestration.definitions import defs

    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", dagster_home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    for k, v in postgres.items():
        monkeypatch.setenv(k, v)

    # One source's drop of the nightly job, through the deployment's instance.
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance, partition_key="2026-11-23", asset_selection=[dg.AssetKey(["raw", "bus_stops"])])
        assert result.success
    run_id = result.run_id

    assert query(postgres, "select status from runs where run_id = %s", run_id) == [("SUCCESS",)]
    assert ("dagster/partition", "2026-11-23") in query(postgres, "select key, value from run_tags where run_id = %s", run_id)
    events = dict(query(postgres, "select dagster_event_type, count(*) from event_logs where run_id = %s"
                                  " group by dagster_event_type", run_id))
    # the asset's materialisation and every check the run planned on it (drop_landed, delivered_on_time)
    assert events.get("ASSET_MATERIALIZATION") == 1, events
    assert events.get("ASSET_CHECK_EVALUATION") == events.get("ASSET_CHECK_EVALUATION_PLANNED") >= 1, events
    assert query(postgres, "select asset_key from asset_keys") == [('["raw", "bus_stops"]',)]
    assert query(postgres, "select count(*) from asset_event_tags where event_id in "
                           "(select id from event_logs where run_id = %s)", run_id)[0][0] >= 1

    # Schedule state: what the UI or `dagster schedule stop` decides is kept in PostgreSQL for the daemon.
    env = {**os.environ, **postgres, "DAGSTER_HOME": str(dagster_home)}
    dagster = str(Path(sys.executable).with_name("dagster"))
    done = subprocess.run([dagster, "schedule", "stop", "nightly_schedule", "-w", "workspace.yaml"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    states = query(postgres, "select status, job_body from jobs where job_type = 'SCHEDULE'")
    assert [(status, '"nightly_schedule"' in body) for status, body in states] == [("STOPPED", True)]


def test_helm_values_name_the_image_code_location_run_launcher_and_postgres():
    import tomllib

    import yaml

    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text(encoding="utf-8"))
    module = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["dagster"]["module_name"]
    (location,) = values["dagster-user-deployments"]["deployments"]
    assert location["image"]["repository"] and location["image"]["tag"]
    assert location["dagsterApiGrpcArgs"] == ["--module-name", module]
    env = {e["name"]: e["value"] for e in location["env"]}
    mounts = {m["mountPath"] for m in location["volumeMounts"]}
    assert env["SUDATA_HOME"] in mounts and env["SUDATA_RAW"] in mounts
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert location["includeConfigInLaunchedRuns"]["enabled"] is True
    pg = values["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlHost"] and pg["postgresqlDatabase"]
    assert values["global"]["postgresqlSecretName"]
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
