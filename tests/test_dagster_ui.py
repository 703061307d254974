"""What the Dagster UI shows is true: an owner on every asset (the providing department), one row count per
partition after a catch-up, a drop_landed result that tells a quarantined delivery from a missing one, and no
sentinel values in check metadata."""

from __future__ import annotations

import shutil

import dagster as dg

from orchestration.partitions import drop_date_run
from sudata.ingest import state
from sudata.registry import load_registry

SOURCE = "schools"
DAYS = ("2026-11-23", "2026-11-24")


def test_every_asset_has_an_owner_and_a_source_is_owned_by_its_department():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    registry = load_registry()
    owners = {key: graph.get(key).owners for key in graph.get_all_asset_keys()}
    assert all(owners.values()), [k for k, o in owners.items() if not o]
    for source in registry.values():
        team = [f"team:{source.department.id}"]
        assert owners[dg.AssetKey(["raw", source.id])] == team
        assert owners[dg.AssetKey(["staging", f"stg_{source.id}"])] == team, source.id
        if source.publish:
            assert owners[dg.AssetKey(["published", source.publish.name])] == team
            assert owners[dg.AssetKey(["marts", source.publish.name])] == team


def _land(instance, first: str, last: str):
    from orchestration.assets.ingestion import build_ingestion_assets
    from orchestration.resources import SudataResource

    (asset,) = build_ingestion_assets({SOURCE: load_registry()[SOURCE]})
    run = drop_date_run(first, last)
    return dg.materialize([asset], instance=instance, resources={"sudata": SudataResource()},
                          raise_on_error=False, partition_key=run.get("partition_key"), tags=run.get("tags"))


def _latest(instance, day: str):
    key = dg.AssetKey(["raw", SOURCE])
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1).records
    return record.asset_materialization.metadata


def test_a_catch_up_records_each_partition_with_its_own_row_count(sample_raw):
    with dg.DagsterInstance.ephemeral() as instance:
        result = _land(instance, *DAYS)
        assert result.success
        ledger = {d: state.partition(sample_raw.state_db, SOURCE, d)["rows"] for d in DAYS}
        assert ledger[DAYS[0]] != ledger[DAYS[1]], "the sample's two days differ, so a combined count shows"
        for day in DAYS:
            meta = _latest(instance, day)
            assert meta["dagster/row_count"].value == ledger[day], day
            assert {f["drop_date"] for f in meta["files"].value} == {day}
        (check,) = result.get_asset_check_evaluations()
        assert check.passed and check.description == "every drop of the run was delivered and landed"


def test_drop_landed_tells_quarantined_from_not_delivered(sample_raw):
    folder = sample_raw.raw / load_registry()[SOURCE].folder
    victim = next((folder / DAYS[1]).iterdir())
    victim.write_bytes(victim.read_bytes()[:40])
    with dg.DagsterInstance.ephemeral() as instance:
        (check,) = _land(instance, DAYS[1], DAYS[1]).get_asset_check_evaluations()
        assert not check.passed
        assert check.description.startswith("delivered but quarantined") and DAYS[1] in check.description
        assert "not delivered" not in check.description
        assert check.metadata["quarantined"].value == [DAYS[1]]
        shutil.rmtree(folder / DAYS[1])
        victim.parent.mkdir()
        (check,) = _land(instance, DAYS[1], DAYS[1]).get_asset_check_evaluations()
        assert not check.passed and check.description == f"not delivered: {DAYS[1]}"
        assert check.metadata["not_delivered"].value == [DAYS[1]]


def test_each_source_is_an_asset_of_its_own_with_partitions_check_and_metadata():
    from orchestration.assets.ingestion import build_ingestion_assets
    from orchestration.partitions import drop_date_partitions

    registry = load_registry()
    (ingestion,) = build_ingestion_assets(registry)
    assert ingestion.can_subset and len(ingestion.keys) == len(registry) > 1
    specs = {spec.key: spec for spec in ingestion.specs}
    for source in registry.values():
        key = dg.AssetKey(["raw", source.id])
        assert ingestion.partitions_def == drop_date_partitions
        assert specs[key].owners == [f"team:{source.department.id}"] and specs[key].group_name == "raw"
        assert specs[key].metadata["primary_key"] == list(source.primary_key)
        assert [c.name for c in specs[key].metadata["columns"].columns] == source.column_names
        assert dg.AssetCheckKey(key, "drop_landed") in ingestion.check_keys


def test_a_run_selecting_some_sources_lands_only_those(sample_raw):
    from orchestration.assets.ingestion import build_ingestion_assets
    from orchestration.resources import SudataResource

    registry = load_registry()
    chosen = [dg.AssetKey(["raw", "schools"]), dg.AssetKey(["raw", "bus_stops"])]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(build_ingestion_assets(registry), instance=instance, selection=chosen,
                                resources={"sudata": SudataResource()}, partition_key=DAYS[1])
        assert result.success
        landed = {e.asset_key for e in result.get_asset_materialization_events()}
        assert landed == set(chosen)
        assert {c.asset_key for c in result.get_asset_check_evaluations()} == set(chosen)
        assert instance.get_latest_materialization_event(dg.AssetKey(["raw", "job_postings"])) is None
    for source in registry.values():
        ledger = state.partition(sample_raw.state_db, source.id, DAYS[1])
        assert (ledger is not None) == (dg.AssetKey(["raw", source.id]) in chosen), source.id
