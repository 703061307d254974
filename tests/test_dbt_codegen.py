"""The registry rendered into the dbt project: complete, idempotent, and the one source of what it says."""

from __future__ import annotations

import json

import pytest
import yaml

from sudata import dbt_codegen
from sudata.catalog_meta import CatalogError
from sudata.datasets import load_datasets
from sudata.registry import load_registry
from sudata.settings import DBT_PROJECT_DIR


def test_rendering_is_idempotent_and_covers_every_source():
    assert dbt_codegen.write() == []  # conftest rendered it: nothing changes the second time
    registry = load_registry()
    files = dbt_codegen.render(registry)
    names = {p.name for p in files}
    hand_written = {p.stem for p in (DBT_PROJECT_DIR / "models" / "staging").glob("stg_*.sql")}
    for sid, source in registry.items():
        assert f"int_{sid}__deduped.sql" in names
        assert (f"stg_{sid}.sql" in names) != (f"stg_{sid}" in hand_written), sid
        if source.publish:
            assert f"{source.publish.name}.sql" in names
    sources = yaml.safe_load(files[DBT_PROJECT_DIR / "models" / "staging" / "_generated" / "_sources.yml"])
    assert {t["name"] for t in sources["sources"][0]["tables"]} == set(registry)


def test_a_stale_generated_file_is_removed(tmp_path):
    import shutil

    project = tmp_path / "dbt_project"  # a copy: other test processes read the real project meanwhile
    for folder in ("models", "macros"):
        shutil.copytree(DBT_PROJECT_DIR / folder, project / folder)
    assert dbt_codegen.write(project) == []
    (project / "models" / "intermediate" / "_generated" / "int_gone__deduped.sql").write_text("select 1")
    changed = dbt_codegen.write(project)
    assert [p.name for p in changed] == ["int_gone__deduped.sql"]
    assert not (project / "models" / "intermediate" / "_generated" / "int_gone__deduped.sql").exists()


def test_a_declared_mart_tests_its_column_rules():
    registry = load_registry()
    mart = dbt_codegen.mart_yaml(registry["scenic_spots"])
    tests = {c["name"]: c["data_tests"] for c in mart["columns"]}
    assert tests["spot_id"][:2] == ["not_null", "unique"]
    assert {"accepted_values": {"arguments": {"values": ["5A", "4A", "3A", "2A", "1A"]}}} in tests["rating"]
    assert any("relationships" in t for t in tests["street_code"] if isinstance(t, dict))
    assert "no_clear_pii" in mart["data_tests"]
    parking = {c["name"]: c for c in dbt_codegen.mart_yaml(registry["public_parking"])["columns"]}
    assert {"value_in_city_extent": {"arguments": {"axis": "longitude"}}} in parking["longitude"]["data_tests"]
    schools = {c["name"]: c for c in dbt_codegen.mart_yaml(registry["schools"])["columns"]}
    assert schools["principal_name"]["config"]["meta"]["masking"] == "mask_person_name"


def test_catalog_metadata_in_a_mart_yaml_is_checked_with_its_file_and_field(tmp_path):
    manifest = {"nodes": {"model.sudata.broken": {
        "resource_type": "model", "name": "broken", "schema": "main",
        "patch_path": "sudata://models/marts/x/_x__models.yml", "original_file_path": "models/marts/x/broken.sql",
        "config": {"meta": {"catalog": {"title": "坏", "department": "d", "domain": "交通出行", "open_type": "open",
                                        "security_grade": "general", "update_frequency": "每日", "primary_key": ["a"]}}},
        "columns": {}}}, "sources": {}, "parent_map": {}}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(CatalogError, match=r"models/marts/x/_x__models.yml: model broken, meta.catalog, field 'open_type'"):
        load_datasets(path)


def test_the_fingerprint_follows_the_registry_and_the_hand_written_staging(tmp_path):
    import shutil

    from sudata.registry import REGISTRY_DIR

    registry, project = tmp_path / "registry", tmp_path / "dbt_project"
    shutil.copytree(REGISTRY_DIR, registry)
    (project / "models" / "staging").mkdir(parents=True)
    first = dbt_codegen.fingerprint(project, registry)
    assert dbt_codegen.fingerprint(project, registry) == first
    (project / "models" / "staging" / "stg_schools.sql").write_text("select 1\n", encoding="utf-8")
    second = dbt_codegen.fingerprint(project, registry)
    assert second != first
    education = registry / "education.yml"
    education.write_text(education.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert dbt_codegen.fingerprint(project, registry) not in (first, second)


def test_loading_renders_the_registry_only_when_it_changed(monkeypatch):
    from orchestration import project

    project.ensure_manifest()  # the stamp beside the manifest now names the registry as it is
    calls = []
    real_write = dbt_codegen.write
    monkeypatch.setattr(dbt_codegen, "write", lambda *a, **k: calls.append(1) or real_write(*a, **k))
    project.ensure_manifest()
    assert calls == []
    monkeypatch.setattr(dbt_codegen, "fingerprint", lambda *a, **k: "another registry")
    try:
        project.ensure_manifest()
        assert calls == [1]
    finally:
        monkeypatch.undo()
        project.ensure_manifest()  # the stamp names the real registry again
    stamp = project.dbt_project.manifest_path.with_name(project.CODEGEN_STAMP)
    assert stamp.read_text(encoding="utf-8") == dbt_codegen.fingerprint()
