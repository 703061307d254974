"""A small published store for the operation tests: a conditional dataset with a person's name column,
an unconditional one and a closed one, written through ``PublishedStore.publish``."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import warnings

import pytest

from stdnum.cn import uscc as uscc_code

from operation.credit import CREDIT_DATASET
from operation.store import OperationStore
from portal.app import create_app
from sudata.settings import Paths
from sudata.store import DatasetEntry, PublishedStore

DISTRICTS = ["姑苏区", "吴中区", "相城区", "虎丘区"]
TRIP_COLUMNS = [
    {"name": "trip_id", "type": "integer", "title": "行程编号", "grade": "general"},
    {"name": "district", "type": "string", "title": "区县", "grade": "general"},
    {"name": "category", "type": "string", "title": "车型", "grade": "general"},
    {"name": "driver_name", "type": "string", "title": "驾驶员", "grade": "important", "pii": "person_name"},
    {"name": "plate", "type": "string", "title": "车牌", "grade": "important"},
    {"name": "fare", "type": "number", "title": "车费", "grade": "general"},
    {"name": "trip_date", "type": "date", "title": "日期", "grade": "general"},
]


PROFILE_COLUMNS = [
    {"name": "uscc", "type": "string", "title": "统一社会信用代码"},
    {"name": "enterprise_name", "type": "string", "title": "企业名称"},
    {"name": "legal_representative", "type": "string", "title": "法定代表人", "grade": "important", "pii": "person_name"},
    {"name": "status", "type": "string", "title": "登记状态"},
    {"name": "licence_count", "type": "integer", "title": "行政许可数"},
    {"name": "penalty_count", "type": "integer", "title": "行政处罚数"},
    {"name": "total_fine_10k_cny", "type": "number", "title": "罚款总额（万元）"},
]


def uscc(i: int) -> str:
    """The i-th valid unified social credit code of the fixture."""
    body = f"9132050{i:010d}"
    return body + uscc_code.calc_check_digit(body)


def profile_rows() -> list[dict]:
    return [{"uscc": uscc(i), "enterprise_name": f"苏州测试企业{i:03d}有限公司", "legal_representative": f"法人{i:03d}",
             "status": "存续", "licence_count": i % 3, "penalty_count": 1 if i % 5 == 0 else 0,
             "total_fine_10k_cny": 2.5 if i % 5 == 0 else 0.0} for i in range(1, 201)]


def trip_rows() -> list[dict]:
    """Four districts of 60 trips; 吴中区 has one huge fare (a dominated sum); category 专车 has 3 trips."""
    rng = random.Random(12)
    rows = []
    for i in range(240):
        district = DISTRICTS[i % 4]
        rows.append({"trip_id": i + 1, "district": district, "category": "专车" if i < 3 else "巡游车",
                     "driver_name": f"驾驶员{i % 37:02d}", "plate": f"苏E{i:05d}",
                     "fare": 100000.0 if (district == "吴中区" and i == 1) else round(rng.uniform(10, 60), 2),
                     "trip_date": date(2026, 1, 1) + timedelta(days=i % 30)})
    return rows


def _entry(name, title, department, open_type, columns) -> DatasetEntry:
    return DatasetEntry(name=name, title=title, title_en=name, description=title, department=department,
                        department_name={"jtysj": "苏州市交通运输局", "gaj": "苏州市公安局", "credit_office": "苏州市信用办"}[department],
                        domain="交通出行", open_type=open_type, security_grade="important", update_frequency="每日",
                        scope_column=None, tags=[], columns=columns, meta={"catalog": {}})


def _build(rows, columns):
    types = {"integer": pa.int64(), "string": pa.string(), "number": pa.float64(), "date": pa.date32()}

    def build(directory):
        table = pa.table({c["name"]: pa.array([r[c["name"]] for r in rows], type=types[c["type"]]) for c in columns})
        pq.write_table(table, directory / "data.parquet")
        (directory / "data.csv").write_text("x\n", "utf-8")
        return {"row_count": len(rows), "schema": {"fields": []}, "slices": [],
                "files": {"parquet": {"path": "data.parquet", "size": 1, "sha256": "p", "media_type": "x"},
                          "csv": {"path": "data.csv", "size": 1, "sha256": "c", "media_type": "text/csv"}}}
    return build


def build_store(root) -> PublishedStore:
    store = PublishedStore(root)
    q = {"passed": True, "score": 1.0, "dimensions": {}, "checks": []}
    store.publish(_entry("taxi_trips", "出租车行程", "jtysj", "conditional", TRIP_COLUMNS),
                  _build(trip_rows(), TRIP_COLUMNS), run_id="r1", drop_date="2026-01-30", quality=q)
    stops = [{"name": "stop_id", "type": "integer", "title": "站点编号"},
             {"name": "district", "type": "string", "title": "区县"}]
    store.publish(_entry("bus_stops", "公交站点", "jtysj", "unconditional", stops),
                  _build([{"stop_id": i, "district": DISTRICTS[i % 4]} for i in range(80)], stops),
                  run_id="r1", drop_date="2026-01-30", quality=q)
    store.publish(_entry(CREDIT_DATASET, "企业信用概况", "credit_office", "conditional", PROFILE_COLUMNS),
                  _build(profile_rows(), PROFILE_COLUMNS), run_id="r1", drop_date="2026-01-30", quality=q)
    people = [{"name": "person", "type": "string", "title": "姓名", "pii": "person_name"}]
    store.publish(_entry("resident_register", "户籍人口", "gaj", "closed", people),
                  _build([{"person": "张三"}], people), run_id="r1", drop_date="2026-01-30", quality=q)
    return store


@pytest.fixture(scope="session")
def op_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("operation-home")
    build_store(home / "published")
    return home


@pytest.fixture(scope="session")
def op_paths(op_home) -> Paths:
    return Paths(home=op_home, raw=op_home / "raw")


@pytest.fixture(scope="session")
def published(op_paths) -> PublishedStore:
    return PublishedStore(op_paths.published)


@pytest.fixture(scope="session")
def ops(op_paths) -> OperationStore:
    return OperationStore(op_paths.operation_db)


APPLICATION = {
    "organisation": "苏州某数据科技有限公司", "uscc": "91320000134756588U", "contact_name": "李工",
    "contact_phone": "0512-65000000", "contact_email": "li@example.com", "purpose": "出租车运力分析",
    "scenario": "按区县统计运营量，形成运力报告", "mode": "zone",
    "datasets": {"taxi_trips": ["district", "category", "driver_name", "fare", "trip_date"]},
    "period_start": "2026-12-01", "period_end": "2027-12-31",
}


@pytest.fixture(scope="module")
def client(op_paths):
    """The portal over the operation store, once per test module."""
    with warnings.catch_warnings():  # starlette announces its move to httpx2 on import
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(create_app(op_paths)) as c:
        yield c
