"""Dagster wiring that the end-to-end run does not exercise: the new-drops sensor."""

import dagster as dg

from sudata.ingest import ingest_partition
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
