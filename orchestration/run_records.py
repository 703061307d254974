"""What one run's steps hand to each other beyond the warehouse: dbt test outcomes and gate reports.

Kept under ``$SUDATA_HOME/runs/<run_id>/`` so a re-executed step (retry or re-run from failure) finds them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sudata.settings import Paths


def run_dir(paths: Paths, run_id: str) -> Path:
    d = paths.home / "runs" / run_id
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_json(path: Path, payload) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, default=None):
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def dbt_results(paths: Paths, run_id: str) -> dict:
    """{"tests": {model_name: [{name, status, severity}]}, "built": [model names], "failed": [...]}"""
    return read_json(run_dir(paths, run_id) / "dbt_results.json", {"tests": {}, "built": [], "failed": []})


def gate_report_path(paths: Paths, run_id: str, dataset: str) -> Path:
    d = run_dir(paths, run_id) / "quality"
    d.mkdir(exist_ok=True)
    return d / f"{dataset}.json"
