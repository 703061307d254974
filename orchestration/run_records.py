"""What one run's steps hand to each other beyond the warehouse: dbt test outcomes and gate reports.

Kept under ``$SUDATA_HOME/runs/<run_id>/`` so a re-executed step (retry or re-run from failure) finds them:
a re-execution from failure runs only the steps that failed, and reads what the others recorded in the
runs it re-executes. Beside them, ``runs/warehouse_build.json`` names the run whose dbt build last wrote
the warehouse: its dbt test outcomes are those of the tables as they are, whichever run gates them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from orchestration.partitions import op_context
from sudata.settings import Paths


def _runs(paths: Paths) -> Path:
    return paths.home / "runs"


def run_dir(paths: Paths, run_id: str) -> Path:
    d = _runs(paths) / run_id
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_json(path: Path, payload) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, default=None):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


class IncompleteBuild(Exception):
    """The warehouse was last written by a dbt build that did not finish (killed, or its step failed)."""


def run_lineage(context) -> list[str]:
    """This run's id, then the run it re-executes, and so on to the first run."""
    op = op_context(context)
    run, ids = op.run, []
    while run is not None:
        ids.append(run.run_id)
        run = op.instance.get_run_by_id(run.parent_run_id) if run.parent_run_id else None
    return ids


def dbt_results(paths: Paths, run_id: str) -> dict:
    """{"tests": {model_name: [{name, status, severity}]}, "built": [model names], "failed": [...]}"""
    return read_json(_runs(paths) / run_id / "dbt_results.json", {"tests": {}, "built": [], "failed": []})


WAREHOUSE_BUILD = "warehouse_build.json"


def record_warehouse_build(paths: Paths, run_id: str, *, complete: bool, **facts) -> None:
    """Before dbt starts (not complete) and once its results are written (complete, with what it read and
    the warehouse it left: see orchestration.build_inputs)."""
    _runs(paths).mkdir(parents=True, exist_ok=True)
    write_json(_runs(paths) / WAREHOUSE_BUILD, {"run_id": run_id, "complete": complete, **facts})


def warehouse_build(paths: Paths) -> dict | None:
    return read_json(_runs(paths) / WAREHOUSE_BUILD)


def warehouse_dbt_results(paths: Paths, run_id: str) -> tuple[str | None, dict]:
    """(the run that built the warehouse, its dbt results). A home whose warehouse no recorded build wrote
    (made before builds were recorded) has the results of ``run_id`` only."""
    build = warehouse_build(paths)
    if build is None:
        return None, dbt_results(paths, run_id)
    if not build["complete"]:
        raise IncompleteBuild(f"the warehouse was last written by run {build['run_id']}, whose dbt build did not "
                              "finish: its tables are part old, part new. Run the dbt step (sudata_dbt_models) again.")
    return build["run_id"], dbt_results(paths, build["run_id"])


def _gate_report_file(paths: Paths, run_id: str, dataset: str) -> Path:
    return _runs(paths) / run_id / "quality" / f"{dataset}.json"


def gate_report_path(paths: Paths, run_id: str, dataset: str) -> Path:
    """Where the gate writes its report (the folder made)."""
    path = _gate_report_file(paths, run_id, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def gate_report(paths: Paths, run_ids: list[str], dataset: str) -> dict | None:
    """The latest gate report of a dataset in a run's lineage (see run_lineage)."""
    for rid in run_ids:
        report = read_json(_gate_report_file(paths, rid, dataset))
        if report is not None:
            return report
    return None
