"""`sudata run` prints a line per stage, not Dagster's event log (that stays available with -v)."""

from __future__ import annotations

import dagster as dg

from orchestration import progress


def _ingest_one(verbose: bool):
    from orchestration.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance, partition_key="2026-11-23", run_config=progress.quiet_run_config(verbose),
            asset_selection=[dg.AssetKey(["raw", "bus_stops"]), dg.AssetKey(["raw", "schools"])])
        progress.finish()
    assert result.success


def test_a_quiet_run_prints_one_line_per_stage_and_no_event_log(sample_raw, capsys):
    _ingest_one(verbose=False)
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert lines[0].startswith("  1/4 ingest") and "2 source partitions landed" in lines[0], lines[0]
    assert "STEP_START" not in out + err and "ASSET_MATERIALIZATION" not in out + err


def test_verbose_keeps_the_dagster_log(sample_raw, capsys):
    _ingest_one(verbose=True)
    out, err = capsys.readouterr()
    assert "STEP_START" in err and "ASSET_MATERIALIZATION" in err
    assert "2 source partitions landed" in out
