"""A synthetic published store with two nightly versions of the Su Online datasets, and unit keys.

Datasets (all rows generated deterministically; ``ROWS[name][version]`` keeps the exact Python rows so
tests compute the expected slices and change sets independently of the SQL under test):

* ``enterprise_registrations`` — street-scoped, unconditional, has a ``district_code`` column; includes
  rows with no street, with a street code outside the master data, and with no location at all.
* ``elderly_care_facilities`` — street-scoped, conditional, no ``district_code`` column (unknown streets
  fall back to the code's first six digits); carries contact phones (government users may see them).
* ``air_quality_daily`` — district-scoped (a street sees its district's rows).
* ``social_assistance_recipients`` — closed, one version only (a first delivery); pseudonymised
  recipients, plus a ``guardian_id_number`` column that carries resident ID numbers in clear, which
  the portal must refuse to serve.
* ``bus_routes`` — not delivered to Su Online.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import tempfile
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import NoMatchFound
from stdnum.cn import uscc

from sudata import units
from portal.access import AccessStore
from sudata.settings import Paths
from sudata.slicing import sha256_file, write_slices
from sudata.store import DatasetEntry, PublishedStore

PUBLISHED_AT = {1: "2024-06-01T18:10:00+00:00", 2: "2024-06-02T18:12:00+00:00"}
RUN_ID = {1: "run-20240602", 2: "run-20240603"}
DROP_DATE = {1: "2024-06-01", 2: "2024-06-02"}


@dataclass(frozen=True)
class Spec:
    name: str
    title: str
    title_en: str
    department: str
    department_name: str
    open_type: str
    scope_column: str | None
    primary_key: tuple[str, ...]
    columns: tuple[tuple[str, str, str, str], ...]   # (name, arrow type, Chinese title, grade)
    su_online: bool = True


SPECS = {
    s.name: s for s in [
        Spec("enterprise_registrations", "企业登记信息", "Enterprise registrations", "market_regulation",
             "苏州市市场监督管理局", "unconditional", "street_code", ("uscc",), (
                 ("uscc", "string", "统一社会信用代码", "general"),
                 ("enterprise_name", "string", "企业名称", "general"),
                 ("status", "string", "登记状态", "general"),
                 ("registered_capital", "decimal", "注册资本(万元)", "general"),
                 ("established_date", "date", "成立日期", "general"),
                 ("contact_phone", "string", "联系电话", "important"),
                 ("street_code", "string", "街道代码", "general"),
                 ("district_code", "string", "区县代码", "general"),
             )),
        Spec("elderly_care_facilities", "养老服务机构", "Elderly-care facilities", "civil_affairs",
             "苏州市民政局", "conditional", "street_code", ("facility_id",), (
                 ("facility_id", "string", "机构编号", "general"),
                 ("facility_name", "string", "机构名称", "general"),
                 ("beds", "int64", "床位数", "general"),
                 ("contact_phone", "string", "联系电话", "important"),
                 ("street_code", "string", "街道代码", "general"),
             )),
        Spec("air_quality_daily", "空气质量日报", "Daily air quality", "ecology_environment",
             "苏州市生态环境局", "unconditional", "district_code", ("district_code", "date"), (
                 ("district_code", "string", "区县代码", "general"),
                 ("date", "date", "日期", "general"),
                 ("aqi", "int64", "空气质量指数", "general"),
                 ("pm25", "float64", "PM2.5浓度(微克/立方米)", "general"),
             )),
        Spec("social_assistance_recipients", "社会救助对象", "Social-assistance recipients", "civil_affairs",
             "苏州市民政局", "closed", "street_code", ("recipient_key",), (
                 ("recipient_key", "string", "救助对象标识（假名）", "important"),
                 ("assistance_type", "string", "救助类型", "important"),
                 ("monthly_amount", "float64", "月救助金额(元)", "important"),
                 ("guardian_id_number", "string", "监护人身份证号码", "core"),
                 ("street_code", "string", "街道代码", "general"),
                 ("district_code", "string", "区县代码", "general"),
             )),
        Spec("bus_routes", "公交线路", "Bus routes", "transport", "苏州市交通运输局", "unconditional", None,
             ("route_id",), (
                 ("route_id", "string", "线路编号", "general"),
                 ("route_name", "string", "线路名称", "general"),
             ), su_online=False),
    ]
}
SUONLINE = [n for n, s in SPECS.items() if s.su_online]
# Columns the portal must refuse: they carry resident ID numbers in clear.
WITHHELD = {"social_assistance_recipients": {"guardian_id_number"}}
VERSIONS = {"enterprise_registrations": (1, 2), "elderly_care_facilities": (1, 2), "air_quality_daily": (1, 2),
            "social_assistance_recipients": (1,), "bus_routes": (1,)}

ARROW_TYPES = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "date": pa.date32(),
               "decimal": pa.decimal128(14, 2)}


# -- deterministic synthetic rows ------------------------------------------------------------------

def _uscc(rng: random.Random, district: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + district + "".join(rng.choice(alphabet) for _ in range(9))
    code = body + uscc.calc_check_digit(body)
    assert uscc.is_valid(code)
    return code


def gb11643_check(body: str) -> str:
    """ISO 7064 MOD 11-2 check character of a 17-digit resident ID body (GB 11643)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def resident_id(rng: random.Random, district: str) -> str:
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 50))
    body = f"{district}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + gb11643_check(body)


def _phone(rng: random.Random) -> str:
    return "0512-" + "".join(str(rng.randrange(10)) for _ in range(8))


def _enterprises(rng: random.Random) -> dict[int, list[dict]]:
    v1: list[dict] = []
    for s in units.streets():
        for _ in range(rng.randrange(1, 5)):
            v1.append({"uscc": _uscc(rng, s.district_code), "enterprise_name": f"苏州{s.name}{rng.randrange(10**4)}有限公司",
                       "status": "存续", "registered_capital": Decimal(rng.randrange(10, 10**6)) / 100,
                       "established_date": dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(8000)),
                       "contact_phone": _phone(rng), "street_code": s.code, "district_code": s.district_code})
    # Located by district only, by a street code outside the master data, and not at all.
    extra = [(None, "320508"), (None, "320583"), ("320508999", "320508"), ("320509999", None), (None, None),
             ("", "320581"), ("999999999", None)]
    for street, district in extra:
        v1.append({"uscc": _uscc(rng, district or "320500"), "enterprise_name": f"苏州无址{rng.randrange(10**4)}有限公司",
                   "status": "存续", "registered_capital": Decimal(100), "established_date": dt.date(2020, 5, 1),
                   "contact_phone": None, "street_code": street, "district_code": district})
    v2 = [dict(r) for r in v1]
    rng.shuffle(v2)
    removed, v2 = v2[:25], v2[25:]
    for r in v2[:30]:
        r["status"] = "注销"
    for r in v2[30:40]:
        r["registered_capital"] = r["registered_capital"] + Decimal("0.01")
    for r in v2[40:45]:
        r["contact_phone"] = None if r["contact_phone"] else _phone(rng)
    # Moves: within a district and across districts.
    for r in v2[45:55]:
        target = rng.choice(units.streets())
        r["street_code"], r["district_code"] = target.code, target.district_code
    for s in rng.sample(units.streets(), 40):
        v2.append({"uscc": _uscc(rng, s.district_code), "enterprise_name": f"苏州{s.name}新设{rng.randrange(10**4)}有限公司",
                   "status": "存续", "registered_capital": Decimal(50), "established_date": dt.date(2024, 6, 2),
                   "contact_phone": _phone(rng), "street_code": s.code, "district_code": s.district_code})
    assert removed
    return {1: v1, 2: v2}


def _elderly(rng: random.Random) -> dict[int, list[dict]]:
    v1 = []
    n = 0
    for s in units.streets():
        for _ in range(rng.randrange(0, 3)):
            n += 1
            v1.append({"facility_id": f"YL{n:05d}", "facility_name": f"{s.name}颐养院{n}", "beds": rng.randrange(10, 300),
                       "contact_phone": _phone(rng) if rng.random() < 0.8 else None, "street_code": s.code})
    for code in ("320509999", None, "32058"):
        n += 1
        v1.append({"facility_id": f"YL{n:05d}", "facility_name": f"待定位颐养院{n}", "beds": 20, "contact_phone": None,
                   "street_code": code})
    v2 = [dict(r) for r in v1]
    del v2[3:13]
    for r in v2[20:35]:
        r["beds"] += 5
    for r in v2[35:45]:
        r["contact_phone"] = _phone(rng) if r["contact_phone"] is None else None
    for i in range(12):
        n += 1
        s = units.streets()[(i * 11) % len(units.streets())]
        v2.append({"facility_id": f"YL{n:05d}", "facility_name": f"{s.name}新建颐养院{n}", "beds": 60,
                   "contact_phone": _phone(rng), "street_code": s.code})
    return {1: v1, 2: v2}


def _air(rng: random.Random) -> dict[int, list[dict]]:
    days = [dt.date(2024, 5, 28) + dt.timedelta(days=i) for i in range(5)]
    v1 = [{"district_code": d.code, "date": day, "aqi": rng.randrange(20, 160), "pm25": round(rng.uniform(5, 90), 1)}
          for d in units.districts() for day in days]
    v1.append({"district_code": "320599", "date": days[0], "aqi": 50, "pm25": 10.0})   # not a unit: no slice
    v2 = [dict(r) for r in v1 if not (r["district_code"] == "320585" and r["date"] == days[1])]
    for r in v2:
        if r["date"] == days[-1] and r["district_code"] in ("320505", "320508", "320583"):
            r["aqi"] += 7   # corrected reading
    v2 += [{"district_code": d.code, "date": days[-1] + dt.timedelta(days=1), "aqi": rng.randrange(20, 160),
            "pm25": round(rng.uniform(5, 90), 1)} for d in units.districts()]
    return {1: v1, 2: v2}


def _assistance(rng: random.Random) -> dict[int, list[dict]]:
    rows = []
    for s in rng.sample(units.streets(), 60):
        for k in range(rng.randrange(1, 4)):
            pid = resident_id(rng, s.district_code)
            rows.append({"recipient_key": hashlib.sha256(f"salt:{pid}".encode()).hexdigest()[:32],
                         "assistance_type": rng.choice(["最低生活保障", "特困供养", "临时救助"]),
                         "monthly_amount": float(rng.randrange(800, 1500)),
                         "guardian_id_number": resident_id(rng, s.district_code) if k == 0 else None,
                         "street_code": s.code, "district_code": s.district_code})
    rows.append({"recipient_key": "unlocated-0001", "assistance_type": "临时救助", "monthly_amount": 500.0,
                 "guardian_id_number": None, "street_code": None, "district_code": None})
    return {1: rows}


def _bus(rng: random.Random) -> dict[int, list[dict]]:
    return {1: [{"route_id": f"B{i}", "route_name": f"{i}路"} for i in range(1, 30)]}


def generate_rows(seed: int = 20240602) -> dict[str, dict[int, list[dict]]]:
    rng = random.Random(seed)
    return {
        "enterprise_registrations": _enterprises(rng),
        "elderly_care_facilities": _elderly(rng),
        "air_quality_daily": _air(rng),
        "social_assistance_recipients": _assistance(rng),
        "bus_routes": _bus(rng),
    }


# -- expected jurisdiction (the rule of sudata.slicing, restated in Python) ------------------------

def row_units(spec: Spec, row: dict) -> tuple[str | None, str | None]:
    """(street, district) a row belongs to."""
    m = units.master()
    if spec.scope_column == "district_code":
        d = row.get("district_code")
        return None, (d if d in m.streets_by_district else None)
    street = row.get("street_code") or None
    if street in m.by_code and m.by_code[street].level == units.STREET:
        return street, m.by_code[street].district_code
    for candidate in (row.get("district_code"), (street or "")[:6]):
        if candidate in m.streets_by_district:
            return None, candidate
    return None, None


def served(spec: Spec, row: dict) -> dict:
    """A row as the API serves it: withheld columns removed, values as JSON renders them."""
    return {k: jsonish(v) for k, v in row.items() if k not in WITHHELD.get(spec.name, ())}


def expected_rows(spec: Spec, rows: list[dict], unit: units.Unit) -> list[dict]:
    out = []
    for r in rows:
        street, district = row_units(spec, r)
        if unit.level == units.DISTRICT or spec.scope_column == "district_code":
            if district == unit.district_code:
                out.append(r)
        elif street == unit.code:
            out.append(r)
    return out


def key_of(spec: Spec, row: dict) -> tuple:
    return tuple(jsonish(row[k]) for k in spec.primary_key)


def jsonish(v):
    """A Python fixture value as the API renders it in JSON."""
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def jsonish_row(row: dict) -> dict:
    return {k: jsonish(v) for k, v in row.items()}


# -- the published store ---------------------------------------------------------------------------

def entry_of(spec: Spec) -> DatasetEntry:
    columns = [{"name": n, "type": t, "title": title, "description": title, "grade": g}
               for n, t, title, g in spec.columns]
    return DatasetEntry(
        name=spec.name, title=spec.title, title_en=spec.title_en, description=f"{spec.title}（测试数据）",
        department=spec.department, department_name=spec.department_name, domain="test",
        open_type=spec.open_type, security_grade="important" if spec.open_type != "unconditional" else "general",
        update_frequency="每日", scope_column=spec.scope_column, tags=[], columns=columns,
        meta={"catalog": {"su_online": spec.su_online, "scope_column": spec.scope_column,
                          "primary_key": list(spec.primary_key), "open_type": spec.open_type, "title": spec.title}},
    )


def write_parquet(spec: Spec, rows: list[dict], path: Path) -> None:
    schema = pa.schema([(n, ARROW_TYPES[t]) for n, t, _, _ in spec.columns])
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path)


def publish(store: PublishedStore, spec: Spec, rows: list[dict], version_no: int) -> int:
    def build(directory: Path) -> dict:
        data = directory / "data.parquet"
        write_parquet(spec, rows, data)
        slices = (write_slices(None, data, directory / "suonline", spec.scope_column,
                               primary_key=list(spec.primary_key)) if spec.su_online else [])
        return {
            "row_count": len(rows),
            "files": {"parquet": {"path": "data.parquet", "size": data.stat().st_size, "sha256": sha256_file(data),
                                  "media_type": "application/vnd.apache.parquet"}},
            "schema": {"fields": [{"name": n, "type": t} for n, t, _, _ in spec.columns],
                       "primaryKey": list(spec.primary_key)},
            "slices": slices,
        }

    version = store.publish(entry_of(spec), build, run_id=RUN_ID[version_no], drop_date=DROP_DATE[version_no],
                            quality={"passed": True})
    # Pin the publication time to the night it simulates.
    with closing(store.connect()) as con:
        con.execute("update versions set published_at = ? where dataset = ? and version = ?",
                    (PUBLISHED_AT[version_no], spec.name, version))
    return version


@dataclass
class World:
    home: Path
    store: PublishedStore
    access: AccessStore
    rows: dict[str, dict[int, list[dict]]]
    keys: dict[str, str]          # unit code -> key

    def spec(self, name: str) -> Spec:
        return SPECS[name]

    def current(self, name: str) -> list[dict]:
        return self.rows[name][max(VERSIONS[name])]


def build_world(home: Path) -> World:
    rows = generate_rows()
    store = PublishedStore(home / "published")
    for version_no in (1, 2):
        for name, spec in SPECS.items():
            if version_no in VERSIONS[name]:
                assert publish(store, spec, rows[name][version_no], version_no) == version_no
    access = AccessStore(home / "portal" / "access.sqlite")
    keys = {u.code: access.issue("unit", u.code, f"{u.full_name}办公室") for u in units.all_units()}
    return World(home=home, store=store, access=access, rows=rows, keys=keys)


def _fast_tmpdir(tmp_path_factory) -> tuple[Path, bool]:
    """A memory-backed directory when the machine has one: the store fsyncs every file it publishes and
    the access log commits every request, which on a busy disk would dominate the test time."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="suonline-test-", dir=shm)), True
    return tmp_path_factory.mktemp("suonline_home"), False


@pytest.fixture(scope="package")
def world(tmp_path_factory):
    home, remove = _fast_tmpdir(tmp_path_factory)
    try:
        yield build_world(home)
    finally:
        if remove:
            shutil.rmtree(home, ignore_errors=True)


def _make_app(home: Path) -> FastAPI:
    """The portal's app (which mounts this router) when it exists, else a minimal app around the router."""
    from portal.suonline.routes import router

    try:
        from portal.app import create_app
    except ModuleNotFoundError as exc:
        if exc.name != "portal.app":
            raise
        app = FastAPI()
        app.state.paths = Paths(home=home, raw=home / "raw")
    else:
        app = create_app(Paths(home=home, raw=home / "raw"))
    try:
        assert app.url_path_for("suonline_units") == "/suonline/units"
    except NoMatchFound:
        app.include_router(router, prefix="/suonline")
    return app


@pytest.fixture(scope="package")
def app(world):
    return _make_app(world.home)


@pytest.fixture(scope="package")
def client(app):
    with TestClient(app) as c:
        yield c


def auth(key: str) -> dict:
    return {"Authorization": key}


def records_all(client: TestClient, code: str, name: str, key: str, limit: int = 10_000) -> dict:
    r = client.get(f"/suonline/units/{code}/datasets/{name}", params={"limit": limit}, headers=auth(key))
    assert r.status_code == 200, r.text
    return r.json()["result"]


def dumps(v) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)
