"""Re-executing part of a night from the Dagster UI ("re-execute from failure" or a step selection) skips
the steps that are not re-run: the gate then reads the dbt test outcomes of the build that made the
warehouse, and a publication the gate report of the run it re-executes, provided the warehouse is still
that build. Driven through Dagster's own re-execution (``execute_job`` with ``ReexecutionOptions``)."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from orchestration.launch import reconstructable_job
from orchestration.run_records import gate_report, record_warehouse_build, warehouse_build
from sudata.settings import Paths

pytestmark = pytest.mark.integration

DATASET = "schools"  # a mart with dbt tests of its own (keys, accepted values, relationships, no clear PII)
GATE, PUBLISH = f"marts__{DATASET}_quality_gate", f"published__{DATASET}"


@pytest.fixture(scope="module")
def night(sample_nights, tmp_path_factory):
    home = tmp_path_factory.mktemp("reexecution") / "home"
    shutil.copytree(sample_nights["home"], home, symlinks=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUDATA_HOME", str(home))
        mp.setenv("SUDATA_RAW", str(sample_nights["raw"]))
        mp.setenv("DAGSTER_HOME", str(home / "dagster"))
        with dg.DagsterInstance.get() as instance:
            parent = instance.get_runs(limit=1)[0]
            yield {"instance": instance, "parent": parent, "paths": Paths(home=home, raw=sample_nights["raw"])}


def reexecute(night, steps: list[str], parent_run_id: str | None = None):
    recon = reconstructable_job("nightly")
    options = dg.ReexecutionOptions(parent_run_id=parent_run_id or night["parent"].run_id, step_selection=steps)
    with dg.execute_job(recon, night["instance"], reexecution_options=options, raise_on_error=False) as result:
        failures = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
        return result.run_id, result.success, failures


def report(night, run_id: str) -> dict:
    return gate_report(night["paths"], [run_id], DATASET)


def dbt_checks(report: dict) -> list[tuple[str, bool]]:
    return sorted((c["name"], c["passed"]) for c in report["checks"] if c["source"] == "dbt")


def test_a_reexecuted_gate_reads_the_dbt_tests_of_the_build_it_gates(night):
    parent = report(night, night["parent"].run_id)
    assert len(dbt_checks(parent)) >= 4, "the mart's dbt tests are part of its gate"
    run_id, success, failures = reexecute(night, [GATE, PUBLISH])
    assert success, failures
    assert dbt_checks(report(night, run_id)) == dbt_checks(parent)
    assert report(night, run_id)["warehouse_build"] == night["parent"].run_id == warehouse_build(night["paths"])["run_id"]


def test_a_reexecuted_publication_uses_the_gate_of_the_run_it_reexecutes(night):
    run_id, success, failures = reexecute(night, [PUBLISH])
    assert success, failures
    assert night["instance"].get_run_by_id(run_id).parent_run_id == night["parent"].run_id


def test_a_publication_is_refused_when_the_warehouse_was_rebuilt_after_its_gate(night):
    paths = night["paths"]
    record_warehouse_build(paths, "a-later-run", complete=True)  # another night's dbt build since the gate
    try:
        _, success, failures = reexecute(night, [PUBLISH])
    finally:
        record_warehouse_build(paths, night["parent"].run_id, complete=True)
    assert not success
    assert any("a-later-run has rebuilt it since" in f and "quality_gate check again" in f for f in failures), failures


def test_a_gate_is_refused_on_a_warehouse_a_killed_dbt_build_left(night):
    paths = night["paths"]
    record_warehouse_build(paths, "a-killed-run", complete=False)
    try:
        _, success, failures = reexecute(night, [GATE])
    finally:
        record_warehouse_build(paths, night["parent"].run_id, complete=True)
    assert not success
    assert any("a-killed-run, whose dbt build did not finish" in f for f in failures), failures
