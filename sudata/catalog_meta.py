"""Catalog metadata of a published dataset: one typed, validated object.

It is declared once, either in a source's ``publish:`` block in the registry (a source published as it
is) or in an integration mart's YAML ``config.meta.catalog``; both are parsed here, and a mistake is
reported with the file and the field that hold it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sudata.vocabulary import DOMAINS, GRADES, OPEN_TYPES, UPDATE_FREQUENCIES


class CatalogError(ValueError):
    pass


@dataclass(frozen=True)
class ColumnText:
    """What the catalog says of one published column, where it differs from the source's declaration."""
    name: str
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class CatalogMeta:
    title: str
    title_en: str
    department: str
    domain: str
    open_type: str
    security_grade: str
    update_frequency: str
    primary_key: tuple[str, ...]
    scope_column: str | None = None
    su_online: bool = False
    tags: tuple[str, ...] = ()
    name: str | None = None              # dataset name; a source-as-is dataset defaults to the source id
    description: str = ""
    columns: tuple[ColumnText, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def as_meta(self) -> dict:
        """The ``meta.catalog`` mapping (what the manifest carries and the store keeps)."""
        out = asdict(self)
        for key in ("name", "description", "columns"):
            out.pop(key)
        out["primary_key"] = list(self.primary_key)
        out["tags"] = list(self.tags)
        return out


_REQUIRED = ("title", "department", "domain", "open_type", "security_grade", "update_frequency", "primary_key")
_KNOWN = {f for f in CatalogMeta.__dataclass_fields__}


def _choice(value, allowed, where: str, key: str) -> str:
    if value not in allowed:
        raise CatalogError(f"{where}, field '{key}': {value!r} is not one of {list(allowed)}")
    return value


def parse_catalog(raw: dict, *, where: str, defaults: dict | None = None) -> CatalogMeta:
    """Validate ``raw`` (with ``defaults`` for what it leaves out). ``where`` names the file and entry."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: catalog metadata must be a mapping")
    unknown = set(raw) - _KNOWN
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {sorted(unknown)} (known: {sorted(_KNOWN)})")
    data = {**(defaults or {}), **raw}
    missing = [k for k in _REQUIRED if data.get(k) in (None, "", [])]
    if missing:
        raise CatalogError(f"{where}: missing field(s) {missing}")
    pk = data["primary_key"]
    pk = [pk] if isinstance(pk, str) else pk
    if not isinstance(pk, list) or not all(isinstance(c, str) for c in pk):
        raise CatalogError(f"{where}, field 'primary_key': a list of column names")
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise CatalogError(f"{where}, field 'tags': a list")
    columns = []
    for i, c in enumerate(data.get("columns") or []):
        if isinstance(c, str):
            c = {"name": c}
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or set(c) - {"name", "title", "description"}:
            raise CatalogError(f"{where}, field 'columns' #{i + 1}: a column name or {{name, title, description}}")
        columns.append(ColumnText(**c))
    su_online = data.get("su_online", False)
    if not isinstance(su_online, bool):
        raise CatalogError(f"{where}, field 'su_online': true or false")
    if su_online and not data.get("scope_column"):
        raise CatalogError(f"{where}, field 'scope_column': a Su Online dataset needs the column that places its rows")
    return CatalogMeta(
        title=str(data["title"]), title_en=str(data.get("title_en") or data["title"]),
        department=str(data["department"]), domain=_choice(data["domain"], DOMAINS, where, "domain"),
        open_type=_choice(data["open_type"], OPEN_TYPES, where, "open_type"),
        security_grade=_choice(data["security_grade"], GRADES, where, "security_grade"),
        update_frequency=_choice(data["update_frequency"], UPDATE_FREQUENCIES, where, "update_frequency"),
        primary_key=tuple(pk), scope_column=data.get("scope_column"), su_online=su_online,
        tags=tuple(str(t) for t in tags), name=data.get("name"), description=str(data.get("description") or ""),
        columns=tuple(columns),
    )
