"""The registry rendered into the dbt project: what dbt needs to know of each declared source and dataset.

    python -m sudata.dbt_codegen        # (also run before every dbt parse by orchestration.project)

writes, under the git-ignored ``_generated/`` folders of dbt_project/:

  macros/_generated/declarations.sql     ``sudata.declarations()``: every source's key, typed columns and
                                         rules, and every source-as-is dataset, as one Jinja literal that
                                         the standard macros read at parse and at run time
  models/staging/_generated/             the ``raw`` dbt sources, ``stg_<id>`` for each source without a
                                         hand-written model (standard staging only), their tests
  models/intermediate/_generated/        ``int_<id>__deduped`` for every source (locate → latest correction)
  models/marts/_generated/               a mart and its YAML (catalog metadata, columns, tests) for each
                                         source published as it is

Nothing here is written by hand: a source's own SQL, where it needs any, is its
``models/staging/stg_<id>.sql`` calling ``sudata.standard_staging`` with its rules.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from sudata.registry import LOCATION_COLUMNS, Column, Source, load_registry, published_columns, registry_files
from sudata.settings import DBT_PROJECT_DIR

GENERATED = "_generated"

WAREHOUSE_TYPES = {"integer": "bigint", "decimal": "decimal", "longitude": "decimal", "latitude": "decimal",
                   "date": "date", "datetime": "timestamp", "boolean": "boolean"}

# What the catalog says of the columns the intermediate layer adds to a located source.
LOCATION_TEXT = {
    "street_code": ("所属街道代码", "所在街道（镇）的统计用区划代码（9位）；报送缺失时由地址匹配得出。"),
    "district_code": ("所属区县代码", "所在县级行政区划代码（6位），由街道代码对照区划表得出。"),
}


def masking_method(open_type: str, pii: str | None, grade: str = "general") -> str:
    """The treatment of a personal column (mirrors the dbt macro sudata.masking_method)."""
    if not pii:
        return "none"
    if pii == "id_number":
        return "pseudonymise"
    if open_type in ("conditional", "closed"):
        return "pseudonymise" if grade == "core" else "none"
    return {"person_name": "mask_person_name", "phone": "mask_phone"}[pii]


def _column_literal(c: Column) -> dict:
    """What the macros read of a column (unset options left out: the macros default them)."""
    full = {"name": c.name, "staged": c.staged_name, "type": c.type, "required": c.required, "pii": c.pii,
            "values": c.values, "min": c.min, "max": c.max, "precision": c.precision, "scale": c.scale,
            "compact": c.compact, "not_future": c.not_future, "none_values": list(c.none_values) or None}
    return {k: v for k, v in full.items() if v not in (None, False)}


def source_literal(source: Source, sources: dict[str, Source]) -> dict:
    pair = {c.type: c.name for c in source.columns if c.type in ("longitude", "latitude")}
    references = {}
    for c in source.columns:
        if c.references:
            target = sources[c.references]
            references[c.staged_name] = {"source": target.id, "column": target.staged_key[0]}
    key = source.staged_key
    street = source.street_column
    return {
        "id": source.id,
        "key": key,
        # the key as delivered, for the quarantine: a remapped street code is reported as delivered
        "delivered_key": [f"{k}_delivered" if street and k == street.staged_name else k for k in key],
        "columns": [_column_literal(c) for c in source.columns],
        "rules": [_column_literal(r) for r in source.rules],
        "street": street.staged_name if street else None,
        "address": source.address_column.staged_name if source.address_column else None,
        "division": next((c.staged_name for c in source.columns if c.type == "division_code"), None),
        "longitude": pair.get("longitude"),
        "latitude": pair.get("latitude"),
        "references": references,
    }


def _jinja_literal(value) -> str:
    """A Python value as a Jinja literal (JSON, with Jinja's spelling of true/false/none)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_jinja_literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {_jinja_literal(v)}" for k, v in value.items()) + "}"


def declarations_macro(sources: dict[str, Source]) -> str:
    literal = {
        "sources": {sid: source_literal(s, sources) for sid, s in sorted(sources.items())},
        "datasets": {s.publish.name: {"source": sid, "columns": published_columns(s, s.publish)}
                     for sid, s in sorted(sources.items()) if s.publish},
    }
    body = _jinja_literal(literal).replace('}, "', '},\n    "')
    return ("{# Generated from registry/ by sudata.dbt_codegen: do not edit. #}\n"
            "{% macro declarations() -%}\n{{ return(" + body + ") }}\n{%- endmacro %}\n")


def sources_yaml(sources: dict[str, Source]) -> dict:
    tables = []
    for s in sources.values():
        tables.append({
            "name": s.id,
            "description": f"{s.title}（{s.department.name}）: {s.title_en}. Primary key: {', '.join(s.primary_key)}.",
            "meta": {"registry": s.origin, "department": s.department.id},
            "columns": [{"name": c.name, "description": f"{c.header}（{c.type}）" + (f" {c.description}" if c.description else ""),
                         "meta": {"type": c.type, "grade": c.grade, "required": c.required, "pii": c.pii}}
                        for c in s.columns],
        })
    return {"version": 2, "sources": [{
        "name": "raw",
        "description": "The raw layer: every registered departmental source as delivered, one Parquet file per "
                       "drop date (lake/raw/<source_id>/<YYYY-MM-DD>.parquet), registered as the `raw` schema by "
                       "the on-run-start macro register_raw_sources(). Declared in registry/*.yml.",
        "schema": "raw",
        "tables": tables,
    }]}


def _warn(test, **arguments) -> dict | str:
    body = {"config": {"severity": "warn"}}
    if arguments:
        body["arguments"] = arguments
    return {test: body}


def staging_yaml(sources: dict[str, Source]) -> dict:
    """Staging keeps every delivered row, dirt included: its code checks only warn (the marts' are errors)."""
    models = []
    for s in sources.values():
        columns = []
        for c in s.columns:
            if c.type == "street_code":
                columns += [
                    {"name": f"{c.staged_name}_delivered", "data_tests": [_warn("valid_division_code", level="street")]},
                    {"name": c.staged_name, "data_tests": [_warn("valid_division_code", level="street")]},
                    {"name": f"{c.staged_name}_status", "data_tests": [
                        _warn("accepted_values", values=["current", "remapped", "outdated", "unknown"])]},
                ]
            elif c.type == "division_code":
                columns.append({"name": c.staged_name, "data_tests": [
                    _warn("valid_division_code", level="district", allow_city=True)]})
            elif c.type == "uscc":
                columns.append({"name": c.staged_name, "data_tests": [_warn("valid_uscc")]})
        columns += [{"name": n, "data_tests": ["not_null"]} for n in ("_source_file", "_drop_date", "_row_number")]
        models.append({"name": f"stg_{s.id}",
                       "description": f"{s.title}（{s.department.name}）：按登记声明清洗、类型转换后的交付行，"
                                      "每个交付行一行，含来源文件、交付日期、行号和拒收原因。",
                       "columns": columns})
    return {"version": 2, "models": models}


def _key_tests(key: list[str]) -> tuple[dict[str, list], list]:
    """Column and model tests of a primary key."""
    if len(key) == 1:
        return {key[0]: ["not_null", "unique"]}, []
    return ({k: ["not_null"] for k in key},
            [{"unique_combination_of_columns": {"arguments": {"combination_of_columns": list(key)}}}])


def intermediate_yaml(sources: dict[str, Source]) -> dict:
    models = []
    for s in sources.values():
        column_tests, model_tests = _key_tests(s.staged_key)
        models.append({
            "name": f"int_{s.id}__deduped",
            "description": f"{s.title}：可用的行（拒收的在 int_quarantined_rows），每个主键一行，以最新交付的更正为准。",
            # merged by key each night (dbt_project.yml, macros/incremental.sql)
            "config": {"unique_key": list(s.staged_key)},
            "data_tests": model_tests,
            "columns": [{"name": n, "data_tests": t} for n, t in column_tests.items()],
        })
    return {"version": 2, "models": models}


def _column_rules(column: str, c: Column | None) -> list:
    """The dbt tests a published column inherits from its declaration."""
    tests: list = []
    if column == "street_code":
        tests += [{"relationships": {"arguments": {"to": "ref('suzhou_streets')", "field": "code"}}},
                  {"valid_division_code": {"arguments": {"level": "street"}}}]
    elif column == "district_code" and (c is None or c.type == "division_code"):
        arguments = {"level": "district"} if c is None else {"level": "district", "allow_city": True}
        tests.append({"valid_division_code": {"arguments": arguments}})
    if c is None:
        return tests
    if c.required:
        tests.append("not_null")
    if c.type == "enum":
        tests.append({"accepted_values": {"arguments": {"values": list(c.values)}}})
    elif c.type == "uscc":
        tests.append("valid_uscc")
    if c.type in ("longitude", "latitude"):
        tests.append({"value_in_city_extent": {"arguments": {"axis": c.type}}})
    elif c.min is not None or c.max is not None:
        tests.append({"values_between": {"arguments": {k: v for k, v in (("min_value", c.min), ("max_value", c.max))
                                                       if v is not None}}})
    return tests


def _declaration(source: Source, name: str) -> Column | None:
    """The declared column behind a published one; None for the street and district that the
    intermediate layer places a located source's rows in."""
    if name in LOCATION_COLUMNS and source.located:
        return None
    return source.column(name)


def mart_yaml(source: Source) -> dict:
    meta = source.publish
    texts = {t.name: t for t in meta.columns}
    key_tests, model_tests = _key_tests(list(meta.primary_key))
    columns = []
    for name in published_columns(source, meta):
        c = _declaration(source, name)
        if c is not None:
            title, description = c.catalog_title, c.description
        else:
            title, description = LOCATION_TEXT[name]
            delivered = source.street_column if name == "street_code" else None
            if delivered is not None:
                title, description = delivered.catalog_title, delivered.description or description
        override = texts.get(name)
        title = (override.title if override else None) or title
        description = (override.description if override else None) or description
        grade = c.grade if c is not None else "general"
        pii = c.pii if c is not None else None
        column_meta = {"title": title, "grade": grade, "masking": masking_method(meta.open_type, pii, grade)}
        if pii:
            column_meta["pii"] = pii
        tests = key_tests.get(name, []) + [t for t in _column_rules(name, c) if t not in key_tests.get(name, [])]
        columns.append({
            "name": name, "description": description,
            "data_type": WAREHOUSE_TYPES.get(c.type, "varchar") if c is not None else "varchar",
            "config": {"meta": column_meta}, "data_tests": tests,
        })
    return {
        "name": meta.name,
        "description": meta.description,
        "config": {"unique_key": list(meta.primary_key),
                   "meta": {"catalog": meta.as_meta(), "declared_in": f"registry/{source.origin}", "source": source.id}},
        "data_tests": ["no_clear_pii", *model_tests],
        "columns": columns,
    }


def _dump(data: dict) -> str:
    return "# Generated from registry/ by sudata.dbt_codegen: do not edit.\n" + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, width=120)


def render(sources: dict[str, Source], project_dir: Path = DBT_PROJECT_DIR) -> dict[Path, str]:
    """Every generated file (path → text)."""
    out: dict[Path, str] = {project_dir / "macros" / GENERATED / "declarations.sql": declarations_macro(sources)}
    staging = project_dir / "models" / "staging"
    out[staging / GENERATED / "_sources.yml"] = _dump(sources_yaml(sources))
    out[staging / GENERATED / "_stg__models.yml"] = _dump(staging_yaml(sources))
    for sid in sources:
        if not (staging / f"stg_{sid}.sql").exists():
            out[staging / GENERATED / f"stg_{sid}.sql"] = f"{{{{ sudata.standard_staging('{sid}') }}}}\n"
    intermediate = project_dir / "models" / "intermediate" / GENERATED
    out[intermediate / "_int__deduped.yml"] = _dump(intermediate_yaml(sources))
    for sid in sources:
        out[intermediate / f"int_{sid}__deduped.sql"] = f"{{{{ sudata.latest_rows('{sid}') }}}}\n"
    marts = project_dir / "models" / "marts" / GENERATED
    published = [s for s in sources.values() if s.publish]
    if published:
        out[marts / "_published_as_is.yml"] = _dump({"version": 2, "models": [mart_yaml(s) for s in published]})
    for s in published:
        out[marts / f"{s.publish.name}.sql"] = f"{{{{ sudata.publish_as_is('{s.publish.name}') }}}}\n"
    return out


def fingerprint(project_dir: Path = DBT_PROJECT_DIR, registry_dir: Path | None = None) -> str:
    """What the generated files are a function of: the registry's files, the code that parses and renders
    them, and which sources have a hand-written staging model. Equal fingerprints, equal files."""
    import hashlib

    from sudata import catalog_meta, registry, vocabulary

    h = hashlib.sha256()
    for path in [*registry_files(registry_dir), *(Path(m.__file__) for m in (registry, catalog_meta, vocabulary)),
                 Path(__file__)]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update("\0".join(sorted(p.name for p in (project_dir / "models" / "staging").glob("stg_*.sql"))).encode())
    return h.hexdigest()


def write(project_dir: Path = DBT_PROJECT_DIR, registry_dir: Path | None = None) -> list[Path]:
    """Bring the generated folders in line with the registry; only files whose text changed are rewritten
    (so dbt's partial parsing and the manifest's freshness check see real changes only). Returns them."""
    files = render(load_registry(registry_dir), project_dir)
    folders = {p.parent for p in files}
    for folder in [project_dir / "macros" / GENERATED, *(project_dir / "models" / layer / GENERATED
                                                        for layer in ("staging", "intermediate", "marts"))]:
        if folder.exists() and folder not in folders:
            shutil.rmtree(folder)
    changed = []
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.iterdir():
            if stale not in files:
                stale.unlink()
                changed.append(stale)
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


if __name__ == "__main__":
    for p in write():
        print(p)
