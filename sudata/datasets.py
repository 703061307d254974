"""The published datasets, as the dbt project declares them.

Catalog metadata is written once, in each mart's YAML ``meta.catalog``; everything that needs it (the
quality gate, publication, the catalog, masking review, Su Online slicing) reads it from the manifest.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import orjson

from sudata.registry import load_registry
from sudata.store import DatasetEntry
from sudata.catalog_meta import parse_catalog


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    unique_id: str
    relation: str                         # schema.identifier in the warehouse
    description: str
    catalog: dict
    columns: list[dict] = field(default_factory=list)   # {name, type, title, description, grade, pii, masking}
    upstream_sources: tuple[str, ...] = ()               # registry source ids this dataset is built from
    declared_source: str | None = None                   # the registry source it publishes as it is, if any

    @property
    def open_type(self) -> str:
        return self.catalog["open_type"]

    @property
    def scope_column(self) -> str | None:
        return self.catalog.get("scope_column")

    @property
    def primary_key(self) -> list[str]:
        return list(self.catalog.get("primary_key") or [])

    def entry(self) -> DatasetEntry:
        """The catalog entry the published store keeps for this dataset."""
        registry = load_registry()
        dept_id = self.catalog.get("department", "")
        dept_name = next((s.department.name for s in registry.values() if s.department.id == dept_id), dept_id)
        return DatasetEntry(
            name=self.name,
            title=self.catalog.get("title", self.name),
            title_en=self.catalog.get("title_en", self.name),
            description=self.description,
            department=dept_id,
            department_name=dept_name,
            domain=self.catalog.get("domain", ""),
            open_type=self.open_type,
            security_grade=self.catalog.get("security_grade", "general"),
            update_frequency=self.catalog.get("update_frequency", "不定期"),
            scope_column=self.scope_column,
            tags=list(self.catalog.get("tags") or []),
            columns=self.columns,
            meta={"catalog": self.catalog, "upstream_sources": list(self.upstream_sources),
                  "dbt_unique_id": self.unique_id},
        )


def _meta(node: dict) -> dict:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def load_manifest(manifest_path: Path) -> dict:
    """dbt's manifest, parsed once per process and version of the file (it holds every source's models and
    tests: tens of MB with 1,000 sources). Callers must not modify it."""
    p = Path(manifest_path).resolve()
    return _parse_manifest(str(p), p.stat().st_mtime)


@lru_cache(maxsize=2)
def _parse_manifest(path: str, _mtime: float) -> dict:
    data = Path(path).read_bytes()
    # With 1,000 sources the parse makes millions of dicts and lists: every collection they set off would walk
    # all those made so far, and JSON holds no reference cycles for the cyclic collector to find.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return orjson.loads(data)
    finally:
        if enabled:
            gc.enable()


def load_datasets(manifest_path: Path) -> dict[str, DatasetSpec]:
    p = Path(manifest_path)
    return dict(_load(str(p), p.stat().st_mtime))


@lru_cache(maxsize=4)
def _load(path: str, _mtime: float) -> tuple[tuple[str, DatasetSpec], ...]:
    manifest = load_manifest(Path(path))
    nodes = manifest["nodes"]
    parents = manifest.get("parent_map", {})

    def sources_of(uid: str) -> set[str]:
        out, stack, seen = set(), [uid], set()
        while stack:
            cur = stack.pop()
            for p in parents.get(cur, []):
                if p in seen:
                    continue
                seen.add(p)
                if p.startswith("source."):
                    out.add(manifest["sources"][p]["name"])
                else:
                    stack.append(p)
        return out

    specs: dict[str, DatasetSpec] = {}
    for uid, node in nodes.items():
        if node.get("resource_type") != "model":
            continue
        meta = _meta(node)
        catalog = meta.get("catalog")
        if not catalog:
            continue
        where = f"{(node.get('patch_path') or '').split('://')[-1] or node.get('original_file_path')}: model {node['name']}, meta.catalog"
        catalog = parse_catalog(catalog, where=where).as_meta()  # CatalogError names the file and the field
        columns = []
        for col in node.get("columns", {}).values():
            cm = _meta(col)
            columns.append({
                "name": col["name"],
                "type": col.get("data_type") or cm.get("type") or "string",
                "title": cm.get("title", col["name"]),
                "description": col.get("description", ""),
                "grade": cm.get("grade", "general"),
                "pii": cm.get("pii"),
                "masking": cm.get("masking"),
            })
        name = node["name"]
        specs[name] = DatasetSpec(
            name=name,
            unique_id=uid,
            relation=f"{node['schema']}.{node.get('alias') or name}",
            description=node.get("description", ""),
            catalog=catalog,
            columns=columns,
            upstream_sources=tuple(sorted(sources_of(uid))),
            declared_source=meta.get("source"),
        )
    return tuple(sorted(specs.items()))


def model_relation(manifest_path: Path, model_name: str) -> str | None:
    """schema.identifier of any dbt model by name (e.g. the quarantine model), or None if absent."""
    for node in load_manifest(manifest_path)["nodes"].values():
        if node.get("resource_type") == "model" and node["name"] == model_name:
            return f"{node['schema']}.{node.get('alias') or model_name}"
    return None
