"""The pipeline as a user runs it: generating drops, ``sudata run`` (a), the incremental night, the rebuild.

Every measured ``sudata run`` is one subprocess of the project's console script with its own
``SUDATA_HOME`` (and Dagster instance under it). After it exits, the run's steps are read back from that
instance's event log to split the wall time into stages:

- ingestion: the step of the raw assets (one multi-asset over every registered source);
- dbt: the dbt multi-asset step (``dbt build``), split with dbt's own per-node timings into model
  builds and dbt tests; whatever the step spends outside its nodes (starting dbt, hooks) is counted
  with the models as transformation;
- quality gate: the per-dataset ``quality_gate`` check steps (Great Expectations suite, SQL checks);
- publication: the ``published`` assets' steps;
- orchestration overhead: the wall time no step accounts for — process start and imports, loading the
  definitions, finding pending drops, Dagster's own run and step bookkeeping between steps.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench.measure import Measurement, run_measured

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DBT_STEP_HINT = "dbt"
INGEST_STEP = "raw_ingestion"  # orchestration.assets.ingestion.INGEST_STEP (not imported: no definitions here)
STAGES = ("ingestion", "dbt_models", "dbt_tests", "quality_gate", "publication", "overhead")
STAGE_LABELS = {
    "ingestion": "ingestion",
    "dbt_models": "dbt models (transformation)",
    "dbt_tests": "dbt tests",
    "quality_gate": "quality gate checks",
    "publication": "publication",
    "overhead": "orchestration overhead",
}


def sudata_command(*args: str) -> list[str]:
    script = BIN / "sudata"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "cli", *args]


def pipeline_env(home: Path, raw: Path) -> dict:
    """The environment of a user's ``sudata run`` on this home and landing zone, with the project's registry."""
    env = dict(os.environ)
    for k in ("SUDATA_REGISTRY", "DBT_TARGET_PATH", "DAGSTER_HOME"):
        env.pop(k, None)
    env.update(SUDATA_HOME=str(home), SUDATA_RAW=str(raw), DAGSTER_HOME=str(Path(home) / "dagster"),
               PYTHONUNBUFFERED="1", DAGSTER_DISABLE_TELEMETRY="1")
    return with_venv_path(env)


def with_venv_path(env: dict) -> dict:
    """The virtualenv's bin first on PATH, as in an activated environment (dagster-dbt looks ``dbt`` up there)."""
    parts = env.get("PATH", "").split(os.pathsep)
    if str(BIN) not in parts:
        env["PATH"] = os.pathsep.join([str(BIN), *[p for p in parts if p]])
    return env


def prepare_manifest() -> dict:
    """Make sure the project's dbt manifest is current before anything is timed (a stale one would make
    the first measured run pay for ``dbt parse``)."""
    m = run_measured("prepare manifest", [sys.executable, "-c",
                                          "from orchestration.project import ensure_manifest; print(ensure_manifest())"],
                     cwd=PROJECT_ROOT, env=with_venv_path(dict(os.environ)))
    return {"seconds": round(m.wall_s, 2), "manifest": m.log.strip().splitlines()[-1] if m.log.strip() else ""}


# --- data -----------------------------------------------------------------------------------------------

def generate(out: Path, rows: int, days: int, log: Path, extra_args: list[str] | None = None) -> Measurement:
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = sudata_command("generate", "--rows", str(rows), "--days", str(days), "--out", str(out), *(extra_args or []))
    return run_measured(f"generate {rows:,} rows × {days} days", cmd, cwd=PROJECT_ROOT, log_path=log)


def drop_dates_in(raw: Path) -> set[str]:
    """Drop-date folders anywhere under <raw>/<department>/<source>/."""
    out = set()
    for p in Path(raw).glob("*/*/*"):
        if p.is_dir() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name):
            out.add(p.name)
    return out


def add_drop_dates(source_raw: Path, target_raw: Path, dates: set[str]) -> int:
    """Copy (hard-link where possible) the given drop-date folders of every source into the landing zone."""
    n = 0
    for folder in sorted(Path(source_raw).glob("*/*/*")):
        if folder.is_dir() and folder.name in dates:
            dest = Path(target_raw) / folder.relative_to(source_raw)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(folder, dest, copy_function=_link_or_copy, dirs_exist_ok=True)
            n += 1
    return n


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def landing_zone_stats(raw: Path) -> dict:
    files = [p for p in Path(raw).rglob("*") if p.is_file()]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "drop_dates": sorted(drop_dates_in(raw))}


# --- (a) the nightly job ------------------------------------------------------------------------------

def nightly(label: str, home: Path, raw: Path, log: Path) -> dict:
    """``sudata run`` (every pending drop date, as the CLI does), measured, with its stage breakdown."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    m = run_measured(label, sudata_command("run"), env=pipeline_env(home, raw), cwd=PROJECT_ROOT,
                     log_path=log, ok_codes=None)
    text = Path(log).read_text(encoding="utf-8", errors="replace")
    outcome = parse_run_output(text)
    if not outcome["drop_dates"]:
        raise RuntimeError(f"{label}: sudata run exited with {m.returncode} before running the job\n{text[-3000:]}")
    # Exit 0: all published; 3: some dataset blocked by its gate (still a complete night); 1: failed steps
    # (the figures are kept, flagged, since a night that fails part-way did not do all the work).
    outcome["exit_code"] = m.returncode
    outcome["complete"] = m.returncode in (0, 3) and outcome["launched"] == outcome["runs"]
    d = m.to_dict()
    if m.returncode in (0, 3):
        d.pop("log", None)
    result = {"measurement": d, "outcome": outcome, "log": str(log)}
    try:
        result["stages"] = stage_breakdown(home / "dagster", m)
    except Exception as exc:  # noqa: BLE001 - the wall-clock figures stand without the breakdown
        result["stages_error"] = f"{type(exc).__name__}: {exc}"
    return result


def parse_run_output(text: str) -> dict:
    """What ``sudata run`` printed: the drop dates of each run (one date, or a catch-up range) and the outcomes."""
    from datetime import date, timedelta

    dates, launched = [], 0
    for single, first, last in re.findall(
            r"nightly run for drop date (\S+) …|nightly run for drop dates (\S+) … (\S+) \(\d+ dates\)", text):
        launched += 1
        if single:
            dates.append(single)
        else:
            d, end = date.fromisoformat(first), date.fromisoformat(last)
            while d <= end:
                dates.append(d.isoformat())
                d += timedelta(days=1)
    runs = re.findall(r"run (\S+) finished in [\d.]+s: (\d+) published, (\d+) blocked, (\d+) failed steps", text)
    return {
        "drop_dates": dates,
        "launched": launched,
        "runs": len(runs),
        "published": sum(int(r[1]) for r in runs),
        "blocked": sum(int(r[2]) for r in runs),
        "failed_steps": sum(int(r[3]) for r in runs),
        "blocked_datasets": sorted(set(re.findall(r"blocked by its quality gate: (\S+)", text))),
        "failed": re.findall(r"failed step: (.+)", text)[:20],
    }


def classify_step(step_key: str) -> str:
    if step_key == INGEST_STEP:
        return "ingestion"
    if "quality_gate" in step_key:
        return "quality_gate"
    if step_key.startswith("published__"):
        return "publication"
    if DBT_STEP_HINT in step_key:
        return "dbt"
    return "other"


def _metadata_seconds(metadata) -> float | None:
    value = (metadata or {}).get("Execution Duration")
    if value is None:
        return None
    value = getattr(value, "value", value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def stage_breakdown(dagster_home: Path, m: Measurement) -> dict:
    """Split the measured wall time of a ``sudata run`` into stages, from its runs' event logs."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.storage.dagster_run import RunsFilter

    from orchestration.partitions import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    try:
        runs = [r for r in instance.get_runs(filters=RunsFilter(job_name="nightly"))]
        steps: dict[tuple[str, str], dict] = {}
        runs_out = []
        dbt_model_s = dbt_test_s = 0.0
        dbt_nodes = {"model_nodes": 0, "test_nodes": 0}
        dbt_layers: dict[str, float] = {}  # dbt's own node time per layer (staging, intermediate, marts)
        intervals: list[tuple[float, float, str, str | None]] = []
        for run in runs:
            tags = run.tags or {}
            partition = tags.get(PARTITION_TAG) or (
                f"{tags[RANGE_START_TAG]}…{tags[RANGE_END_TAG]}" if RANGE_END_TAG in tags else None)
            logs = instance.all_logs(run.run_id)
            if not logs or logs[0].timestamp < m.started_at - 1:
                continue  # a run of an earlier measurement on this home
            run_start = run_end = None
            for e in logs:
                ev = e.dagster_event
                if ev is None:
                    continue
                kind = ev.event_type_value
                if kind in ("PIPELINE_START", "RUN_START"):
                    run_start = e.timestamp
                elif kind in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE", "PIPELINE_CANCELED",
                              "RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED"):
                    run_end = e.timestamp
                if e.step_key:
                    # A step executes from STEP_START (or STEP_RESTARTED after a retry) to STEP_SUCCESS,
                    # STEP_FAILURE or STEP_UP_FOR_RETRY. While a retry waits, the executor runs other steps,
                    # so only these intervals count as the step's time; the waiting is overhead.
                    s = steps.setdefault((run.run_id, e.step_key), {"open": None, "seconds": 0.0, "status": None,
                                                                    "attempts": 0})
                    if kind in ("STEP_START", "STEP_RESTARTED"):
                        s["open"] = e.timestamp
                        s["attempts"] += 1
                    elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_UP_FOR_RETRY") and s["open"] is not None:
                        s["seconds"] += e.timestamp - s["open"]
                        intervals.append((s["open"], e.timestamp, e.step_key, partition))
                        s["open"] = None
                        s["status"] = kind
                    if classify_step(e.step_key) == "dbt":
                        data = ev.event_specific_data
                        if kind == "ASSET_MATERIALIZATION":
                            secs = _metadata_seconds(getattr(data.materialization, "metadata", None))
                            if secs is not None:
                                dbt_model_s += secs
                                dbt_nodes["model_nodes"] += 1
                                layer = ev.asset_key.path[0] if ev.asset_key else "models"
                                dbt_layers[layer] = dbt_layers.get(layer, 0.0) + secs
                        elif kind == "ASSET_CHECK_EVALUATION":
                            secs = _metadata_seconds(getattr(data, "metadata", None))
                            if secs is not None:
                                dbt_test_s += secs
                                dbt_nodes["test_nodes"] += 1
            runs_out.append({"run_id": run.run_id, "drop_date": partition,
                             "status": str(run.status.value if hasattr(run.status, "value") else run.status),
                             "start": run_start, "end": run_end,
                             "seconds": round(run_end - run_start, 3) if run_start and run_end else None})
    finally:
        instance.dispose()
    per_stage = {k: 0.0 for k in ("ingestion", "dbt", "quality_gate", "publication", "other")}
    step_rows = []
    retried = 0
    dates = {r["run_id"]: r["drop_date"] for r in runs_out}
    for (run_id, key), s in steps.items():
        if not s["attempts"]:
            continue
        took = s["seconds"]
        stage = classify_step(key)
        per_stage[stage] += took
        retried += s["attempts"] > 1
        step_rows.append({"run_id": run_id[:8], "drop_date": dates.get(run_id), "step": key, "stage": stage,
                          "seconds": round(took, 3), "status": s["status"], "attempts": s["attempts"]})
    step_total = sum(per_stage.values())
    wall = m.wall_s
    run_spans = sum(r["seconds"] or 0 for r in runs_out)
    first_start = min((r["start"] for r in runs_out if r["start"]), default=None)
    # dbt tests run inside the dbt step; dbt reports each node's own time. With dbt threads > 1, nodes
    # overlap, so the node sums are scaled to the step's share they can account for.
    dbt_step = per_stage["dbt"]
    node_sum = dbt_model_s + dbt_test_s
    scale = min(1.0, dbt_step / node_sum) if node_sum else 0.0
    tests = dbt_test_s * scale
    stages = {
        "ingestion": per_stage["ingestion"],
        "dbt_models": dbt_step - tests,
        "dbt_tests": tests,
        "quality_gate": per_stage["quality_gate"],
        "publication": per_stage["publication"],
        "overhead": wall - step_total + per_stage["other"],
    }
    overhead = {
        "startup_before_first_run": (first_start - m.started_at) if first_start else None,
        "inside_runs_between_steps": run_spans - step_total if run_spans else None,
        "other_steps": per_stage["other"],
    }
    if overhead["startup_before_first_run"] is not None and run_spans:
        overhead["between_and_after_runs"] = wall - overhead["startup_before_first_run"] - run_spans
    peak_at = (m.extra or {}).get("peak_at")
    peak_step = None
    if peak_at:
        hits = [iv for iv in intervals if iv[0] <= peak_at <= iv[1]]
        peak_step = ({"step": hits[0][2], "stage": classify_step(hits[0][2]), "drop_date": hits[0][3]} if hits
                     else {"step": None, "stage": "overhead", "drop_date": None})
    return {
        "peak_memory_during": peak_step,
        "wall_s": round(wall, 3),
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "shares": {k: round(v / wall, 4) if wall else None for k, v in stages.items()},
        "dbt_step_s": round(dbt_step, 3),
        "dbt_node_seconds": {"models": round(dbt_model_s, 3), "tests": round(dbt_test_s, 3), **dbt_nodes},
        "dbt_layer_seconds": {k: round(v, 3) for k, v in sorted(dbt_layers.items())},
        "transformation_s": round(dbt_step - tests, 3),
        "gate_s": round(tests + per_stage["quality_gate"], 3),
        "overhead_detail_s": {k: (round(v, 3) if v is not None else None) for k, v in overhead.items()},
        "runs": runs_out,
        "steps": sorted(step_rows, key=lambda r: -r["seconds"])[:40],
        "step_count": len(step_rows),
        "steps_retried": retried,
        "steps_failed": sum(1 for r in step_rows if r["status"] == "STEP_FAILURE"),
    }


def remove_dbt_run_targets(run_ids: list[str]) -> int:
    """dagster-dbt leaves one target folder per dbt invocation in dbt_project/target; remove ours."""
    target = PROJECT_ROOT / "dbt_project" / "target"
    n = 0
    for rid in run_ids:
        if not rid:
            continue
        for p in target.glob(f"*-{rid[:7]}-*"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
                n += 1
    return n


def git_revision() -> dict:
    def git(*a):
        return subprocess.run(["git", *a], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}

