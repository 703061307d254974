"""What each department delivers, before any dirt: one builder per registered source.

Master-data builders make entities (``make``); ``Master`` turns them into a full snapshot on
the first drop date and deltas (new + corrected records) afterwards. Event builders make one drop
date's events, pointing at the master populations as they stand on that date.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from samplegen import reference as ref
from samplegen import vec as v

MASTER_NEW_RATE = 0.01    # new records per later drop, relative to the first snapshot
MASTER_CORR_RATE = 0.01   # corrected records per later drop


@dataclass
class Ctx:
    seed: int
    dates: list[date]
    streets: ref.Streets = field(default_factory=ref.load_streets)
    issuer: v.UsccIssuer = field(default_factory=v.UsccIssuer)

    def __post_init__(self) -> None:
        self.street_codes = v.pool(self.streets.code)
        self.street_names = v.pool(self.streets.name)
        self.short_names = v.pool([short_name(s) for s in self.streets.name])

    def rng(self, *key: object) -> np.random.Generator:
        parts = [zlib.crc32(str(k).encode()) for k in key]
        return np.random.default_rng([self.seed, *parts])

    def day(self, d: int) -> np.datetime64:
        return np.datetime64(self.dates[d], "D")


def short_name(street: str) -> str:
    """平江街道 → 平江, 木渎镇 → 木渎, 科技城（东渚街道） → 科技城."""
    return street.split("（")[0].removesuffix("街道").removesuffix("镇") or street


def district_field(attr: str, district_idx: np.ndarray) -> pa.Array:
    return v.take([getattr(d, attr) for d in ref.DISTRICTS], district_idx)


def table(columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    return pa.table({k: (c if isinstance(c, (pa.Array, pa.ChunkedArray)) else pa.array(c)) for k, c in columns.items()})


def hidden(t: pa.Table, name: str) -> np.ndarray:
    return t[name].to_numpy()


# --- master data: snapshot, then deltas ----------------------------------------------------------------


@dataclass
class Master:
    """A master-data population over the drop dates.

    ``make(ctx, rng, n)`` builds n entities; ``fix(ctx, rng, old)`` returns corrected versions of the
    rows ``old`` (same primary key, some values changed: a correction arriving on a later date).
    """

    source: str
    make: Callable[..., pa.Table]
    fix: Callable[[Ctx, np.random.Generator, pa.Table], pa.Table]
    on_new: Callable[[pa.Table, date], pa.Table] | None = None

    def run(self, ctx: Ctx, n0: int) -> tuple[list[pa.Table], list[pa.Table], list[int]]:
        """Returns (drops per date, population state per date, existing count per date)."""
        days = len(ctx.dates)
        n_new = max(1, round(n0 * MASTER_NEW_RATE))
        n_corr = max(1, round(n0 * MASTER_CORR_RATE))
        current = self.make(ctx, ctx.rng(self.source, "population"), n0 + n_new * (days - 1))
        drops = [current.slice(0, n0)]
        states = [current]
        exists = [n0]
        for d in range(1, days):
            rng = ctx.rng(self.source, "delta", d)
            before = exists[-1]
            if self.on_new is not None:
                new = self.on_new(current.slice(before, n_new), ctx.dates[d])
                current = replace_rows(current, np.arange(before, before + n_new), new)
            idx = np.sort(rng.choice(before, size=min(n_corr, before), replace=False))
            corrected = self.fix(ctx, rng, current.take(pa.array(idx)))
            current = replace_rows(current, idx, corrected)
            drops.append(pa.concat_tables([corrected, current.slice(before, n_new)]))
            states.append(current)
            exists.append(before + n_new)
        return drops, states, exists


def correct(rng: np.random.Generator, old: pa.Table, options: list[dict[str, pa.Array | np.ndarray]]) -> pa.Table:
    """Each row gets one of the alternative corrections (column -> new values for every row); a row whose chosen
    alternative happens to repeat the old values gets the next one, so that a correction always changes something."""
    n = old.num_rows
    choice = rng.integers(0, len(options), n)
    pending = np.ones(n, dtype=bool)
    t = old
    for attempt in range(len(options)):
        for j, option in enumerate(options):
            rows = pending & ((choice + attempt) % len(options) == j)
            if not rows.any():
                continue
            changed = np.zeros(n, dtype=bool)
            for name, values in option.items():
                values = (values if isinstance(values, pa.Array) else pa.array(values)).cast(t[name].type)
                current = t[name].combine_chunks()
                differs = pc.fill_null(pc.not_equal(values, current), True).to_numpy(zero_copy_only=False)
                changed |= rows & differs
                t = t.set_column(t.schema.get_field_index(name), name, pc.if_else(pa.array(rows), values, current))
            pending &= ~changed
        if not pending.any():
            break
    return t


def scaled(rng: np.random.Generator, values: pa.Array | pa.ChunkedArray, lo: float, hi: float) -> pa.Array:
    """Integer text scaled by a random factor (a corrected count); empty stays empty."""
    x = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
    new = np.round(np.nan_to_num(x) * rng.uniform(lo, hi, len(x))).astype(np.int64)
    return v.where(np.isnan(x), v.nulls(len(x)), v.ints(new))


def replace_rows(t: pa.Table, idx: np.ndarray, rows: pa.Table) -> pa.Table:
    """Rows ``idx`` (sorted) of ``t`` replaced by ``rows`` (same schema, same order)."""
    mask = np.zeros(t.num_rows, dtype=bool)
    mask[idx] = True
    m = pa.array(mask)
    cols = []
    for name in t.column_names:
        col = t[name].combine_chunks()
        new = rows[name].combine_chunks()
        if pa.types.is_null(col.type):
            cols.append(col)
            continue
        cols.append(pc.replace_with_mask(col, m, new.cast(col.type)))
    return pa.table(cols, names=t.column_names)


def iso(d: np.ndarray) -> pa.Array:
    return v.date_text(d, "iso")


def random_dates(rng: np.random.Generator, n: int, first: str, last: np.datetime64, skew: float = 1.0) -> np.ndarray:
    lo = np.datetime64(first, "D")
    span = int((np.datetime64(last, "D") - lo).astype(int))
    return lo + (rng.beta(skew, 1.0, n) * span).astype(np.int64)


# --- market regulation: enterprises --------------------------------------------------------------------

CAPITALS = np.array([3, 10, 30, 50, 100, 200, 300, 500, 800, 1000, 2000, 3000, 5000, 10000, 20000, 50000])
CAPITAL_W = np.array([2, 10, 8, 14, 20, 12, 7, 10, 3, 7, 3, 1.5, 1.2, 0.8, 0.3, 0.2])


def make_enterprises(ctx: Ctx, rng: np.random.Generator, n: int, streets: np.ndarray | None = None) -> pa.Table:
    s = ctx.streets
    sidx = v.pick_streets(rng, n, s) if streets is None else np.asarray(streets)
    didx = s.district[sidx]
    industry = rng.integers(0, len(ref.INDUSTRIES), n)
    uscc = ctx.issuer.issue(rng, np.full(n, "91"), np.array([d.uscc_region for d in ref.DISTRICTS])[didx])
    capital = CAPITALS[v.weighted(rng, n, CAPITAL_W)].astype(float)
    odd = rng.random(n) < 0.08
    capital = np.where(odd, np.round(capital * rng.uniform(0.3, 3.0, n), 1), capital)
    birth = random_dates(rng, n, "1958-01-01", np.datetime64("2000-12-31"), 1.6)
    established = random_dates(rng, n, "1995-01-01", ctx.day(0) - 1, 2.2)
    established = np.maximum(established, birth + 365 * 20 + 5)   # legal representatives are adults
    etype = v.weighted(rng, n, [w for _, w in ref.ENTERPRISE_TYPES])
    form = np.array([_legal_form(t) for t, _ in ref.ENTERPRISE_TYPES])[etype]
    authority = v.where(rng.random(n) < 0.1, "苏州市市场监督管理局", district_field("market", didx))
    return table({
        "uscc": uscc,
        "enterprise_name": v.enterprise_names(rng, didx, industry, v.pool(form)),
        "enterprise_type": v.take([t for t, _ in ref.ENTERPRISE_TYPES], etype),
        "legal_representative": v.person_names(rng, n),
        "legal_rep_id_number": v.resident_ids(rng, birth),
        "registered_capital": _capital_text(capital),
        "established_date": iso(established),
        "status": v.take([t for t, _ in ref.ENTERPRISE_STATUS], v.weighted(rng, n, [w for _, w in ref.ENTERPRISE_STATUS])),
        "address": v.addresses(rng, sidx, s),
        "business_scope": v.take([sc for _, sc in ref.INDUSTRIES], industry),
        "contact_phone": v.phones(rng, didx, 0.75),
        "registration_authority": authority,
        "_street": sidx,
        "_industry": industry,
        "_form": form,
        "_capital": capital,
    })


def _legal_form(enterprise_type: str) -> str:
    if "股份有限公司" in enterprise_type:
        return "股份有限公司"
    if enterprise_type == "个人独资企业":
        return "经营部"
    if enterprise_type == "有限合伙企业":
        return "合伙企业（有限合伙）"
    return "有限公司"


def _capital_text(capital: np.ndarray) -> pa.Array:
    whole = np.equal(np.mod(capital, 1), 0)
    return v.where(whole, v.ints(capital.astype(np.int64)), v.fixed(capital, 1))


def enterprises_new(t: pa.Table, day: date) -> pa.Table:
    n = t.num_rows
    t = t.set_column(t.schema.get_field_index("established_date"), "established_date",
                     iso(np.full(n, np.datetime64(day, "D"))))
    return t.set_column(t.schema.get_field_index("status"), "status", pa.array(["存续（在营、开业、在册）"] * n))


def fix_enterprises(ctx: Ctx, rng: np.random.Generator, old: pa.Table) -> pa.Table:
    f = make_enterprises(ctx, rng, old.num_rows, hidden(old, "_street"))
    return correct(rng, old, [
        {"contact_phone": f["contact_phone"]}, {"address": f["address"]},
        {"registered_capital": f["registered_capital"], "_capital": f["_capital"]}, {"status": f["status"]},
        {"legal_representative": f["legal_representative"], "legal_rep_id_number": f["legal_rep_id_number"]},
        {"business_scope": f["business_scope"]},
    ])


ENTERPRISES = Master("enterprise_registrations", make_enterprises, fix_enterprises, on_new=enterprises_new)

CHANGE_ITEMS = (
    ("住所变更", 20), ("法定代表人变更", 12), ("注册资本变更", 10), ("经营范围变更", 18), ("名称变更", 5),
    ("投资人（股权）变更", 15), ("章程备案", 10), ("高级管理人员备案", 8), ("联络员备案", 6),
)


def pick_existing(rng: np.random.Generator, n: int, exists: int) -> np.ndarray:
    return rng.integers(0, exists, n)


def enterprise_changes(ctx: Ctx, d: int, n: int, ent: pa.Table, exists: int) -> pa.Table:
    rng = ctx.rng("enterprise_changes", d)
    k = len(CHANGE_ITEMS)
    draw = int(n * 1.3) + 10
    pairs = pick_existing(rng, draw, exists) * k + v.weighted(rng, draw, [w for _, w in CHANGE_ITEMS])
    _, first = np.unique(pairs, return_index=True)
    pairs = pairs[np.sort(first)][:n]  # (enterprise, item) pairs are unique within a day: primary key
    e, item = pairs // k, pairs % k
    n = len(pairs)
    rows = ent.take(pa.array(e))
    sidx = hidden(rows, "_street")
    didx = ctx.streets.district[sidx]
    other = v.pick_streets(rng, n, ctx.streets)
    new_street = np.where(ctx.streets.district[other] == didx, other, sidx)   # moves stay in the district
    capital = hidden(rows, "_capital")
    factor = np.array([0.5, 2, 2, 3, 5, 10])[rng.integers(0, 6, n)]
    names_a = v.person_names(rng, n)
    names_b = v.person_names(rng, n)
    names_c = v.person_names(rng, n)
    extra = v.take(["；货物进出口", "；技术进出口", "；会议及展览服务", "；专业设计服务", "；信息咨询服务（不含许可类信息咨询服务）"],
                   rng.integers(0, 5, n))
    cap_before = v.cat(_capital_text(capital), "万元人民币")
    cap_after = v.cat(_capital_text(np.round(capital * factor, 1)), "万元人民币")
    managers_before = v.cat("执行董事：", rows["legal_representative"].combine_chunks(), "；监事：", names_a)
    managers_after = v.cat("执行董事：", rows["legal_representative"].combine_chunks(), "；监事：", names_b)
    empty = v.nulls(n)
    before = [
        rows["address"].combine_chunks(), rows["legal_representative"].combine_chunks(), cap_before,
        rows["business_scope"].combine_chunks(), rows["enterprise_name"].combine_chunks(),
        v.cat(rows["legal_representative"].combine_chunks(), "、", names_a), empty, managers_before, names_b,
    ]
    after = [
        v.addresses(rng, new_street, ctx.streets), names_c, cap_after,
        v.cat(rows["business_scope"].combine_chunks(), extra),
        v.enterprise_names(rng, didx, hidden(rows, "_industry"), rows["_form"].combine_chunks()),
        v.cat(rows["legal_representative"].combine_chunks(), "、", names_c), empty, managers_after, names_c,
    ]
    item_idx = pa.array(item)
    return table({
        "uscc": rows["uscc"].combine_chunks(),
        "change_item": v.take([c for c, _ in CHANGE_ITEMS], item),
        "value_before": pc.choose(item_idx, *before),
        "value_after": pc.choose(item_idx, *after),
        "change_date": iso(np.full(n, ctx.day(d))),
    })


# --- credit office: licences and penalties --------------------------------------------------------------


def administrative_licences(ctx: Ctx, d: int, n: int, ent: pa.Table, exists: int, first_seq: int) -> pa.Table:
    rng = ctx.rng("administrative_licences", d)
    e = pick_existing(rng, n, exists)
    rows = ent.take(pa.array(e))
    didx = ctx.streets.district[hidden(rows, "_street")]
    kind = v.weighted(rng, n, [w for *_, w, _ in ref.LICENCES])
    name = v.take([x[0] for x in ref.LICENCES], kind)
    seq = first_seq + np.cumsum(rng.integers(1, 4, n))
    day = ctx.day(d)
    year = str(ctx.dates[d].year)
    food = np.array([x[0] == "食品经营许可证" for x in ref.LICENCES])[kind]
    jy = v.cat("JY", v.where(kind == 1, "2", "1"), district_field("code", didx), v.zpad(seq % 1_000_000, 6),
               v.ints(rng.integers(0, 10, n)))
    doc = v.cat(district_field("abbr", didx), "审批许〔", year, "〕", v.ints(seq), "号")
    years = np.array([x[3] for x in ref.LICENCES])[kind]
    until = day + (years * 365.25).astype(np.int64) - 1
    market_kinds = np.array([x[0] in ("食品经营许可证", "药品经营许可证", "第二类医疗器械经营备案凭证") for x in ref.LICENCES])[kind]
    authority = v.where(market_kinds, district_field("market", didx), district_field("approval", didx))
    authority = v.where(np.array([x[0] == "排污许可证" for x in ref.LICENCES])[kind], "苏州市生态环境局", authority)
    return table({
        "licence_number": v.where(food, jy, doc),
        "licence_name": name,
        "holder_name": rows["enterprise_name"].combine_chunks(),
        "uscc": rows["uscc"].combine_chunks(),
        "legal_representative": rows["legal_representative"].combine_chunks(),
        "licence_content": v.take([x[1] for x in ref.LICENCES], kind),
        "decision_date": iso(np.full(n, day)),
        "valid_until": v.where(years == 0, "长期", iso(until)),
        "authority": authority,
        "_seq": seq,
    })


def correct_licences(ctx: Ctx, d: int, previous: pa.Table) -> pa.Table:
    """A few of yesterday's licences sent again with a corrected validity or content."""
    rng = ctx.rng("administrative_licences", "corrections", d)
    k = max(1, round(previous.num_rows * 0.01))
    idx = np.sort(rng.choice(previous.num_rows, size=min(k, previous.num_rows), replace=False))
    rows = previous.take(pa.array(idx))
    n = rows.num_rows
    until = rows["valid_until"].combine_chunks()
    dated = pc.fill_null(pc.match_substring_regex(until, r"^\d{4}-"), False).to_numpy(zero_copy_only=False)
    fix_date = dated & (rng.random(n) < 0.6)
    shifted = np.array([x if x and x[0].isdigit() else "2000-01-01" for x in until.to_pylist()], dtype="datetime64[D]") + 365
    rows = rows.set_column(rows.schema.get_field_index("valid_until"), "valid_until", v.where(fix_date, iso(shifted), until))
    content = v.where(fix_date, rows["licence_content"].combine_chunks(), v.cat(rows["licence_content"].combine_chunks(), "（更正）"))
    return rows.set_column(rows.schema.get_field_index("licence_content"), "licence_content", content)


def administrative_penalties(ctx: Ctx, d: int, n: int, ent: pa.Table, exists: int, first_seq: int) -> pa.Table:
    rng = ctx.rng("administrative_penalties", d)
    e = pick_existing(rng, n, exists)
    rows = ent.take(pa.array(e))
    didx = ctx.streets.district[hidden(rows, "_street")]
    kind = v.weighted(rng, n, [x[3] for x in ref.VIOLATIONS])
    typical = np.array([x[2] for x in ref.VIOLATIONS])[kind]
    fine = np.maximum(0.01, np.round(typical * rng.lognormal(0, 0.6, n), 2))
    warning_only = (rng.random(n) < 0.08) & (typical < 1)
    confiscate = rng.random(n) < 0.15
    seq = first_seq + np.cumsum(rng.integers(1, 3, n))
    year = str(ctx.dates[d].year)
    akind = [x[1] for x in ref.VIOLATIONS]
    market = np.array([k == "market" for k in akind])[kind]
    other_name = v.take([ref.PENALTY_AUTHORITIES.get(k, ("", ""))[0] for k in akind], kind)
    other_prefix = v.take([ref.PENALTY_AUTHORITIES.get(k, ("", ""))[1] for k in akind], kind)
    number = v.where(market, v.cat(district_field("abbr", didx), "市监罚〔", year, "〕", v.ints(seq), "号"),
                     v.cat(other_prefix, "〔", year, "〕", v.ints(seq), "号"))
    fine_text = v.fixed(fine, 2)
    content = v.cat("罚款人民币", fine_text, "万元")
    content = v.where(rng.random(n) < 0.3, v.cat("警告；", content), content)
    content = v.where(confiscate, v.cat(content, "，没收违法所得", v.ints(rng.integers(200, 50000, n)), "元"), content)
    content = v.where(warning_only, "警告", content)
    return table({
        "penalty_number": number,
        "party_name": rows["enterprise_name"].combine_chunks(),
        "uscc": rows["uscc"].combine_chunks(),
        "legal_representative": rows["legal_representative"].combine_chunks(),
        "violation_type": v.take([x[0] for x in ref.VIOLATIONS], kind),
        "penalty_content": content,
        "fine_amount": v.where(warning_only, v.nulls(n), fine_text),
        "decision_date": iso(np.full(n, ctx.day(d))),
        "authority": v.where(market, district_field("market", didx), other_name),
        "_seq": seq,
    })


# --- human resources: job postings -----------------------------------------------------------------------

EDUCATION = ("不限", "初中", "高中/中专", "大专", "本科", "硕士")


def job_postings(ctx: Ctx, d: int, n: int, ent: pa.Table, exists: int) -> pa.Table:
    rng = ctx.rng("job_postings", d)
    rows = ent.take(pa.array(pick_existing(rng, n, exists)))
    sidx = hidden(rows, "_street")
    moved = rng.random(n) < 0.2           # branch sites: another street of the same district
    other = v.pick_streets(rng, n, ctx.streets)
    same_district = ctx.streets.district[other] == ctx.streets.district[sidx]
    wsidx = np.where(moved & same_district, other, sidx)
    didx = ctx.streets.district[wsidx]
    title = rng.integers(0, len(ref.JOB_TITLES), n)
    lo = np.array([t[1] for t in ref.JOB_TITLES])[title]
    hi = np.array([t[2] for t in ref.JOB_TITLES])[title]
    smin = np.round(lo * rng.uniform(0.9, 1.15, n) / 500) * 500
    smax = np.maximum(smin + 500, np.round(hi * rng.uniform(0.9, 1.2, n) / 500) * 500)
    edu_min = np.array([EDUCATION.index(t[3]) for t in ref.JOB_TITLES])[title]
    edu = np.minimum(len(EDUCATION) - 1, edu_min + (rng.random(n) < 0.15))
    width = max(6, len(str(n)))
    stamp = ctx.dates[d].strftime("%Y%m%d")
    address = v.where(moved & same_district, v.addresses(rng, wsidx, ctx.streets, units=False), rows["address"].combine_chunks())
    return table({
        "posting_id": v.cat("GW", stamp, v.zpad(np.arange(1, n + 1), width)),
        "employer_name": rows["enterprise_name"].combine_chunks(),
        "uscc": v.where(rng.random(n) < 0.05, v.nulls(n), rows["uscc"].combine_chunks()),
        "job_title": v.take([t[0] for t in ref.JOB_TITLES], title),
        "openings": v.ints(np.minimum(50, rng.geometric(0.3, n))),
        "salary_min": v.ints(smin.astype(np.int64)),
        "salary_max": v.ints(smax.astype(np.int64)),
        "education_required": v.take(EDUCATION, edu),
        "work_address": address,
        "street_code": v.take(ctx.street_codes, wsidx),
        "contact_name": v.person_names(rng, n),
        "contact_phone": v.phones(rng, didx, 0.85),
        "posted_date": iso(np.full(n, ctx.day(d))),
        "_street": wsidx,
    })


def correct_postings(ctx: Ctx, d: int, previous: pa.Table) -> pa.Table:
    """Some of yesterday's postings again, with a raised salary or changed number of openings."""
    rng = ctx.rng("job_postings", "corrections", d)
    k = min(previous.num_rows, max(1, round(previous.num_rows * 0.01)))
    rows = previous.take(pa.array(np.sort(rng.choice(previous.num_rows, size=k, replace=False))))
    smax = pc.cast(rows["salary_max"], pa.int64()).to_numpy() + 500 * rng.integers(1, 4, k)
    rows = rows.set_column(rows.schema.get_field_index("salary_max"), "salary_max", v.ints(smax))
    openings = v.ints(rng.integers(1, 20, k))
    return rows.set_column(rows.schema.get_field_index("openings"), "openings", openings)


# --- health commission: medical institutions --------------------------------------------------------------


def make_medical(ctx: Ctx, rng: np.random.Generator, n: int) -> pa.Table:
    s = ctx.streets
    code_index = {c: i for i, c in enumerate(s.code)}
    n_hosp = min(len(ref.HOSPITALS), n // 8)
    halls = np.flatnonzero(s.hall)
    n_centre = min(len(halls), (n - n_hosp) // 3)
    n_other = n - n_hosp - n_centre
    sidx = np.concatenate([
        [code_index[h[3]] for h in ref.HOSPITALS[:n_hosp]],
        halls[rng.permutation(len(halls))[:n_centre]],
        v.pick_streets(rng, n_other, s),
    ]).astype(np.int64)
    didx = s.district[sidx]
    kind = np.concatenate([np.zeros(n_hosp, int), np.ones(n_centre, int), np.full(n_other, 2)])
    town = np.char.endswith(s.name[sidx].astype(str), "镇")
    other_cat = rng.integers(0, len(ref.MEDICAL_CATEGORIES), n)
    cat_other = v.take(ref.MEDICAL_CATEGORIES, other_cat)
    trade2 = v.trade_names(rng, n)
    person = v.person_names(rng, n)
    other_name = pc.choose(pa.array(other_cat),
                           v.cat(person, "诊所"), v.cat("苏州", trade2, "门诊部"),
                           v.cat(ctx.short_names.take(pa.array(sidx)),
                                 v.take(ref.COMMUNITY_WORDS, rng.integers(0, len(ref.COMMUNITY_WORDS), n)), "社区卫生服务站"),
                           v.cat("苏州", trade2, "口腔门诊部"), v.cat(person, "中医诊所"), v.cat("苏州", trade2, "专科医院"))
    centre_name = v.cat(district_prefix(didx), ctx.street_names.take(pa.array(sidx)), v.where(town, "卫生院", "社区卫生服务中心"))
    hosp = list(ref.HOSPITALS[:n_hosp]) + [("", "", "", "", "", 0)] * (n - n_hosp)
    hosp_name = v.pool([h[0] for h in hosp])
    names = pc.choose(pa.array(kind), hosp_name, centre_name, other_name)
    category = pc.choose(pa.array(kind), v.pool([h[1] for h in hosp]), v.where(town, "乡镇卫生院", "社区卫生服务中心"), cat_other)
    level_other = v.where(other_cat == 5, v.take(["二级", "未定级"], rng.integers(0, 2, n)), "未定级")
    level = pc.choose(pa.array(kind), v.pool([h[2] for h in hosp]), v.take(["一级甲等", "一级", "未定级"], rng.integers(0, 3, n)), level_other)
    beds_other = np.where(other_cat == 5, rng.integers(50, 300, n), np.where(other_cat == 1, rng.integers(0, 10, n), 0))
    beds = np.where(kind == 0, [h[5] for h in hosp], np.where(kind == 1, rng.integers(20, 150, n), beds_other))
    beds_text = v.where((kind == 2) & (beds == 0) & (rng.random(n) < 0.5), v.nulls(n), v.ints(beds))
    real_addr = v.cat(v.place_prefix(rng, sidx, s), v.pool([h[4] for h in hosp]))
    address = v.where(kind == 0, real_addr, v.addresses(rng, sidx, s, units=False))
    public = kind < 2
    ukind = np.where(public, "12", np.where(rng.random(n) < 0.4, "52", "91"))
    return table({
        "uscc": ctx.issuer.issue(rng, ukind, np.array([d.code for d in ref.DISTRICTS])[didx]),
        "institution_name": names,
        "category": category,
        "level": level,
        "address": address,
        "street_code": v.take(ctx.street_codes, sidx),
        "beds": beds_text,
        "phone": v.where(public, v.landlines(rng, didx), v.phones(rng, didx, 0.5)),
        "head_name": v.person_names(rng, n),
        "_street": sidx,
    })


def fix_medical(ctx: Ctx, rng: np.random.Generator, old: pa.Table) -> pa.Table:
    n = old.num_rows
    didx = ctx.streets.district[hidden(old, "_street")]
    return correct(rng, old, [
        {"phone": v.landlines(rng, didx)}, {"beds": scaled(rng, old["beds"], 1.0, 1.2)},
        {"head_name": v.person_names(rng, n), "phone": v.phones(rng, didx, 0.5)},
    ])


MEDICAL = Master("medical_institutions", make_medical, fix_medical)


# --- education: schools ----------------------------------------------------------------------------------


def district_prefix(didx: np.ndarray) -> pa.Array:
    return v.take([("苏州市" + d.name) if d.name.endswith("区") and d.code != "320576" else d.name for d in ref.DISTRICTS], didx)


def make_schools(ctx: Ctx, rng: np.random.Generator, n: int) -> pa.Table:
    s = ctx.streets
    sidx = v.pick_streets(rng, n, s)
    didx = s.district[sidx]
    kind = v.weighted(rng, n, [t[2] for t in ref.SCHOOL_TYPES])
    lo = np.array([t[3] for t in ref.SCHOOL_TYPES])[kind]
    hi = np.array([t[4] for t in ref.SCHOOL_TYPES])[kind]
    students = (lo + rng.random(n) * (hi - lo)).astype(np.int64)
    ratio = np.array([15, 17, 12, 14, 11, 12, 18, 4])[kind]
    teachers = np.maximum(3, np.round(students / ratio * rng.uniform(0.85, 1.15, n))).astype(np.int64)
    private = rng.random(n) < np.where(kind == 0, 0.35, 0.08)
    operator = v.where(private, "民办", v.take(["教育部门", "其他部门", "地方企业"], v.weighted(rng, n, [88, 7, 5])))
    code = rng.choice(1_000_000, size=n, replace=False) if n < 500_000 else rng.permutation(1_000_000)[:n]
    name = v.cat(district_prefix(didx), ctx.short_names.take(pa.array(sidx)),
                 v.take(ref.SCHOOL_WORDS, rng.integers(0, len(ref.SCHOOL_WORDS), n)), v.take([t[1] for t in ref.SCHOOL_TYPES], kind))
    return table({
        "school_code": v.cat("2132", v.zpad(code, 6)),
        "school_name": name,
        "school_type": v.take([t[0] for t in ref.SCHOOL_TYPES], kind),
        "operator_type": operator,
        "address": v.addresses(rng, sidx, s, units=False),
        "street_code": v.take(ctx.street_codes, sidx),
        "students": v.ints(students),
        "teachers": v.ints(teachers),
        "phone": v.landlines(rng, didx),
        "principal_name": v.person_names(rng, n),
        "_street": sidx,
    })


def fix_schools(ctx: Ctx, rng: np.random.Generator, old: pa.Table) -> pa.Table:
    n = old.num_rows
    sidx = hidden(old, "_street")
    return correct(rng, old, [
        {"students": scaled(rng, old["students"], 0.95, 1.08), "teachers": scaled(rng, old["teachers"], 0.97, 1.06)},
        {"phone": v.landlines(rng, ctx.streets.district[sidx])}, {"principal_name": v.person_names(rng, n)},
        {"address": v.addresses(rng, sidx, ctx.streets, units=False)},
    ])


SCHOOLS = Master("schools", make_schools, fix_schools)


# --- transport: bus stops and parking --------------------------------------------------------------------


def coordinates(rng: np.random.Generator, sidx: np.ndarray, streets: ref.Streets, spread: float = 0.012) -> tuple[pa.Array, pa.Array]:
    lon = streets.lon[sidx] + rng.normal(0, spread, len(sidx))
    lat = streets.lat[sidx] + rng.normal(0, spread * 0.85, len(sidx))
    return v.fixed(lon, 6), v.fixed(lat, 6)


def make_bus_stops(ctx: Ctx, rng: np.random.Generator, n: int, streets: np.ndarray | None = None) -> pa.Table:
    s = ctx.streets
    sidx = v.pick_streets(rng, n, s) if streets is None else np.asarray(streets)
    didx = s.district[sidx]
    form = rng.random(n)
    crossing = v.cat(v.roads(rng, didx), v.roads(rng, didx))
    direction = v.cat(v.roads(rng, didx), v.take(["东", "西", "南", "北"], rng.integers(0, 4, n)))
    estate = v.cat(v.take(ref.COMMUNITY_WORDS, rng.integers(0, len(ref.COMMUNITY_WORDS), n)), v.take(["新村", "花园", "小区"], rng.integers(0, 3, n)))
    terminal = v.cat(ctx.short_names.take(pa.array(sidx)), v.take(["首末站", "公交枢纽", "中心站"], rng.integers(0, 3, n)))
    name = v.where(form < 0.5, crossing, v.where(form < 0.7, direction, v.where(form < 0.92, estate, terminal)))
    k = rng.integers(1, 7, n)
    routes = []
    for i in range(6):
        number = v.cat(v.take(ref.ROUTE_PREFIXES, rng.integers(0, len(ref.ROUTE_PREFIXES), n)), v.ints(rng.integers(1, 400, n)), "路")
        routes.append(v.where(k > i, number, v.nulls(n)))
    lon, lat = coordinates(rng, sidx, s)
    stop_id = rng.choice(900_000, size=n, replace=False) + 100_000 if n < 450_000 else rng.permutation(9_000_000)[:n] + 1_000_000
    return table({
        "stop_id": v.ints(stop_id),
        "stop_name": name,
        "longitude": lon,
        "latitude": lat,
        "street_code": v.take(ctx.street_codes, sidx),
        "routes": pc.binary_join_element_wise(*routes, "、", null_handling="skip"),
        "_street": sidx,
    })


def fix_bus_stops(ctx: Ctx, rng: np.random.Generator, old: pa.Table) -> pa.Table:
    f = make_bus_stops(ctx, rng, old.num_rows, hidden(old, "_street"))
    return correct(rng, old, [{"routes": f["routes"]}, {"stop_name": f["stop_name"]},
                              {"longitude": f["longitude"], "latitude": f["latitude"]}])


BUS_STOPS = Master("bus_stops", make_bus_stops, fix_bus_stops)

PARKING_SPACES = ((100, 800), (30, 300), (50, 300), (10, 80), (100, 500))


def make_parking(ctx: Ctx, rng: np.random.Generator, n: int) -> pa.Table:
    s = ctx.streets
    sidx = v.pick_streets(rng, n, s)
    didx = s.district[sidx]
    kind = v.weighted(rng, n, [30, 30, 10, 25, 5])
    landmark = pc.choose(pa.array(rng.integers(0, 3, n)), v.roads(rng, didx),
                         v.cat(v.take(ref.COMMUNITY_WORDS, rng.integers(0, len(ref.COMMUNITY_WORDS), n)), "花园"),
                         v.cat(ctx.short_names.take(pa.array(sidx)),
                               v.take(["商业中心", "人民医院", "体育中心", "公园", "邻里中心"], rng.integers(0, 5, n))))
    lo = np.array([p[0] for p in PARKING_SPACES])[kind]
    hi = np.array([p[1] for p in PARKING_SPACES])[kind]
    lon, lat = coordinates(rng, sidx, s)
    seq = rng.choice(10_000_000, size=n, replace=False) if n < 1_000_000 else rng.permutation(10_000_000)[:n]
    return table({
        "parking_id": v.cat("P", district_field("code", didx), v.zpad(seq, 7)),
        "parking_name": v.cat(landmark, v.take(ref.PARKING_KINDS, kind)),
        "address": v.addresses(rng, sidx, s, units=False),
        "street_code": v.take(ctx.street_codes, sidx),
        "spaces": v.ints((lo + rng.random(n) * (hi - lo)).astype(np.int64)),
        "fee_standard": v.take(ref.FEE_STANDARDS, rng.integers(0, len(ref.FEE_STANDARDS), n)),
        "opening_hours": v.take(["00:00-24:00", "07:00-22:00", "06:30-23:00", "24小时"], rng.integers(0, 4, n)),
        "longitude": lon,
        "latitude": lat,
        "_street": sidx,
    })


def fix_parking(ctx: Ctx, rng: np.random.Generator, old: pa.Table) -> pa.Table:
    n = old.num_rows
    return correct(rng, old, [
        {"spaces": scaled(rng, old["spaces"], 0.85, 1.15)},
        {"fee_standard": v.take(ref.FEE_STANDARDS, rng.integers(0, len(ref.FEE_STANDARDS), n))},
        {"opening_hours": v.take(["00:00-24:00", "07:00-22:00", "06:30-23:00"], rng.integers(0, 3, n))},
    ])


PARKING = Master("public_parking", make_parking, fix_parking)


# --- culture and tourism: scenic spots and their visitors ----------------------------------------------


def make_spots(ctx: Ctx, rng: np.random.Generator, n: int) -> pa.Table:
    s = ctx.streets
    code_index = {c: i for i, c in enumerate(s.code)}
    n_real = min(len(ref.SCENIC_SPOTS), n)
    real = list(ref.SCENIC_SPOTS[:n_real])
    sidx = np.concatenate([[code_index[r[2]] for r in real], v.pick_streets(rng, n - n_real, s)]).astype(np.int64)
    didx = s.district[sidx]
    is_real = np.arange(n) < n_real
    blank = [""] * (n - n_real)

    def real_column(i: int) -> pa.Array:   # (name, rating, street, road and number, price, hours)
        return v.pool([r[i] for r in real] + blank)

    synth_name = v.cat(ctx.short_names.take(pa.array(sidx)), v.take(ref.SPOT_KINDS, rng.integers(0, len(ref.SPOT_KINDS), n)))
    synth_rating = v.where(rng.random(n) < 0.7, "3A", "2A")
    price = np.where(rng.random(n) < 0.5, 0, rng.integers(2, 13, n) * 5)
    width = max(5, len(str(n)))
    return table({
        "spot_id": v.cat("JQ", v.zpad(np.arange(1, n + 1), width)),
        "spot_name": v.where(is_real, real_column(0), synth_name),
        "rating": v.where(is_real, real_column(1), synth_rating),
        "address": v.where(is_real, v.cat(v.place_prefix(rng, sidx, s), real_column(3)),
                           v.addresses(rng, sidx, s, units=False)),
        "street_code": v.take(ctx.street_codes, sidx),
        "opening_hours": v.where(is_real, real_column(5),
                                 v.take(["08:00-17:00", "08:30-16:30", "全天开放", "09:00-17:00（周一闭园）"], rng.integers(0, 4, n))),
        "ticket_price": v.where(is_real, real_column(4), v.ints(price)),
        "phone": v.landlines(rng, didx),
        "_street": sidx,
    })


def fix_spots(ctx: Ctx, rng: np.random.Generator, old: pa.Table) -> pa.Table:
    n = old.num_rows
    price = pc.cast(old["ticket_price"], pa.int64()).to_numpy(zero_copy_only=False)
    return correct(rng, old, [
        {"ticket_price": v.ints(np.where(price > 0, price + 5 * rng.integers(-2, 3, n), 0))},
        {"opening_hours": v.take(["08:00-17:00（冬令时）", "08:30-16:30", "07:30-17:00"], rng.integers(0, 3, n))},
        {"phone": v.landlines(rng, ctx.streets.district[hidden(old, "_street")])},
    ])


SPOTS = Master("scenic_spots", make_spots, fix_spots)

RATING_VISITORS = {"5A": 9000.0, "4A": 2500.0, "3A": 700.0, "2A": 200.0}


def scenic_visitors(ctx: Ctx, d: int, spots: pa.Table, exists: int) -> pa.Table:
    rng = ctx.rng("scenic_visitors_daily", d)
    rows = spots.slice(0, exists)
    rating = rows["rating"].to_pylist()
    base = np.array([RATING_VISITORS.get(r, 300.0) for r in rating])
    weekend = v.day_of_week(np.array([ctx.day(d)]))[0] >= 5
    visitors = np.round(base * rng.lognormal(0, 0.35, exists) * (1.9 if weekend else 1.0)).astype(np.int64)
    return table({
        "spot_id": rows["spot_id"].combine_chunks(),
        "visit_date": iso(np.full(exists, ctx.day(d))),
        "visitors": v.ints(visitors),
    })


# --- ecology and environment: hourly air quality ---------------------------------------------------------


@dataclass(frozen=True)
class Stations:
    code: pa.Array
    name: pa.Array
    district_code: pa.Array   # as delivered (possibly outdated)
    district: np.ndarray
    base: np.ndarray          # station's pollution level


def make_stations(ctx: Ctx, n: int) -> Stations:
    rng = ctx.rng("air_quality_hourly", "stations")
    s = ctx.streets
    n_real = min(len(ref.STATIONS), n)
    real_d = [next(i for i, d in enumerate(ref.DISTRICTS) if d.code == c) for _, c in ref.STATIONS[:n_real]]
    sidx = v.pick_streets(rng, n - n_real, s)
    district = np.concatenate([real_d, s.district[sidx]]).astype(np.int64)
    synth = pc.utf8_slice_codeunits(ctx.street_names.take(pa.array(sidx)), 0, 6)
    names = pa.concat_arrays([v.pool([name for name, _ in ref.STATIONS[:n_real]]),
                              v.cat(synth, v.zpad(np.arange(1, n - n_real + 1) % 100, 2), "站")])
    codes = v.cat(v.ints(1160 + np.arange(n)), "A")
    return Stations(codes, names, district_field("code", district), district, rng.lognormal(np.log(38), 0.25, n))


# HJ 633-2012 breakpoints: IAQI and the concentration limits per pollutant.
IAQI = np.array([0, 50, 100, 150, 200, 300, 400, 500], dtype=float)
LIMITS = {
    "pm25": [0, 35, 75, 115, 150, 250, 350, 500],
    "pm10": [0, 50, 150, 250, 350, 420, 500, 600],
    "o3": [0, 160, 200, 300, 400, 800, 1000, 1200],
    "no2": [0, 100, 200, 700, 1200, 2340, 3090, 3840],
    "so2": [0, 150, 500, 650, 800, 1600, 2100, 2620],
    "co": [0, 5, 10, 35, 60, 90, 120, 150],
}


def aqi(values: dict[str, np.ndarray]) -> np.ndarray:
    return np.ceil(np.max([np.interp(values[k], LIMITS[k], IAQI) for k in LIMITS], axis=0)).astype(np.int64)


def air_quality(ctx: Ctx, d: int, st: Stations, delivered_district: pa.Array) -> pa.Table:
    rng = ctx.rng("air_quality_hourly", d)
    n_st = len(st.base)
    hour = np.tile(np.arange(24), n_st)
    station = np.repeat(np.arange(n_st), 24)
    n = len(hour)
    day_level = rng.lognormal(0, 0.2) * st.base[station] * rng.lognormal(0, 0.12, n_st)[station]
    diurnal = 1 + 0.25 * np.cos(2 * np.pi * (hour - 8) / 24)
    pm25 = np.maximum(3, day_level * diurnal * rng.lognormal(0, 0.12, n))
    pm10 = pm25 * rng.uniform(1.3, 1.9, n)
    o3 = np.maximum(2, 18 + 75 * np.clip(np.sin(np.pi * (hour - 7) / 12), 0, None) * rng.lognormal(0, 0.2, n))
    no2 = np.maximum(3, (28 + 16 * np.cos(2 * np.pi * (hour - 8) / 24)) * rng.lognormal(0, 0.2, n))
    so2 = np.maximum(2, 7 * rng.lognormal(0, 0.3, n))
    co = np.maximum(0.2, 0.75 * rng.lognormal(0, 0.2, n))
    vals = {"pm25": np.round(pm25), "pm10": np.round(pm10), "o3": np.round(o3), "no2": np.round(no2), "so2": np.round(so2), "co": np.round(co, 1)}
    index = aqi(vals)
    # instrument maintenance: one pollutant missing in about 1% of readings (AQI then from the rest)
    missing = rng.random(n) < 0.01
    which = rng.integers(0, 6, n)
    cols = {}
    for j, k in enumerate(("pm25", "pm10", "o3", "no2", "so2", "co")):
        text = v.fixed(vals[k], 1) if k == "co" else v.ints(vals[k].astype(np.int64))
        cols[k] = v.where(missing & (which == j), v.nulls(n), text)
    when = v.cat(v.date_text(np.full(n, ctx.day(d))), " ", v.zpad(hour, 2), ":00:00")
    order = np.lexsort((station, hour))     # exported hour by hour
    t = table({
        "station_code": st.code.take(pa.array(station)),
        "station_name": st.name.take(pa.array(station)),
        "district_code": delivered_district.take(pa.array(station)),
        "observed_at": when,
        "aqi": v.ints(index),
        **cols,
    })
    return t.take(pa.array(order))


# --- government services: service-hall transactions -------------------------------------------------------


def service_hall(ctx: Ctx, d: int, n_categories: int) -> pa.Table:
    rng = ctx.rng("service_hall_transactions", d)
    s = ctx.streets
    halls = np.flatnonzero(s.hall)
    cats = sorted(range(len(ref.SERVICE_CATEGORIES)), key=lambda i: -ref.SERVICE_CATEGORIES[i][1])[:n_categories]
    street = np.repeat(halls, len(cats))
    cat = np.tile(np.array(cats), len(halls))
    n = len(street)
    demand = np.array([c[1] for c in ref.SERVICE_CATEGORIES])[cat]
    minutes = np.array([c[2] for c in ref.SERVICE_CATEGORIES])[cat]
    dow = v.day_of_week(np.array([ctx.day(d)]))[0]
    factor = {5: 0.35, 6: 0.12}.get(int(dow), 1.0)
    size = s.weight[street] * rng.lognormal(0, 0.3, len(halls))[np.searchsorted(halls, street)]
    received = rng.poisson(demand * 1.6 * size * factor)
    completed = np.minimum(received + 2, rng.binomial(received, 0.93) + rng.poisson(0.2, n))
    avg = np.maximum(1.0, rng.gamma(4.0, minutes / 4.0))
    return table({
        "street_code": v.take(ctx.street_codes, street),
        "service_date": iso(np.full(n, ctx.day(d))),
        "service_category": v.take([c[0] for c in ref.SERVICE_CATEGORIES], cat),
        "received": v.ints(received),
        "completed": v.ints(completed),
        "avg_minutes": v.where(completed == 0, v.nulls(n), v.fixed(avg, 1)),
        "_street": street,
    })


# --- civil affairs: communities and elderly care -------------------------------------------------------------

COMMUNITIES_PER_STREET = 150


def make_communities(ctx: Ctx, rng: np.random.Generator, n: int) -> pa.Table:
    s = ctx.streets
    halls = np.flatnonzero(s.hall)
    sidx = halls[rng.permutation(np.arange(n) % len(halls))]   # every street gets its share
    didx = s.district[sidx]
    town = np.char.endswith(s.name[sidx].astype(str), "镇")
    village = rng.random(n) < np.where(town, 0.6, 0.08)
    # codes: street code + 001..199 for residents' committees, 200..399 for villages, in order within a street
    order = np.lexsort((rng.random(n), village, sidx))
    rank = np.empty(n, dtype=np.int64)
    key = sidx * 2 + village
    sorted_key = key[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank[order] = np.arange(n) - group_start
    suffix = np.where(village, 200 + rank, 1 + rank)
    word = v.take(ref.COMMUNITY_WORDS, rng.integers(0, len(ref.COMMUNITY_WORDS), n))
    households = np.where(village, rng.integers(400, 2500, n), rng.integers(800, 6000, n))
    return table({
        "community_code": v.cat(v.take(ctx.street_codes, sidx), v.zpad(suffix, 3)),
        "community_name": v.where(village, v.cat(word, "村"), v.cat(word, "社区")),
        "community_type": v.where(village, "村", "社区"),
        "street_code": v.take(ctx.street_codes, sidx),
        "address": v.addresses(rng, sidx, s, units=False),
        "households": v.ints(households),
        "phone": v.landlines(rng, didx),
        "_street": sidx,
    })


def fix_communities(ctx: Ctx, rng: np.random.Generator, old: pa.Table) -> pa.Table:
    sidx = hidden(old, "_street")
    return correct(rng, old, [
        {"households": scaled(rng, old["households"], 0.97, 1.05)},
        {"phone": v.landlines(rng, ctx.streets.district[sidx])},
        {"address": v.addresses(rng, sidx, ctx.streets, units=False)},
    ])


COMMUNITIES = Master("communities", make_communities, fix_communities)


def make_elderly(ctx: Ctx, rng: np.random.Generator, n: int) -> pa.Table:
    s = ctx.streets
    sidx = v.pick_streets(rng, n, s)
    didx = s.district[sidx]
    kind = v.weighted(rng, n, [t[3] for t in ref.ELDERLY_TYPES])
    lo = np.array([t[4] for t in ref.ELDERLY_TYPES])[kind]
    hi = np.array([t[5] for t in ref.ELDERLY_TYPES])[kind]
    beds = (lo + rng.random(n) * (hi - lo)).astype(np.int64)
    residents = np.round(beds * rng.uniform(0.4, 0.95, n)).astype(np.int64)
    trade = v.trade_names(rng, n)
    street_name = ctx.street_names.take(pa.array(sidx))
    names = [v.cat(district_prefix(didx), trade if t[1] == "trade" else street_name, t[2]) for t in ref.ELDERLY_TYPES]
    public = np.isin(kind, [1, 3, 4]) & (rng.random(n) < 0.7)
    ukind = np.where(public, "12", np.where(kind == 2, np.where(rng.random(n) < 0.5, "91", "52"), "52"))
    return table({
        "uscc": ctx.issuer.issue(rng, ukind, np.array([d.code for d in ref.DISTRICTS])[didx]),
        "facility_name": pc.choose(pa.array(kind), *names),
        "facility_type": v.take([t[0] for t in ref.ELDERLY_TYPES], kind),
        "address": v.addresses(rng, sidx, s, units=False),
        "street_code": v.take(ctx.street_codes, sidx),
        "beds": v.ints(beds),
        "residents": v.ints(residents),
        "head_name": v.person_names(rng, n),
        "phone": v.phones(rng, didx, 0.5),
        "_street": sidx,
    })


def fix_elderly(ctx: Ctx, rng: np.random.Generator, old: pa.Table) -> pa.Table:
    n = old.num_rows
    didx = ctx.streets.district[hidden(old, "_street")]
    return correct(rng, old, [
        {"residents": scaled(rng, old["residents"], 0.9, 1.05)},
        {"head_name": v.person_names(rng, n), "phone": v.phones(rng, didx, 0.5)},
    ])


ELDERLY = Master("elderly_care_facilities", make_elderly, fix_elderly)


def dates_for(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]
