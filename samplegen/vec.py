"""Column builders: every value a department delivers is built here as an Arrow string array, whole
columns at a time (numpy for the numbers, Arrow compute for the text), so that ten million rows take
minutes rather than hours."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from samplegen import reference as ref

STRING = pa.string()

# --- basics ------------------------------------------------------------------------------------------


def pool(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), type=STRING)


def take(values: pa.Array | Sequence[str], idx: np.ndarray) -> pa.Array:
    if not isinstance(values, pa.Array):
        values = pool(values)
    return values.take(pa.array(np.asarray(idx, dtype=np.int64)))


def cat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of arrays and plain strings (all arrays of the same length)."""
    arrays = [p for p in parts if not isinstance(p, str)]
    if not arrays:
        raise ValueError("cat needs at least one array")
    return pc.binary_join_element_wise(*parts, "")


def weighted(rng: np.random.Generator, n: int, weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def ints(x: np.ndarray | Sequence[int]) -> pa.Array:
    return pc.cast(pa.array(np.asarray(x, dtype=np.int64)), STRING)


def zpad(x: np.ndarray | Sequence[int], width: int) -> pa.Array:
    return pc.utf8_lpad(ints(x), width=width, padding="0")


def fixed(x: np.ndarray, decimals: int) -> pa.Array:
    """Non-negative numbers with exactly ``decimals`` decimals: 12.30, 0.05."""
    scale = 10**decimals
    q = np.round(np.asarray(x, dtype=float) * scale).astype(np.int64)
    if decimals == 0:
        return ints(q)
    return cat(ints(q // scale), ".", zpad(q % scale, decimals))


def where(mask: np.ndarray, a: pa.Array | str, b: pa.Array | str) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


def nulls(n: int) -> pa.Array:
    return pa.nulls(n, type=STRING)


def from_matrix(m: np.ndarray) -> pa.Array:
    """An (n, width) uint8 matrix of ASCII codes → n strings of that width."""
    n, width = m.shape
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(m).tobytes())
    ).cast(STRING)


def patch(values: pa.Array, idx: np.ndarray, fn: Callable[[list], list]) -> pa.Array:
    """Replace the values at ``idx`` by ``fn(old values)`` (a per-value Python step, for the few dirty rows)."""
    idx = np.unique(np.asarray(idx, dtype=np.int64))
    if len(idx) == 0:
        return values
    new = fn(values.take(pa.array(idx)).to_pylist())
    mask = np.zeros(len(values), dtype=bool)
    mask[idx] = True
    return pc.replace_with_mask(values, pa.array(mask), pa.array(new, type=values.type))


# --- dates --------------------------------------------------------------------------------------------

DATE_STYLES = ("iso", "slash", "cn", "compact", "dot")


def ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(d, dtype="datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (
        y.astype(np.int64) + 1970,
        (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
        (d - m.astype("datetime64[D]")).astype(np.int64) + 1,
    )


def date_text(d: np.ndarray, style: str = "iso") -> pa.Array:
    """Dates the ways departments write them: 2026-11-23, 2026/11/23, 2026年11月23日, 20261123, 2026.11.23."""
    y, m, day = ymd(d)
    if style == "iso":
        return cat(ints(y), "-", zpad(m, 2), "-", zpad(day, 2))
    if style == "slash":
        return cat(ints(y), "/", zpad(m, 2), "/", zpad(day, 2))
    if style == "cn":
        return cat(ints(y), "年", ints(m), "月", ints(day), "日")
    if style == "compact":
        return cat(ints(y), zpad(m, 2), zpad(day, 2))
    if style == "dot":
        return cat(ints(y), ".", zpad(m, 2), ".", zpad(day, 2))
    raise ValueError(style)


def day_of_week(d: np.ndarray) -> np.ndarray:
    """0 = Monday."""
    return (np.asarray(d, dtype="datetime64[D]").astype(np.int64) + 3) % 7


# --- people and places --------------------------------------------------------------------------------

_SURNAMES = pool([s for s, _ in ref.SURNAMES])
_SURNAME_W = np.array([w for _, w in ref.SURNAMES])
_GIVEN = pool(list(dict.fromkeys(ref.GIVEN_CHARS)))


def person_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Surname plus one or two given characters: 陆建华, 顾敏, 欧阳晨曦."""
    surname = take(_SURNAMES, weighted(rng, n, _SURNAME_W))
    g1 = take(_GIVEN, rng.integers(0, len(_GIVEN), n))
    g2 = take(_GIVEN, rng.integers(0, len(_GIVEN), n))
    two = rng.random(n) < 0.75
    return cat(surname, g1, where(two, g2, ""))


def mobiles(rng: np.random.Generator, n: int) -> pa.Array:
    prefix = np.array(ref.MOBILE_PREFIXES, dtype=np.int64)[rng.integers(0, len(ref.MOBILE_PREFIXES), n)]
    return ints(prefix * 100_000_000 + rng.integers(0, 100_000_000, n))


# Local exchanges: the county-level cities' numbers start with 5, the urban districts' with 6.
_EXCHANGE = {"320581": 5200, "320582": 5800, "320583": 5700, "320585": 5300}


def landlines(rng: np.random.Generator, district_idx: np.ndarray) -> pa.Array:
    head = np.array([_EXCHANGE.get(d.code, 6000 + 100 * (i % 9)) for i, d in enumerate(ref.DISTRICTS)])
    head = head[np.asarray(district_idx)] + rng.integers(0, 100, len(district_idx))
    return cat("0512-", ints(head * 10_000 + rng.integers(0, 10_000, len(district_idx))))


def phones(rng: np.random.Generator, district_idx: np.ndarray, mobile_share: float) -> pa.Array:
    n = len(district_idx)
    return where(rng.random(n) < mobile_share, mobiles(rng, n), landlines(rng, district_idx))


def pick_streets(rng: np.random.Generator, n: int, streets: ref.Streets, halls_only: bool = False) -> np.ndarray:
    w = streets.weight * (streets.hall if halls_only else 1.0)
    return weighted(rng, n, w)


_ROADS_FLAT = pool([r for d in ref.DISTRICTS for r in d.roads])
_ROAD_START = np.cumsum([0] + [len(d.roads) for d in ref.DISTRICTS])[:-1]
_ROAD_COUNT = np.array([len(d.roads) for d in ref.DISTRICTS])


def roads(rng: np.random.Generator, district_idx: np.ndarray) -> pa.Array:
    district_idx = np.asarray(district_idx)
    k = rng.integers(0, 1 << 30, len(district_idx)) % _ROAD_COUNT[district_idx]
    return take(_ROADS_FLAT, _ROAD_START[district_idx] + k)


def place_prefix(rng: np.random.Generator, street_idx: np.ndarray, streets: ref.Streets) -> pa.Array:
    """'苏州市姑苏区平江街道', '江苏省苏州市…', '昆山市玉山镇', '苏州工业园区金鸡湖街道': always district + street."""
    street_idx = np.asarray(street_idx)
    n = len(street_idx)
    d_idx = streets.district[street_idx]
    dname = take([d.name for d in ref.DISTRICTS], d_idx)
    sname = take(pool(streets.name), street_idx)
    is_sip = np.array([d.code == "320576" for d in ref.DISTRICTS])[d_idx]
    is_city = np.array([d.name.endswith("市") for d in ref.DISTRICTS])[d_idx]
    r = rng.random(n)
    city = where(is_sip, "", "苏州市")
    province = where(r < 0.15, "江苏省", "")
    city = where(is_city & (r > 0.7), "", city)  # "昆山市玉山镇…" without the prefecture
    return cat(province, city, dname, sname)


def addresses(rng: np.random.Generator, street_idx: np.ndarray, streets: ref.Streets, units: bool = True) -> pa.Array:
    """Street addresses such as 苏州市姑苏区平江街道干将东路123号 (sometimes with building and room)."""
    street_idx = np.asarray(street_idx)
    n = len(street_idx)
    head = place_prefix(rng, street_idx, streets)
    road = roads(rng, streets.district[street_idx])
    number = ints(rng.integers(1, 999, n))
    if units:
        kind = rng.random(n)
        building = cat(ints(rng.integers(1, 30, n)), "幢", ints(rng.integers(1, 25, n)), "0", ints(rng.integers(1, 9, n)), "室")
        floor = cat(ints(rng.integers(1, 12, n)), "楼")
        tail = where(kind < 0.35, building, where(kind < 0.5, floor, ""))
        return cat(head, road, number, "号", tail)
    return cat(head, road, number, "号")


def enterprise_names(rng: np.random.Generator, district_idx: np.ndarray, industry: np.ndarray,
                     suffix: pa.Array | str = "有限公司") -> pa.Array:
    """苏州瑞德科技有限公司, 昆山恒泰精密机械有限公司, 华信（苏州）电子有限公司: place, trade name, industry, form."""
    district_idx = np.asarray(district_idx)
    n = len(district_idx)
    trade = trade_names(rng, n)
    # large populations get three-character trade names more often, so that names stay mostly distinct
    chars = pool(list(dict.fromkeys(ref.TRADE_CHARS)))
    third = where(rng.random(n) < min(0.9, n / 20_000), take(chars, rng.integers(0, len(chars), n)), "")
    place = take([("苏州" if d.name.endswith("区") else d.name.removesuffix("市")) for d in ref.DISTRICTS], district_idx)
    sip = np.array([d.code == "320576" for d in ref.DISTRICTS])[district_idx]
    ind = take([i for i, _ in ref.INDUSTRIES], industry)
    plain = cat(where(sip, "苏州工业园区", place), trade, third, ind, suffix)
    bracket = cat(trade, third, "（", place, "）", ind, suffix)
    company = pc.match_substring(suffix, "公司") if isinstance(suffix, pa.Array) else pa.scalar(suffix.endswith("公司"))
    return pc.if_else(pc.and_(pa.array(rng.random(n) >= 0.85), company), bracket, plain)


# --- identifiers -----------------------------------------------------------------------------------------

_ALPHA = np.frombuffer(ref.USCC_ALPHABET.encode(), dtype=np.uint8)
_ALPHA_INDEX = np.full(256, -1, dtype=np.int64)
_ALPHA_INDEX[_ALPHA] = np.arange(len(_ALPHA))
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _ascii(strings: Sequence[str], width: int) -> np.ndarray:
    return np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def uscc_check(m17: np.ndarray) -> np.ndarray:
    """GB 32100 check characters (ASCII codes) for an (n, 17) matrix of ASCII codes."""
    total = (_ALPHA_INDEX[m17] * np.array(ref.USCC_WEIGHTS)).sum(axis=1)
    return _ALPHA[(31 - total % 31) % 31]


def uscc_bodies(rng: np.random.Generator, kinds: Sequence[str], regions: Sequence[str]) -> np.ndarray:
    """(n, 17) ASCII matrix: registration authority + entity type (e.g. '91'), 6-digit region, 9-char organisation code.

    Organisation codes issued since 2015 look like 'MA1XXXXXX'; older ones are GB 11714 codes (8 digits + check)."""
    n = len(kinds)
    m = np.empty((n, 17), dtype=np.uint8)
    m[:, 0:2] = _ascii(kinds, 2)
    m[:, 2:8] = _ascii(regions, 6)
    # new-style codes for most enterprises; public institutions mostly keep their old organisation codes
    new_style = rng.random(n) < np.where(m[:, 0] == ord("9"), 0.7, 0.25)
    m[:, 8] = ord("M")
    m[:, 9] = ord("A")
    m[:, 10:17] = _ALPHA[rng.integers(0, len(_ALPHA), (n, 7))]
    m[:, 10] = _DIGITS[rng.integers(1, 8, n)]
    legacy = _DIGITS[rng.integers(0, 10, (n, 8))]
    c = 11 - ((legacy - 48).astype(np.int64) * np.array(ref.ORG_WEIGHTS)).sum(axis=1) % 11
    check = np.where(c == 10, ord("X"), np.where(c == 11, ord("0"), 48 + c % 10)).astype(np.uint8)
    old = ~new_style
    m[old, 8:16] = legacy[old]
    m[old, 16] = check[old]
    return m


class UsccIssuer:
    """Hands out credit codes that are unique across every source of one generation run."""

    def __init__(self) -> None:
        self._issued = np.empty(0, dtype="S17")

    def issue(self, rng: np.random.Generator, kinds: Sequence[str], regions: Sequence[str]) -> pa.Array:
        kinds = np.asarray(kinds)
        regions = np.asarray(regions)
        m = uscc_bodies(rng, kinds, regions)
        while True:
            keys = m.view("S17").ravel()
            _, first = np.unique(keys, return_index=True)
            dup = np.ones(len(keys), dtype=bool)
            dup[first] = False
            dup |= np.isin(keys, self._issued)
            if not dup.any():
                break
            bad = np.flatnonzero(dup)
            m[bad] = uscc_bodies(rng, kinds[bad], regions[bad])
        self._issued = np.concatenate([self._issued, m.view("S17").ravel()])
        full = np.empty((len(m), 18), dtype=np.uint8)
        full[:, :17] = m
        full[:, 17] = uscc_check(m)
        return from_matrix(full)


def wrong_uscc_check(codes: list) -> list:
    """Same code with a different (wrong) check character."""
    out = []
    for code in codes:
        if not code:
            out.append(code)
            continue
        i = ref.USCC_ALPHABET.index(code[-1])
        out.append(code[:-1] + ref.USCC_ALPHABET[(i + 1 + len(code[:-1]) % 7) % 31])
    return out


def resident_ids(rng: np.random.Generator, birth: np.ndarray) -> pa.Array:
    """GB 11643 numbers: a Suzhou division code in use in the birth year + birth date + sequence + check."""
    birth = np.asarray(birth, dtype="datetime64[D]")
    n = len(birth)
    year, _, _ = ymd(birth)
    divisions = ref.RIC_DIVISIONS
    valid = np.array([[(s <= y <= e) for (_, s, e) in divisions] for y in range(1900, 2100)])[year - 1900]
    weights = valid * np.array([0.3 if code == "320500" else 1.0 for code, _, _ in divisions])
    cum = np.cumsum(weights, axis=1)
    r = rng.random(n) * cum[:, -1]
    div = (cum < r[:, None]).sum(axis=1)
    m = np.empty((n, 18), dtype=np.uint8)
    m[:, 0:6] = _ascii([d for d, _, _ in divisions], 6)[div]
    y, mo, d = ymd(birth)
    for k, value in enumerate((y // 1000, y // 100 % 10, y // 10 % 10, y % 10, mo // 10, mo % 10, d // 10, d % 10)):
        m[:, 6 + k] = 48 + value
    seq = rng.integers(0, 1000, n)
    m[:, 14] = 48 + seq // 100
    m[:, 15] = 48 + seq // 10 % 10
    m[:, 16] = 48 + seq % 10
    total = ((m[:, :17] - 48).astype(np.int64) * np.array(ref.RIC_WEIGHTS)).sum(axis=1)
    m[:, 17] = np.frombuffer(ref.RIC_CHECK.encode(), dtype=np.uint8)[total % 11]
    return from_matrix(m)


def wrong_ric_check(numbers: list) -> list:
    out = []
    for number in numbers:
        if not number:
            out.append(number)
            continue
        i = ref.RIC_CHECK.index(number[-1])
        out.append(number[:-1] + ref.RIC_CHECK[(i + 3) % 11])
    return out


# --- dirt values -----------------------------------------------------------------------------------------

_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)} | {0x20: 0x3000}


def to_fullwidth(values: list) -> list:
    """ＡＢＣ１２３: what an input method in full-width mode types."""
    return [v.translate(_FULLWIDTH) if v else v for v in values]


def stray_spaces(values: list) -> list:
    pads = (" ", "  ", "\u3000")
    return [(f"{pads[i % 3]}{v}" if i % 2 else f"{v}{pads[i % 3]}") if v else v for i, v in enumerate(values)]


def fullwidth_space_inside(values: list) -> list:
    return [(v[:2] + "\u3000" + v[2:]) if v and len(v) > 3 else v for v in values]


def trade_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Two different characters (字号): 瑞德, 恒泰."""
    chars = pool(list(dict.fromkeys(ref.TRADE_CHARS)))
    c = len(chars)
    first = rng.integers(0, c, n)
    second = (first + rng.integers(1, c, n)) % c
    return cat(take(chars, first), take(chars, second))
