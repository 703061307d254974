"""The source registry: the one declaration of every departmental source, in registry/<department>.yml.

A source entry says where its drops land and how to read them (files, format, encoding), its primary
key, and its columns: delivered header, declared type (sudata.vocabulary.COLUMN_TYPES), whether it is
required, its security grade and kind of personal data, and the rules its values follow (enum values,
bounds). Ingestion assets, the dbt sources, the standard staging and de-duplication models, the
quarantine model, the sample generator and schema-drift checks are all derived from it.

A source published as it is carries a ``publish:`` block (catalog metadata, see sudata.catalog_meta):
that declaration is the whole dataset, with no SQL and no suite file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from sudata.catalog_meta import CatalogError, CatalogMeta, parse_catalog
from sudata.settings import REGISTRY_DIR
from sudata.vocabulary import COLUMN_TYPES, GRADES, NUMERIC_TYPES, PII_KINDS, UPDATE_FREQUENCIES

FORMATS = {"csv", "json", "xlsx"}
LOCATION_COLUMNS = ("street_code", "district_code")  # what staging/intermediate add for a located source

_COLUMN_KEYS = {"name", "header", "type", "grade", "required", "pii", "title", "description", "values",
                "min", "max", "precision", "scale", "compact", "as", "references", "not_future", "none_values"}
_SOURCE_KEYS = {"id", "title", "title_en", "files", "format", "encoding", "primary_key", "columns", "publish",
                "rules", "delivery"}
_DELIVERY_KEYS = {"frequency", "deadline", "days_after", "day"}
_DEADLINE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# libyaml's safe loader where PyYAML was built with it: a 1,000-source registry parses in a fraction of the time
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class Column:
    name: str                      # the raw-layer column (snake_case), as landed
    header: str                    # the header as the department delivers it
    type: str = "text"
    grade: str = "general"
    required: bool = False
    pii: str | None = None
    title: str | None = None       # catalog title; default: the header
    description: str = ""
    values: dict[str, list[str]] | None = None   # enum: canonical value → delivered spellings
    min: float | None = None       # numeric bounds: a value outside is not a measurement (null)
    max: float | None = None
    precision: int | None = None   # decimal(precision, scale)
    scale: int | None = None
    compact: bool = False          # code: hyphens removed as well as spaces
    staged_as: str | None = None   # the column's name from staging on (e.g. a unit suffix)
    references: str | None = None  # code: the source whose primary key this value must name
    not_future: bool = False       # date: a value after its drop's day quarantines the row
    none_values: tuple[str, ...] = ()  # delivered spellings that mean "no value" (长期 for an end date)

    @property
    def staged_name(self) -> str:
        return self.staged_as or self.name

    @property
    def catalog_title(self) -> str:
        return self.title or self.header


@dataclass(frozen=True)
class Delivery:
    """When a source's drops are due: one drop per period of ``frequency`` (更新频率), each delivered by
    ``deadline`` (HH:MM, Asia/Shanghai) ``days_after`` days after its drop date. ``day`` places the drop in
    its period: a weekday 1–7 (Monday = 1) for 每周, a day of the month 1–28 for 每月, 每季度 and 每年."""

    frequency: str = "每日"
    deadline: str = "01:30"
    days_after: int = 1
    day: int = 1


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
    publish: CatalogMeta | None = None       # published as it is (after governance)
    rules: tuple[Column, ...] = ()           # columns the source's own SQL computes (stg_<id>.sql)
    delivery: Delivery | None = None         # when drops are due (sudata.monitoring.deadlines)
    origin: str = ""                         # registry file, for error messages

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

    def column(self, name: str) -> Column:
        return next(c for c in (*self.columns, *self.rules) if c.name == name or c.staged_name == name)

    def of_type(self, type_: str) -> list[Column]:
        return [c for c in self.columns if c.type == type_]

    @property
    def street_column(self) -> Column | None:
        found = self.of_type("street_code")
        return found[0] if found else None

    @property
    def address_column(self) -> Column | None:
        found = self.of_type("address")
        return found[0] if found else None

    @property
    def located(self) -> bool:
        """Rows are placed in a street: a street code, or an address to match."""
        return self.street_column is not None or self.address_column is not None

    @property
    def staged_key(self) -> list[str]:
        return [self.column(k).staged_name for k in self.primary_key]


def _where(origin: str, source_id: str, column: str | None = None, key: str | None = None) -> str:
    out = f"{origin}: source {source_id!r}"
    if column:
        out += f", column {column!r}"
    if key:
        out += f", field '{key}'"
    return out


def _parse_column(c: dict, origin: str, source_id: str) -> Column:
    if not isinstance(c, dict) or "name" not in c:
        raise RegistryError(f"{_where(origin, source_id)}: every column needs a 'name'")
    name = c["name"]
    at = lambda key=None: _where(origin, source_id, name, key)  # noqa: E731
    unknown = set(c) - _COLUMN_KEYS
    if unknown:
        raise RegistryError(f"{at()}: unknown field(s) {sorted(unknown)} (known: {sorted(_COLUMN_KEYS)})")
    if not str(name).isidentifier() or name != name.lower():
        raise RegistryError(f"{at('name')}: column name {name!r} must be snake_case")
    type_ = c.get("type", "text")
    if type_ not in COLUMN_TYPES:
        raise RegistryError(f"{at('type')}: {type_!r} is not a declared type ({', '.join(COLUMN_TYPES)})")
    grade = c.get("grade", "general")
    if grade not in GRADES:
        raise RegistryError(f"{at('grade')}: {grade!r} not in {list(GRADES)}")
    pii = c.get("pii")
    if pii is not None and pii not in PII_KINDS:
        raise RegistryError(f"{at('pii')}: {pii!r} not in {list(PII_KINDS)}")
    values = c.get("values")
    if type_ == "enum":
        if not isinstance(values, dict) or not values:
            raise RegistryError(f"{at('values')}: an enum needs values: {{canonical: [delivered spellings]}}")
        values = {str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in values.items()}
    elif values is not None:
        raise RegistryError(f"{at('values')}: only an enum column has values")
    for bound in ("min", "max", "precision", "scale"):
        if c.get(bound) is not None and type_ not in NUMERIC_TYPES:
            raise RegistryError(f"{at(bound)}: only numeric columns ({sorted(NUMERIC_TYPES)}) have {bound}")
    if c.get("compact") and type_ != "code":
        raise RegistryError(f"{at('compact')}: only a code column is compacted")
    if c.get("not_future") and type_ not in ("date", "datetime"):
        raise RegistryError(f"{at('not_future')}: only a date or datetime column can be checked against its drop")
    if c.get("references") and type_ != "code":
        raise RegistryError(f"{at('references')}: only a code column references another source")
    staged_as = c.get("as")
    if staged_as is not None and (not str(staged_as).isidentifier() or staged_as != staged_as.lower()):
        raise RegistryError(f"{at('as')}: {staged_as!r} must be snake_case")
    return Column(
        name=name, header=str(c.get("header", name)), type=type_, grade=grade,
        required=bool(c.get("required", False)), pii=pii, title=c.get("title"),
        description=str(c.get("description") or ""), values=values,
        min=c.get("min"), max=c.get("max"), precision=c.get("precision"), scale=c.get("scale"),
        compact=bool(c.get("compact", False)), staged_as=staged_as, references=c.get("references"),
        not_future=bool(c.get("not_future", False)),
        none_values=tuple(str(v) for v in c.get("none_values") or ()),
    )


def _parse_delivery(raw, origin: str, source_id: str) -> Delivery:
    at = lambda key=None: _where(origin, source_id, key=f"delivery.{key}" if key else "delivery")  # noqa: E731
    if not isinstance(raw, dict):
        raise RegistryError(f"{at()}: expected {{frequency, deadline, days_after, day}}")
    unknown = set(raw) - _DELIVERY_KEYS
    if unknown:
        raise RegistryError(f"{at()}: unknown field(s) {sorted(unknown)} (known: {sorted(_DELIVERY_KEYS)})")
    frequency = raw.get("frequency", Delivery.frequency)
    if frequency not in UPDATE_FREQUENCIES:
        raise RegistryError(f"{at('frequency')}: {frequency!r} not in {list(UPDATE_FREQUENCIES)}")
    deadline = str(raw.get("deadline", Delivery.deadline))
    if not _DEADLINE.match(deadline):
        raise RegistryError(f"{at('deadline')}: {deadline!r} is not a time of day HH:MM (Asia/Shanghai)")
    days_after, day = raw.get("days_after", Delivery.days_after), raw.get("day", Delivery.day)
    if not isinstance(days_after, int) or not 0 <= days_after <= 366:
        raise RegistryError(f"{at('days_after')}: {days_after!r} is not a whole number of days (0–366)")
    limit = 7 if frequency == "每周" else 28
    if not isinstance(day, int) or not 1 <= day <= limit:
        raise RegistryError(f"{at('day')}: {day!r} is not 1–{limit} for {frequency}")
    return Delivery(frequency=frequency, deadline=deadline, days_after=days_after, day=day)


def _parse_source(raw: dict, department: Department, origin: str) -> Source:
    sid = raw.get("id", "?")
    where = _where(origin, sid)
    unknown = set(raw) - _SOURCE_KEYS
    if unknown:
        raise RegistryError(f"{where}: unknown field(s) {sorted(unknown)} (known: {sorted(_SOURCE_KEYS)})")
    for key in ("id", "title", "files", "format", "primary_key", "columns"):
        if key not in raw:
            raise RegistryError(f"{where}: missing field '{key}'")
    fmt = raw["format"]
    if fmt not in FORMATS:
        raise RegistryError(f"{_where(origin, sid, key='format')}: {fmt!r} is not one of {sorted(FORMATS)}")
    columns = [_parse_column(c, origin, sid) for c in raw["columns"]]
    names = [c.name for c in columns]
    rules = [_parse_column({"header": "", **r}, origin, sid) for r in raw.get("rules") or []]
    staged = [c.staged_name for c in columns + rules]
    if len(set(names)) != len(names) or len(set(staged)) != len(staged):
        raise RegistryError(f"{where}: duplicate column names")
    missing_pk = [k for k in raw["primary_key"] if k not in names]
    if missing_pk:
        raise RegistryError(f"{_where(origin, sid, key='primary_key')}: {missing_pk} are not declared columns")
    for type_ in ("street_code", "division_code"):
        if sum(c.type == type_ for c in columns) > 1:
            raise RegistryError(f"{where}: at most one {type_} column per source")
    if any(c.type == "street_code" for c in columns) and any(c.type == "division_code" for c in columns):
        raise RegistryError(f"{where}: a source is placed by a street code or by a division code, not both")
    for kind in ("longitude", "latitude"):
        pair = {"longitude": "latitude", "latitude": "longitude"}[kind]
        if any(c.type == kind for c in columns) != any(c.type == pair for c in columns):
            raise RegistryError(f"{where}: longitude and latitude are declared together")
    source = Source(
        id=sid, department=department, title=raw["title"], title_en=raw.get("title_en", sid),
        files=raw["files"], format=fmt, encoding=raw.get("encoding", "utf-8"),
        primary_key=tuple(raw["primary_key"]), columns=tuple(columns),
        rules=tuple(rules), origin=origin,
        delivery=_parse_delivery(raw["delivery"], origin, sid) if raw.get("delivery") is not None else None,
    )
    if raw.get("publish") is not None:
        try:
            publish = parse_catalog(raw["publish"], where=f"{where}, publish",
                                    defaults={"title": source.title, "title_en": source.title_en,
                                              "department": department.id, "name": sid,
                                              "primary_key": source.staged_key})
        except CatalogError as exc:
            raise RegistryError(str(exc)) from exc
        available = set(published_columns(source, publish=None))
        unknown_cols = [c for c in publish.column_names if c not in available]
        if unknown_cols:
            raise RegistryError(f"{where}, publish, field 'columns': {unknown_cols} are not columns of the source "
                                f"(staged columns: {sorted(available)})")
        if publish.scope_column and publish.scope_column not in available:
            raise RegistryError(f"{where}, publish, field 'scope_column': {publish.scope_column!r} is not a column")
        source = Source(**{**source.__dict__, "publish": publish})
    return source


def published_columns(source: Source, publish: CatalogMeta | None = None) -> list[str]:
    """The columns a source-as-is dataset publishes, in order: the declared ``columns`` of its publish
    block, else every staged column, then the rules' columns, then the street and district it is placed in."""
    if publish is not None and publish.column_names:
        return list(publish.column_names)
    out = [c.staged_name for c in source.columns if c.type != "street_code"] + [r.name for r in source.rules]
    if source.located or source.of_type("division_code"):
        out += [c for c in LOCATION_COLUMNS if c not in out and (source.located or c == "district_code")]
    return out


def registry_dir(directory: Path | None = None) -> Path:
    """The registry's folder. SUDATA_REGISTRY overrides it (used by the 1,000-source benchmark)."""
    return Path(directory or os.environ.get("SUDATA_REGISTRY", REGISTRY_DIR)).resolve()


def registry_files(directory: Path | None = None) -> list[Path]:
    return sorted(registry_dir(directory).glob("*.yml"))


def load_registry(directory: Path | None = None) -> dict[str, Source]:
    """All sources by id (parsed once per process and folder)."""
    return dict(_load(str(registry_dir(directory))))


@lru_cache(maxsize=8)
def _load(directory: str) -> tuple[tuple[str, Source], ...]:
    sources: dict[str, Source] = {}
    files = registry_files(Path(directory))
    if not files:
        raise RegistryError(f"no registry files (*.yml) in {directory}")
    for path in files:
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
        except yaml.YAMLError as exc:
            raise RegistryError(f"{path.name}: not valid YAML: {exc}") from exc
        d = doc.get("department") or {}
        if "id" not in d or "name" not in d:
            raise RegistryError(f"{path.name}: 'department' needs 'id' and 'name'")
        department = Department(id=d["id"], name=d["name"], name_en=d.get("name_en", d["id"]))
        for raw in doc.get("sources") or []:
            source = _parse_source(raw, department, path.name)
            if source.id in sources:
                raise RegistryError(f"{path.name}: source id {source.id!r} is already registered")
            sources[source.id] = source
    for source in sources.values():
        for c in source.columns:
            if c.references and c.references not in sources:
                raise RegistryError(f"{_where(source.origin, source.id, c.name, 'references')}: "
                                    f"{c.references!r} is not a registered source")
    return tuple(sources.items())
