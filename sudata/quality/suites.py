"""Expectation suites: one reviewable GE 1.x ExpectationSuite JSON file per published dataset, in expectations/.

File format (``expectations/<dataset>.json``)::

    {"name": "<dataset>",
     "meta": {"primary_key": ["col", ...], "open_type": "unconditional|conditional|closed", ...},
     "expectations": [{"type": "expect_...", "kwargs": {...},
                       "meta": {"dimension": "conformity|completeness|accuracy|consistency|timeliness",
                                "blocking": true|false}}]}

Suites are validated frames fetched from the warehouse (see ``frames``), never the warehouse itself, so
table-level expectations (row counts, column sets) and type expectations are not allowed here: row counts
and key uniqueness are exact SQL checks in the gate, column types are the dbt model's business.
"Not in the future" is written ``{"$PARAMETER": "now"}``; the runner supplies the local wall-clock time.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from sudata.quality.report import DIMENSIONS
from sudata.settings import EXPECTATIONS_DIR

# Parameters the runner supplies to every suite (``{"$PARAMETER": name}`` in kwargs).
RUNTIME_PARAMETERS = frozenset({"now"})

# Kwargs that name columns of the validated table.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)

_DISALLOWED = {
    "expect_table_": "table-level facts (row counts, column sets) are exact SQL checks in the gate and dbt "
                     "contracts; the suite sees only the columns it references",
    "expect_column_values_to_be_of_type": "column types belong to the dbt model; frame dtypes are not warehouse types",
    "expect_column_values_to_be_in_type_list": "column types belong to the dbt model; frame dtypes are not warehouse types",
    "expect_column_type_to_be": "column types belong to the dbt model; frame dtypes are not warehouse types",
    "expect_query_results_to_match_comparison": "SQL expectations do not run on the pandas data source",
    "unexpected_rows_expectation": "SQL expectations do not run on the pandas data source",
}


class SuiteError(ValueError):
    pass


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: dict
    meta: dict

    @property
    def dimension(self) -> str:
        return self.meta.get("dimension", "")

    @property
    def blocking(self) -> bool:
        return bool(self.meta.get("blocking", False))

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for key in _COLUMN_KWARGS:
            if isinstance(self.kwargs.get(key), str):
                cols.append(self.kwargs[key])
        for key in _COLUMN_LIST_KWARGS:
            if isinstance(self.kwargs.get(key), list):
                cols.extend(c for c in self.kwargs[key] if isinstance(c, str))
        cols.extend(_row_condition_columns(self.kwargs.get("row_condition")))
        return list(dict.fromkeys(cols))

    @property
    def label(self) -> str:
        """Readable, stable check name: ``type(col)`` or ``type(a,b)``; ``meta.name`` overrides it."""
        if self.meta.get("name"):
            return str(self.meta["name"])
        cols = [self.kwargs[k] for k in _COLUMN_KWARGS if isinstance(self.kwargs.get(k), str)]
        for key in _COLUMN_LIST_KWARGS:
            if isinstance(self.kwargs.get(key), list):
                cols.extend(self.kwargs[key])
        return f"{self.type}({','.join(cols)})"

    def to_dict(self) -> dict:
        return {"type": self.type, "kwargs": self.kwargs, "meta": self.meta}


@dataclass(frozen=True)
class Suite:
    name: str
    expectations: tuple[Expectation, ...]
    meta: dict = field(default_factory=dict)
    path: Path | None = None
    notes: str | None = None

    @property
    def primary_key(self) -> list[str]:
        pk = self.meta.get("primary_key") or []
        return [pk] if isinstance(pk, str) else list(pk)

    @property
    def columns(self) -> list[str]:
        """Every column the suite references, in first-use order: exactly what the runner fetches."""
        cols: list[str] = []
        for e in self.expectations:
            cols.extend(e.columns)
        return list(dict.fromkeys(cols))

    def check_names(self) -> list[str]:
        """One unique name per expectation (repeated labels get ``#2``, ``#3``...)."""
        seen: dict[str, int] = {}
        names = []
        for e in self.expectations:
            label = e.label
            seen[label] = seen.get(label, 0) + 1
            names.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
        return names

    def to_dict(self) -> dict:
        out = {"name": self.name, "meta": self.meta, "expectations": [e.to_dict() for e in self.expectations]}
        if self.notes:
            out["notes"] = self.notes
        return out

    def fingerprint(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)


_STRING_LITERAL = re.compile(r"""("([^"\\]|\\.)*"|'([^'\\]|\\.)*')""")
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\b(?!\s*\()")
_CONDITION_WORDS = {"and", "or", "not", "in", "is", "true", "false", "none", "null", "like", "between"}


def _row_condition_columns(condition) -> list[str]:
    """Columns named in a pandas/SQL-style ``row_condition`` string (identifiers outside string literals)."""
    if not isinstance(condition, str) or not condition.strip():
        return []
    text = _STRING_LITERAL.sub(" ", condition)
    names = []
    for m in _IDENTIFIER.finditer(text):
        word = m.group(1)
        if word.lower() in _CONDITION_WORDS or keyword.iskeyword(word):
            continue
        names.append(word)
    return names


def parse_suite(data: dict, path: Path | None = None) -> Suite:
    where = str(path) if path else "suite"
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise SuiteError(f"{where}: a suite is a JSON object with a string 'name'")
    raw = data.get("expectations")
    if not isinstance(raw, list):
        raise SuiteError(f"{where}: 'expectations' must be a list")
    exps = []
    for i, e in enumerate(raw):
        if not isinstance(e, dict) or not isinstance(e.get("type"), str):
            raise SuiteError(f"{where}: expectation #{i + 1} needs a string 'type'")
        exps.append(Expectation(e["type"], dict(e.get("kwargs") or {}), dict(e.get("meta") or {})))
    notes = data.get("notes")
    return Suite(name=data["name"], expectations=tuple(exps), meta=dict(data.get("meta") or {}), path=path,
                 notes=notes if isinstance(notes, str) else None)


def suite_path(dataset: str, directory: Path | None = None) -> Path:
    return Path(directory or EXPECTATIONS_DIR) / f"{dataset}.json"


def load_suite(dataset: str, directory: Path | None = None) -> Suite:
    """Load ``<directory>/<dataset>.json`` (default: the project's expectations/)."""
    path = suite_path(dataset, directory)
    try:
        data = json.loads(path.read_text("utf-8"))  # FileNotFoundError propagates: no suite for that dataset
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON: {exc}") from exc
    suite = parse_suite(data, path)
    if suite.name != dataset:
        raise SuiteError(f"{path}: suite name {suite.name!r} differs from the file name {dataset!r}")
    return suite


def suite_files(directory: Path | None = None) -> list[Path]:
    return sorted(Path(directory or EXPECTATIONS_DIR).glob("*.json"))


def load_suites(directory: Path | None = None) -> dict[str, Suite]:
    return {p.stem: load_suite(p.stem, p.parent) for p in suite_files(directory)}


def _parameters(value) -> Iterable[str]:
    if isinstance(value, dict):
        if "$PARAMETER" in value:
            yield str(value["$PARAMETER"])
        for v in value.values():
            yield from _parameters(v)
    elif isinstance(value, list):
        for v in value:
            yield from _parameters(v)


def validate_suite(suite: Suite, columns: Iterable[str] | None = None) -> list[str]:
    """Problems of a suite, empty when it is good to run.

    Checks that every expectation type exists in the installed Great Expectations and its kwargs are
    accepted by it, that each carries a dimension and a boolean ``blocking``, that only runtime parameters
    the runner supplies are used, and (when ``columns`` is given) that every referenced column exists.
    """
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    known = set(list_registered_expectation_implementations())
    errors: list[str] = []
    where = suite.path.name if suite.path else suite.name
    if not suite.expectations:
        errors.append(f"{where}: no expectations")
    pk = suite.meta.get("primary_key")
    if pk is not None and not (isinstance(pk, list) and pk and all(isinstance(c, str) for c in pk)):
        errors.append(f"{where}: meta.primary_key must be a non-empty list of column names")
    available = set(columns) if columns is not None else None
    if available is not None:
        for col in suite.primary_key:
            if col not in available:
                errors.append(f"{where}: primary key column {col!r} does not exist")
    for i, (e, name) in enumerate(zip(suite.expectations, suite.check_names()), start=1):
        at = f"{where} #{i} {name}"
        if e.type not in known:
            errors.append(f"{at}: unknown expectation type {e.type!r} in this Great Expectations version")
            continue
        for prefix, reason in _DISALLOWED.items():
            if e.type.startswith(prefix):
                errors.append(f"{at}: not allowed in a suite ({reason})")
        if e.dimension not in DIMENSIONS:
            errors.append(f"{at}: meta.dimension must be one of {list(DIMENSIONS)}, got {e.dimension!r}")
        if not isinstance(e.meta.get("blocking"), bool):
            errors.append(f"{at}: meta.blocking must be true or false")
        for p in _parameters(e.kwargs):
            if p not in RUNTIME_PARAMETERS:
                errors.append(f"{at}: unknown $PARAMETER {p!r} (the runner supplies {sorted(RUNTIME_PARAMETERS)})")
        try:
            ExpectationConfiguration(type=e.type, kwargs=e.kwargs, meta=e.meta).to_domain_obj()
        except Exception as exc:  # pydantic errors name every bad kwarg
            errors.append(f"{at}: invalid kwargs: {' '.join(str(exc).split())}")
        if available is not None:
            for col in e.columns:
                if col not in available:
                    errors.append(f"{at}: column {col!r} does not exist")
    return errors


# The masked and pseudonymised forms a published personal column may hold (expectations/README.md).
MASKED_FORMS = {
    "person_name": r"^(?:[^*]\*+|\*)$",
    "phone": r"^(?:[0-9]{3}\*{4}[0-9]{4}|0[0-9]{2,3}-\*{6,8}|\*{7,8})$",
    "id_number": r"^[0-9a-f]{64}$",
}

# Share of rows a published location or coordinate is expected to hold (non-blocking): an address that
# names no street, a stop without a surveyed position, is data to improve, not a reason to withhold.
DECLARED_COMPLETENESS = {"street_code": 0.8, "district_code": 0.95, "longitude": 0.95, "latitude": 0.95}


def declared_suite(source) -> Suite:
    """The suite of a dataset declared in the registry (a source published as it is): only what its dbt
    tests cannot say — the share of rows that carry a location or coordinates. Its rules (required,
    unique, value sets, identifiers, codes, bounds) are dbt tests generated from the same declaration.
    Masked and pseudonymised personal columns must hold only their masked form (blocking)."""
    from sudata.dbt_codegen import masking_method
    from sudata.registry import published_columns

    meta = source.publish
    columns = published_columns(source, meta)
    types = {c.staged_name: c.type for c in source.columns}
    expectations = []
    for column in columns:
        kind = types.get(column) if types.get(column) in ("longitude", "latitude") else column
        mostly = DECLARED_COMPLETENESS.get(kind)
        if mostly is None or (column in ("street_code", "district_code") and not (source.located or source.of_type("division_code"))):
            continue
        expectations.append(Expectation("expect_column_values_to_not_be_null", {"column": column, "mostly": mostly},
                                        {"dimension": "completeness", "blocking": False}))
    for c in source.columns:
        method = masking_method(meta.open_type, c.pii, c.grade)
        if c.staged_name in columns and method != "none":
            form = "id_number" if method == "pseudonymise" else c.pii
            expectations.append(Expectation("expect_column_values_to_match_regex",
                                            {"column": c.staged_name, "regex": MASKED_FORMS[form]},
                                            {"dimension": "conformity", "blocking": True}))
    return Suite(name=meta.name, expectations=tuple(expectations),
                 meta={"primary_key": list(meta.primary_key), "open_type": meta.open_type,
                       "declared_in": f"registry/{source.origin}"},
                 notes=f"Declared in registry/{source.origin}: its column rules are the dbt tests of the mart.")
