"""Dagster wiring that the end-to-end run does not exercise: the new-drops sensor."""

import dagster as dg

from sudata.ingest import ingest_partition, state
from sudata.registry import load_registry


def _evaluate():
    from orchestration.sensors import new_drops_sensor

    return new_drops_sensor(dg.build_sensor_context())


def test_sensor_requests_one_catch_up_run_for_unseen_drop_dates_and_skips_once_landed(sample_raw):
    result = _evaluate()
    (request,) = result if isinstance(result, list) else [None]
    assert request.partition_key is None
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-23"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-24"
    first_keys = {request.run_key}

    registry = load_registry()
    for source in registry.values():
        for d in ("2026-11-23", "2026-11-24"):
            ingest_partition(sample_raw, source, d)
    assert isinstance(_evaluate(), dg.SkipReason)

    # A corrected redelivery is a new run, under a new run key.
    schools = registry["schools"]
    target = next((sample_raw.raw / schools.folder / "2026-11-24").iterdir())
    target.write_bytes(target.read_bytes() + "\n".encode("gbk"))
    again = _evaluate()
    assert [r.partition_key for r in again] == ["2026-11-24"], "a single date is an ordinary partition run"
    assert again[0].run_key not in first_keys


def test_a_night_lands_every_source_in_one_step_and_checks_every_mart(sample_nights):
    """The sample's nights, as `sudata run` ran them: one ingestion step materialised every source's
    partition with its own row count, one step evaluated every mart's anomaly check, and each dataset's
    blocking gate kept a step of its own."""
    from orchestration.assets.ingestion import INGEST_STEP
    from orchestration.checks.anomalies import ANOMALY_CHECK
    from sudata.datasets import load_datasets
    from orchestration.project import dbt_project

    paths = sample_nights["paths"]
    registry, datasets = load_registry(), load_datasets(dbt_project.manifest_path)
    with dg.DagsterInstance.from_config(str(paths.home / "dagster")) as instance:
        (run, *_) = instance.get_runs(dg.RunsFilter(job_name="nightly"), limit=1)
        events = [r.event_log_entry.dagster_event for r in instance.get_records_for_run(run.run_id, limit=100_000).records
                  if r.event_log_entry.dagster_event]
    started = [e.step_key for e in events if e.event_type_value == "STEP_START"]
    mats = [e for e in events if e.event_type_value == "ASSET_MATERIALIZATION"]
    raw = {e.event_specific_data.materialization.asset_key.path[-1]: e for e in mats
           if e.event_specific_data.materialization.asset_key.path[0] == "raw"}
    assert set(raw) == set(registry) and {e.step_key for e in raw.values()} == {INGEST_STEP}
    drop_date = run.tags["dagster/partition"]
    for source, event in raw.items():
        mat = event.event_specific_data.materialization
        assert mat.partition == drop_date
        assert mat.metadata["dagster/row_count"].value == state.partition(paths.state_db, source, drop_date)["rows"]
    checks = [e for e in events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    anomaly = {e.event_specific_data.asset_key.path[-1] for e in checks if e.event_specific_data.check_name == ANOMALY_CHECK}
    assert anomaly == set(datasets) and len({e.step_key for e in checks
                                             if e.event_specific_data.check_name == ANOMALY_CHECK}) == 1
    assert started.count(INGEST_STEP) == 1
    assert len([s for s in started if "quality_gate" in s]) == len(datasets)
