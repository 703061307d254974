"""Dagster wiring that the end-to-end run does not exercise: the new-drops sensor."""

import dagster as dg

from sudata.ingest import ingest_partition
from sudata.registry import load_registry


def _evaluate():
    from orchestration.sensors import new_drops_sensor

    return new_drops_sensor(dg.build_sensor_context())


def test_sensor_requests_a_run_per_unseen_drop_date_and_skips_once_landed(sample_raw):
    result = _evaluate()
    requests = result if isinstance(result, list) else []
    assert sorted(r.partition_key for r in requests) == ["2026-11-23", "2026-11-24"]
    first_keys = {r.run_key for r in requests}

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
    assert [r.partition_key for r in again] == ["2026-11-24"]
    assert again[0].run_key not in first_keys
