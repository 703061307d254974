"""The source registry: one YAML entry per departmental source, in registry/<department>.yml.

Ingestion assets, the sample generator and schema-drift checks are all built from it, so adding a
source is a registry entry (plus its dbt staging model), never new ingestion code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from sudata.settings import REGISTRY_DIR
from sudata.vocabulary import GRADES, PII_KINDS

FORMATS = {"csv", "json", "xlsx"}


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Column:
    name: str
    header: str
    grade: str = "general"
    required: bool = False
    pii: str | None = None


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    name_en: str


@dataclass(frozen=True)
class Source:
    id: str
    department: Department
    title: str
    title_en: str
    files: str
    format: str
    encoding: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def folder(self) -> str:
        """Landing-zone folder relative to SUDATA_RAW: <department>/<source>/<YYYY-MM-DD>/<file>."""
        return f"{self.department.id}/{self.id}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def headers(self) -> dict[str, str]:
        """Delivered header → snake_case column name."""
        return {c.header: c.name for c in self.columns}


def _parse_source(raw: dict, department: Department, origin: str) -> Source:
    where = f"{origin}: source {raw.get('id', '?')!r}"
    for key in ("id", "title", "files", "format", "primary_key", "columns"):
        if key not in raw:
            raise RegistryError(f"{where}: missing '{key}'")
    fmt = raw["format"]
    if fmt not in FORMATS:
        raise RegistryError(f"{where}: format {fmt!r} is not one of {sorted(FORMATS)}")
    columns = []
    for c in raw["columns"]:
        col = Column(
            name=c["name"],
            header=str(c.get("header", c["name"])),
            grade=c.get("grade", "general"),
            required=bool(c.get("required", False)),
            pii=c.get("pii"),
        )
        if col.grade not in GRADES:
            raise RegistryError(f"{where}: column {col.name!r} grade {col.grade!r} not in {sorted(GRADES)}")
        if col.pii is not None and col.pii not in PII_KINDS:
            raise RegistryError(f"{where}: column {col.name!r} pii {col.pii!r} not in {sorted(PII_KINDS)}")
        if not col.name.isidentifier() or col.name != col.name.lower():
            raise RegistryError(f"{where}: column name {col.name!r} must be snake_case")
        columns.append(col)
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise RegistryError(f"{where}: duplicate column names")
    missing_pk = [k for k in raw["primary_key"] if k not in names]
    if missing_pk:
        raise RegistryError(f"{where}: primary key columns {missing_pk} are not declared columns")
    return Source(
        id=raw["id"],
        department=department,
        title=raw["title"],
        title_en=raw.get("title_en", raw["id"]),
        files=raw["files"],
        format=fmt,
        encoding=raw.get("encoding", "utf-8"),
        primary_key=tuple(raw["primary_key"]),
        columns=tuple(columns),
    )


def load_registry(directory: Path | None = None) -> dict[str, Source]:
    """All sources by id. SUDATA_REGISTRY overrides the directory (used by the 1,000-source benchmark)."""
    directory = Path(directory or os.environ.get("SUDATA_REGISTRY", REGISTRY_DIR))
    return dict(_load(str(directory.resolve())))


@lru_cache(maxsize=8)
def _load(directory: str) -> tuple[tuple[str, Source], ...]:
    sources: dict[str, Source] = {}
    files = sorted(Path(directory).glob("*.yml"))
    if not files:
        raise RegistryError(f"no registry files (*.yml) in {directory}")
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        d = doc.get("department") or {}
        if "id" not in d or "name" not in d:
            raise RegistryError(f"{path.name}: 'department' needs 'id' and 'name'")
        department = Department(id=d["id"], name=d["name"], name_en=d.get("name_en", d["id"]))
        for raw in doc.get("sources") or []:
            source = _parse_source(raw, department, path.name)
            if source.id in sources:
                raise RegistryError(f"{path.name}: source id {source.id!r} is already registered")
            sources[source.id] = source
    return tuple(sources.items())
