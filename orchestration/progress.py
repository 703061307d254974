"""A Dagster logger that turns a nightly run's events into one progress line per stage.

``sudata run`` enables it (and quiets the console logger) through the run config's ``loggers``; in the UI and
for scheduled runs it stays at its default level, where it prints nothing, and the full event log is there.
"""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg

from orchestration.assets.ingestion import INGEST_STEP
from orchestration.assets.transform import DBT_STEP, UNCHANGED_SINCE
from orchestration.checks.quality_gate import GATE

STAGES = ("ingest", "transform", "gate", "publish")
# Where the lines go when the caller sends everything else (dbt's own output) to a log file; the handlers
# of the run in progress, so that the caller can close the last stage's line when the run returns.
OUTPUT: dict = {}
ACTIVE: list["StageProgress"] = []


def finish() -> None:
    """Print the line of the stage still open (the run's last one) and forget the handlers."""
    while ACTIVE:
        ACTIVE.pop()._close()


def stage_of(step_key: str | None) -> str | None:
    if not step_key:
        return None
    if step_key == INGEST_STEP:
        return "ingest"
    if step_key == DBT_STEP:
        return "transform"
    if GATE in step_key:
        return "gate"
    if step_key.startswith("published__"):
        return "publish"
    return None


class StageProgress(logging.Handler):
    """Counts the events of the stage that is running and prints its line when the next one starts."""

    def __init__(self, stream=None):
        super().__init__(logging.DEBUG)
        self.stream = stream or OUTPUT.get("stream") or sys.stdout
        ACTIVE.append(self)
        self.stage: str | None = None
        self.started = 0.0
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            stage = stage_of(event.step_key)
            if stage and stage != self.stage:
                self._close()
                self.stage, self.started, self.counts = stage, time.perf_counter(), {}
                print(f"  {STAGES.index(stage) + 1}/{len(STAGES)} {stage:<10}", end="", file=self.stream, flush=True)
        elif kind in ("RUN_SUCCESS", "RUN_FAILURE", "PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
            self._close()
        elif self.stage:
            self._count(kind, event)

    def _count(self, kind: str, event) -> None:
        c = self.counts
        if kind == "STEP_SUCCESS":
            c["steps"] = c.get("steps", 0) + 1
        elif kind == "STEP_FAILURE":
            c["failed"] = c.get("failed", 0) + 1
        elif kind == "ASSET_MATERIALIZATION":
            reused = UNCHANGED_SINCE in event.event_specific_data.materialization.metadata
            counter = "unchanged" if reused else "materialised"
            c[counter] = c.get(counter, 0) + 1
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            key = "passed" if data.passed else "not passed"
            c[key] = c.get(key, 0) + 1

    def _close(self) -> None:
        if not self.stage:
            return
        c, took = self.counts, time.perf_counter() - self.started
        failed = f", {c['failed']} failed" if c.get("failed") else ""
        if self.stage == "ingest":
            text = f"{c.get('materialised', 0)} source partitions landed{failed}"
        elif self.stage == "transform" and c.get("unchanged") and not c.get("materialised"):
            text = f"dbt build not run: nothing new since the last build ({c['unchanged']} models as it left them){failed}"
        elif self.stage == "transform":
            text = (f"dbt build: {c.get('materialised', 0)} models, {c.get('passed', 0)} tests passed, "
                    f"{c.get('not passed', 0)} not{failed}")
        elif self.stage == "gate":
            text = f"{c.get('passed', 0) + c.get('not passed', 0)} datasets checked, {c.get('not passed', 0)} blocked"
        else:
            text = f"{c.get('materialised', 0)} versions published{failed}"
        print(f"{text} ({took:.1f}s)", file=self.stream, flush=True)
        self.stage = None


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="CRITICAL")},
    description="One line per stage of the nightly run (ingest, transform, gate, publish) on standard output.",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("sudata_progress", level=init_context.logger_config["log_level"])
    logger.addHandler(StageProgress())
    return logger


def quiet_run_config(verbose: bool) -> dict:
    """The run config's ``loggers`` of a run started from the command line: progress lines, and the full
    Dagster log on the console only when asked for (``-v``)."""
    return {"loggers": {"progress": {"config": {"log_level": "DEBUG"}},
                        "console": {"config": {"log_level": "DEBUG" if verbose else "ERROR"}}}}
