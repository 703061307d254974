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


def _code_references(assets_defs) -> dict:
    refs = {}
    for assets_def in assets_defs:
        for key, metadata in assets_def.metadata_by_key.items():
            refs[key] = metadata["dagster/code_references"].code_references
    return refs


def test_every_asset_links_to_its_code_and_a_model_to_its_sql_file():
    import json
    from pathlib import Path

    from orchestration.definitions import defs
    from orchestration.project import dbt_project

    graph = defs.resolve_asset_graph()
    refs = {key: graph.get(key).metadata["dagster/code_references"].code_references
            for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    assert refs
    for key, found in refs.items():
        assert found, key
        for ref in found:
            assert Path(ref.file_path).is_file(), (key, ref)
    raw = {Path(r.file_path).name for r in refs[dg.AssetKey(["raw", SOURCE])]}
    assert raw == {"ingestion.py"}
    (published,) = refs[dg.AssetKey(["published", SOURCE])]
    assert Path(published.file_path).name == "publication.py"
    # the factory that builds every publication asset, named without reading its source per asset
    assert Path(published.file_path).read_text("utf-8").splitlines()[published.line_number - 1].startswith("def _build_publish(")
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    (node,) = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == SOURCE]
    mart = {Path(r.file_path) for r in refs[dg.AssetKey(["marts", SOURCE])]}
    assert dbt_project.project_dir / node["original_file_path"] in mart
    assert any(p.name == "transform.py" for p in mart)


def test_code_references_open_in_the_repository_when_its_address_is_set(monkeypatch):
    from orchestration.assets.ingestion import build_ingestion_assets
    from orchestration.assets.publication import build_publication_assets
    from orchestration.assets.transform import sudata_dbt_models
    from orchestration.code_references import with_code_references
    from orchestration.definitions import datasets

    monkeypatch.setenv("SUDATA_GIT_URL", "https://github.com/su-city/sudata")
    monkeypatch.setenv("SUDATA_GIT_BRANCH", "release")
    refs = _code_references(with_code_references([*build_ingestion_assets({SOURCE: load_registry()[SOURCE]}),
                                                  sudata_dbt_models],
                                                 referenced=build_publication_assets({SOURCE: datasets[SOURCE]})))
    (raw,) = refs[dg.AssetKey(["raw", SOURCE])]
    assert raw.url.startswith("https://github.com/su-city/sudata/tree/release/orchestration/assets/ingestion.py")
    (published,) = refs[dg.AssetKey(["published", SOURCE])]
    assert published.url.startswith("https://github.com/su-city/sudata/tree/release/orchestration/assets/publication.py")
    urls = {r.url for r in refs[dg.AssetKey(["marts", SOURCE])]}
    assert any(u.startswith("https://github.com/su-city/sudata/tree/release/dbt_project/models/marts/") for u in urls)


def test_the_resources_page_says_where_data_goes(tmp_path, monkeypatch):
    """The resource description the UI shows (from the code location's snapshot) names the landing zone,
    the warehouse and the published store as this environment resolves them."""
    from dagster._core.remote_representation.external_data import RepositorySnap

    from orchestration.resources import build_resources

    monkeypatch.setenv("SUDATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SUDATA_RAW", str(tmp_path / "drops"))
    monkeypatch.setenv("SUDATA_DBT_TARGET", "duckdb")
    snap = RepositorySnap.from_def(dg.Definitions(resources=build_resources()).get_repository_def())
    (sudata,) = [r for r in snap.resources if r.name == "sudata"]
    where = sudata.resource_snapshot.description.split("Where data goes:")[1]
    lines = dict(line.removeprefix("- ").split(": ", 1) for line in where.strip().splitlines())
    assert lines["landing zone (departmental drops)"] == str(tmp_path / "drops")
    assert lines["warehouse (dbt)"] == str(tmp_path / "home" / "warehouse.duckdb")
    assert lines["published store"] == str(tmp_path / "home" / "published")
    assert lines["quarantine"] == str(tmp_path / "home" / "quarantine")


def test_each_dbt_model_records_its_row_count(sample_nights):
    """The materialization of every model dbt built records the rows the warehouse holds after the night."""
    import duckdb

    from orchestration.project import dbt_project
    from sudata.datasets import load_datasets

    home = sample_nights["home"]
    marts = sorted(load_datasets(dbt_project.manifest_path))
    keys = [dg.AssetKey(["marts", m]) for m in marts] + [dg.AssetKey(["staging", f"stg_{SOURCE}"])]
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance, \
            duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for key in keys:
            event = instance.get_latest_materialization_event(key)
            assert event is not None, key
            counted = con.execute(f'select count(*) from main."{key.path[-1]}"').fetchone()[0]
            assert event.asset_materialization.metadata["dagster/row_count"].value == counted, key


def test_integration_models_and_marts_carry_column_lineage(sample_nights):
    """dagster-dbt's column lineage (parsed by sqlglot) on the marts: a published column traces back to the
    column of the integration model it comes from."""
    home = sample_nights["home"]
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        meta = instance.get_latest_materialization_event(
            dg.AssetKey(["marts", "enterprise_registry"])).asset_materialization.metadata
        staged = instance.get_latest_materialization_event(
            dg.AssetKey(["staging", f"stg_{SOURCE}"])).asset_materialization.metadata
    lineage = meta["dagster/column_lineage"].value.deps_by_column
    assert {c.name for c in meta["dagster/column_schema"].value.columns} >= set(lineage) >= {"address"}
    assert [(d.asset_key, d.column_name) for d in lineage["address"]] == [
        (dg.AssetKey(["intermediate", "int_enterprise_registrations__deduped"]), "address")]
    assert "dagster/column_lineage" not in staged, "staging is left out: its SQL costs minutes to parse"


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
