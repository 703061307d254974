"""The dirt departments' files really carry, added on purpose, per source, at small deterministic rates.

``DIRT`` is the catalogue (raw/README.md describes it for people); ``apply`` adds a source's dirt to
one file's rows and reports how many rows got each kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from samplegen import reference as ref
from samplegen import vec as v


@dataclass(frozen=True)
class Dirt:
    kind: str
    column: str | None
    rate: float               # share of the file's rows
    param: str = ""           # unit for unit_suffix, date styles for date_format


DIRT: dict[str, tuple[Dirt, ...]] = {
    "enterprise_registrations": (
        Dirt("wrong_check", "uscc", 0.01),
        Dirt("wrong_check", "legal_rep_id_number", 0.01),
        Dirt("fullwidth", "uscc", 0.005),
        Dirt("stray_spaces", "uscc", 0.005),
        Dirt("stray_spaces", "enterprise_name", 0.01),
        Dirt("halfwidth_brackets", "enterprise_name", 0.01),
        Dirt("date_format", "established_date", 0.03, "slash,cn,compact,dot"),
        Dirt("thousands_separator", "registered_capital", 0.02),
        Dirt("unit_suffix", "registered_capital", 0.01, "万"),
        Dirt("missing_required", "enterprise_name", 0.005),
    ),
    "enterprise_changes": (
        Dirt("date_format", "change_date", 0.03, "compact"),
        Dirt("stray_spaces", "value_after", 0.01),
        Dirt("duplicate_rows", None, 0.01),
    ),
    "administrative_licences": (
        Dirt("wrong_check", "uscc", 0.01),
        Dirt("stray_spaces", "holder_name", 0.01),
        Dirt("date_format", "decision_date", 0.03, "slash,cn,compact,dot"),
        Dirt("date_format", "valid_until", 0.03, "slash,cn,compact,dot"),
        Dirt("missing_required", "decision_date", 0.005),
        Dirt("duplicate_rows", None, 0.015),
    ),
    "administrative_penalties": (
        Dirt("wrong_check", "uscc", 0.015),
        Dirt("date_format", "decision_date", 0.03, "cn,dot"),
        Dirt("unit_suffix", "fine_amount", 0.01, "万元"),
        Dirt("missing_required", "uscc", 0.005),
    ),
    "job_postings": (
        Dirt("wrong_check", "uscc", 0.01),
        Dirt("date_format", "posted_date", 0.03, "slash,cn"),
        Dirt("thousands_separator", "salary_min", 0.02),
        Dirt("thousands_separator", "salary_max", 0.02),
        Dirt("missing_required", "job_title", 0.005),
        Dirt("unknown_street", "street_code", 0.005),
        Dirt("duplicate_rows", None, 0.015),
    ),
    "air_quality_hourly": (
        Dirt("duplicate_rows", None, 0.01),
    ),
    "scenic_spots": (
        Dirt("outdated_street", "street_code", 0.02),
        Dirt("price_text", "ticket_price", 0.05),
    ),
    "scenic_visitors_daily": (
        Dirt("thousands_separator", "visitors", 0.03),
        Dirt("date_format", "visit_date", 0.02, "slash"),
    ),
    "service_hall_transactions": (
        Dirt("outdated_street", "street_code", 0.015),
        Dirt("date_format", "service_date", 0.02, "slash"),
    ),
    "medical_institutions": (
        Dirt("outdated_street", "street_code", 0.02),
        Dirt("fullwidth", "phone", 0.01),
        Dirt("stray_spaces", "institution_name", 0.01),
    ),
    "schools": (
        Dirt("fullwidth_space", "school_name", 0.01),
        Dirt("stray_spaces", "school_name", 0.01),
        Dirt("outdated_street", "street_code", 0.01),
        Dirt("unknown_street", "street_code", 0.01),
        Dirt("missing_required", "school_name", 0.005),
    ),
    "bus_stops": (
        Dirt("swapped_coordinates", "longitude", 0.005),
        Dirt("unknown_street", "street_code", 0.005),
        Dirt("ascii_separator", "routes", 0.02),
        Dirt("duplicate_rows", None, 0.01),
    ),
    "public_parking": (
        Dirt("unit_suffix", "spaces", 0.02, "个"),
        Dirt("stray_spaces", "parking_name", 0.01),
        Dirt("missing_required", "parking_name", 0.005),
    ),
    "communities": (
        Dirt("outdated_street", "street_code", 0.02),
        Dirt("thousands_separator", "households", 0.02),
        Dirt("fullwidth", "phone", 0.01),
        Dirt("missing_required", "community_name", 0.005),
    ),
    "elderly_care_facilities": (
        Dirt("wrong_check", "uscc", 0.01),
        Dirt("unit_suffix", "beds", 0.02, "张"),
        Dirt("stray_spaces", "head_name", 0.01),
    ),
}

# Air-quality stations whose metadata still carries a pre-2012 district code (share of stations).
OUTDATED_STATION_RATE = 0.03


def count(rng: np.random.Generator, n: int, rate: float) -> int:
    """How many of n rows get a kind of dirt: rate * n, rounded at random; at least one in files of 30+ rows."""
    x = rate * n
    k = int(x) + (rng.random() < x - int(x))
    if n >= 30:
        k = max(1, k)
    return min(k, n)


def _old_street(codes: list) -> list:
    out = []
    for c in codes:
        if c in ref.GUSU_OLD_DISTRICT:
            out.append(ref.GUSU_OLD_DISTRICT[c] + c[6:])
        else:
            out.append(ref.WUJIANG_OLD_DISTRICT + c[6:])
    return out


def _thousands(values: list) -> list:
    return [f"{int(float(x)):,}" if float(x) == int(float(x)) else f"{float(x):,}" for x in values]


def _price_text(values: list) -> list:
    return ["免费" if int(x) == 0 else f"旺季{int(x)}/淡季{max(0, int(x) - 10)}" for x in values]


def _matches(flags: pa.Array) -> np.ndarray:
    return pc.fill_null(flags, False).to_numpy(zero_copy_only=False)


def _column(t: pa.Table, name: str) -> pa.Array:
    return t[name].combine_chunks()


def _set(t: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return t.set_column(t.schema.get_field_index(name), name, values)


def apply(source: str, t: pa.Table, rng: np.random.Generator, dates: np.ndarray | None = None) -> tuple[pa.Table, dict[str, int]]:
    """Add the catalogued dirt of ``source`` to one file's rows. Each kind hits distinct rows of its column."""
    counts: dict[str, int] = {}
    n = t.num_rows
    touched: dict[str, np.ndarray] = {}
    # each patch function below runs at once, inside its own iteration: the loop variables it reads are current
    for dirt in DIRT.get(source, ()):
        if dirt.kind == "duplicate_rows":
            continue
        col = dirt.column
        free = ~touched.setdefault(col, np.zeros(n, dtype=bool))
        values = _column(t, col)
        valid = pc.is_valid(values).to_numpy(zero_copy_only=False)
        eligible = free & valid
        if dirt.kind == "outdated_street":
            text = np.asarray(values.to_pylist(), dtype=object)
            eligible &= np.array([bool(c) and (c in ref.GUSU_OLD_DISTRICT or c.startswith("320509")) for c in text])
        elif dirt.kind == "thousands_separator":
            number = pc.cast(values, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
            eligible &= np.nan_to_num(number) >= 1000
        elif dirt.kind == "halfwidth_brackets":
            eligible &= _matches(pc.match_substring(values, "（"))
        elif dirt.kind == "ascii_separator":
            eligible &= _matches(pc.match_substring(values, "、"))
        elif dirt.kind == "date_format":
            eligible &= _matches(pc.match_substring_regex(values, r"^\d{4}-\d{2}-\d{2}$"))
        candidates = np.flatnonzero(eligible)
        k = min(count(rng, n, dirt.rate), len(candidates))
        if k == 0:
            continue
        idx = np.sort(rng.choice(candidates, size=k, replace=False))
        touched[col][idx] = True
        key = f"{dirt.kind}:{col}"
        counts[key] = counts.get(key, 0) + k
        if dirt.kind == "wrong_check":
            fn = v.wrong_ric_check if col == "legal_rep_id_number" else v.wrong_uscc_check
            t = _set(t, col, v.patch(values, idx, fn))
        elif dirt.kind == "fullwidth":
            t = _set(t, col, v.patch(values, idx, v.to_fullwidth))
        elif dirt.kind == "stray_spaces":
            t = _set(t, col, v.patch(values, idx, v.stray_spaces))
        elif dirt.kind == "fullwidth_space":
            t = _set(t, col, v.patch(values, idx, v.fullwidth_space_inside))
        elif dirt.kind == "halfwidth_brackets":
            t = _set(t, col, v.patch(values, idx, lambda xs: [x.replace("（", "(").replace("）", ")") for x in xs]))
        elif dirt.kind == "date_format":
            styles = dirt.param.split(",")
            chosen = rng.integers(0, len(styles), k)
            iso = np.array(values.take(pa.array(idx)).to_pylist(), dtype="datetime64[D]")
            alt = [v.date_text(iso, s) for s in styles]
            new = pc.choose(pa.array(chosen), *alt)
            t = _set(t, col, v.patch(values, idx, lambda _: new.to_pylist()))  # noqa: B023
        elif dirt.kind == "thousands_separator":
            t = _set(t, col, v.patch(values, idx, _thousands))
        elif dirt.kind == "unit_suffix":
            t = _set(t, col, v.patch(values, idx, lambda xs: [f"{x}{dirt.param}" for x in xs]))  # noqa: B023
        elif dirt.kind == "missing_required":
            t = _set(t, col, v.patch(values, idx, lambda xs: [None] * len(xs)))
        elif dirt.kind == "outdated_street":
            t = _set(t, col, v.patch(values, idx, _old_street))
        elif dirt.kind == "unknown_street":
            t = _set(t, col, v.patch(values, idx, lambda xs: [ref.UNKNOWN_STREET_CODES[i % 3] for i in range(len(xs))]))
        elif dirt.kind == "swapped_coordinates":
            lon, lat = values, _column(t, "latitude")
            t = _set(t, "longitude", v.patch(lon, idx, lambda _: lat.take(pa.array(idx)).to_pylist()))  # noqa: B023
            t = _set(t, "latitude", v.patch(lat, idx, lambda _: lon.take(pa.array(idx)).to_pylist()))  # noqa: B023
        elif dirt.kind == "ascii_separator":
            t = _set(t, col, v.patch(values, idx, lambda xs: [x.replace("、", ",") for x in xs]))
        elif dirt.kind == "price_text":
            t = _set(t, col, v.patch(values, idx, _price_text))
        else:
            raise ValueError(f"unknown dirt kind {dirt.kind!r}")
    for dirt in DIRT.get(source, ()):
        if dirt.kind == "duplicate_rows":
            k = count(rng, n, dirt.rate)
            if k:
                dup = rng.choice(n, size=k, replace=False)
                order = np.sort(np.concatenate([np.arange(n), dup]), kind="stable")
                t = t.take(pa.array(order))          # a duplicate follows its original
                counts["duplicate_rows"] = counts.get("duplicate_rows", 0) + k
    return t, counts
