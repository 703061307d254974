"""A synthetic published store for the portal's tests, written through ``PublishedStore.publish``."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sudata.store import DatasetEntry, PublishedStore

DEPARTMENTS = {
    "scjgj": "苏州市市场监督管理局",
    "jtysj": "苏州市交通运输局",
    "sthjj": "苏州市生态环境局",
    "wsjkw": "苏州市卫生健康委员会",
    "jyj": "苏州市教育局",
    "mzj": "苏州市民政局",
    "zjj": "苏州市住房和城乡建设局",
    "gaj": "苏州市公安局",
}
DISTRICTS = [("320505", "虎丘区"), ("320506", "吴中区"), ("320507", "相城区"), ("320508", "姑苏区"),
             ("320509", "吴江区"), ("320581", "常熟市")]
CATEGORIES = ["甲类", "乙类", "丙类", "丁类"]


@dataclass
class Spec:
    name: str
    title: str
    title_en: str
    department: str
    domain: str
    open_type: str
    update_frequency: str
    tags: list[str]
    description: str
    item: str                      # what a row is, e.g. 企业
    rows: int = 60
    versions: int = 2
    scores: list[float] = field(default_factory=list)
    extra_column: tuple[str, str, str] | None = None   # (name, title, description) of a text column


SPECS: list[Spec] = [
    Spec("enterprise_registry", "企业登记信息", "Enterprise registrations", "scjgj", "经济建设", "unconditional", "每日",
         ["企业", "市场主体", "登记"], "全市各类市场主体的登记信息，包括统一社会信用代码、企业名称、所属区县和街道。",
         "企业", rows=5000, versions=3, scores=[0.915, 0.94, 0.9725], extra_column=("uscc", "统一社会信用代码", "GB 32100 代码")),
    Spec("food_license", "食品经营许可证", "Food business licences", "scjgj", "市场监管", "unconditional", "每周",
         ["食品安全", "许可"], "食品经营许可证的发证信息。", "门店", versions=2),
    Spec("bus_routes", "公交线路信息", "Bus routes", "jtysj", "交通出行", "unconditional", "每月",
         ["公交", "公共交通"], "全市公共交通线路的起讫站、运营时间和票价。", "线路", versions=2),
    Spec("bus_stops", "公交站点", "Bus stops", "jtysj", "交通出行", "unconditional", "每月",
         ["公交", "站点", "公共交通"], "公交站点位置与所属线路。", "站点", rows=120, versions=1),
    Spec("taxi_operations", "出租车运营统计", "Taxi operations", "jtysj", "交通出行", "conditional", "每日",
         ["出租车", "运营"], "巡游出租车每日运营里程和载客次数统计，按区县汇总。", "车辆", versions=2),
    Spec("air_quality_daily", "空气质量日报", "Daily air quality", "sthjj", "生态环境", "unconditional", "每日",
         ["空气质量", "环境监测"], "各国控、省控监测点的空气质量指数（AQI）与首要污染物。", "监测点",
         versions=5, scores=[0.88, 0.905, 0.86, 0.93, 0.955]),
    Spec("water_quality", "地表水水质监测", "Surface water quality", "sthjj", "生态环境", "unconditional", "每月",
         ["水质", "环境监测"], "太湖及主要河道断面的水质类别。", "断面", versions=2),
    Spec("pollution_permits", "排污许可信息", "Pollutant discharge permits", "sthjj", "生态环境", "conditional", "不定期",
         ["排污", "许可"], "重点排污单位的排污许可证及排放限值。", "单位", versions=1),
    Spec("hospitals", "医疗机构名录", "Medical institutions", "wsjkw", "医疗卫生", "unconditional", "每季度",
         ["医院", "医疗机构"], "全市医疗机构的名称、等级、地址与联系电话。", "医院", versions=2),
    Spec("vaccination_sites", "预防接种门诊", "Vaccination clinics", "wsjkw", "医疗卫生", "unconditional", "每季度",
         ["疫苗", "接种"], "预防接种门诊的地址与服务时间。", "门诊", versions=1),
    Spec("patient_visits", "门急诊人次统计", "Outpatient visits", "wsjkw", "医疗卫生", "conditional", "每月",
         ["门诊", "统计"], "各医疗机构门急诊人次的月度统计。", "机构", versions=2),
    Spec("schools", "中小学校名录", "Primary and secondary schools", "jyj", "教育文化", "unconditional", "每年",
         ["学校", "教育"], "全市中小学校的办学性质、学段和地址。", "学校", versions=2),
    Spec("kindergartens", "幼儿园名录", "Kindergartens", "jyj", "教育文化", "unconditional", "每年",
         ["幼儿园", "教育"], "幼儿园的办园性质、规模与地址。", "幼儿园", versions=1),
    Spec("elderly_care", "养老机构信息", "Elderly care homes", "mzj", "社会民生", "unconditional", "每季度",
         ["养老", "民政"], "养老机构的床位数、收费标准与地址。", "机构", versions=2),
    Spec("subsidy_recipients", "低保救助统计", "Minimum living subsidy statistics", "mzj", "社会民生", "conditional",
         "每月", ["低保", "救助"], "按街道汇总的最低生活保障人数与金额。", "街道", versions=2),
    Spec("community_services", "社区综合服务设施", "Community service centres", "mzj", "社会民生", "unconditional",
         "不定期", ["社区", "便民服务"], "社区综合服务设施的位置与服务项目。", "设施", versions=1),
    Spec("housing_projects", "保障性住房项目", "Affordable housing projects", "zjj", "城建住房", "unconditional", "每季度",
         ["住房", "保障房"], "保障性住房项目的建设进度和房源数量。", "项目", versions=2),
    Spec("construction_permits", "建筑工程施工许可", "Construction permits", "zjj", "城建住房", "unconditional", "每周",
         ["施工许可", "建筑"], "建筑工程施工许可证的发证信息。", "工程", versions=2),
    Spec("resident_register", "户籍人口信息", "Household registrations", "gaj", "公共安全", "closed", "每日",
         ["户籍", "人口"], "户籍人口的登记信息（不予开放）。", "居民", versions=2),
    Spec("case_records", "治安案件记录", "Public order cases", "gaj", "公共安全", "closed", "每日",
         ["治安", "案件"], "治安案件的受理记录（不予开放）。", "案件", versions=1),
]
BASE_TIME = datetime(2024, 3, 1, 0, 0, tzinfo=timezone.utc)
LICENSE = {"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
           "title": "Creative Commons Attribution 4.0"}


def entry(spec: Spec) -> DatasetEntry:
    columns = [
        {"name": "id", "type": "integer", "title": "编号", "description": "记录编号", "grade": "一般"},
        {"name": "name", "type": "string", "title": f"{spec.item}名称", "description": f"{spec.item}的名称", "grade": "一般"},
        {"name": "district_code", "type": "string", "title": "区县代码", "description": "GB/T 2260 区县代码", "grade": "一般"},
        {"name": "district", "type": "string", "title": "区县", "description": "所属区县", "grade": "一般"},
        {"name": "category", "type": "string", "title": "类别", "description": "分类", "grade": "一般"},
        {"name": "amount", "type": "number", "title": "数值", "description": "统计数值，可能为空", "grade": "重要"},
        {"name": "record_date", "type": "date", "title": "日期", "description": "记录日期", "grade": "一般"},
    ]
    if spec.extra_column:
        n, t, desc = spec.extra_column
        columns.insert(2, {"name": n, "type": "string", "title": t, "description": desc, "grade": "重要"})
    catalog = {
        "title": spec.title, "title_en": spec.title_en, "department": spec.department, "domain": spec.domain,
        "open_type": spec.open_type, "security_grade": "一般" if spec.open_type == "unconditional" else "重要",
        "update_frequency": spec.update_frequency, "scope_column": "district_code", "su_online": False,
        "primary_key": ["id"], "tags": spec.tags,
    }
    return DatasetEntry(
        name=spec.name, title=spec.title, title_en=spec.title_en, description=spec.description,
        department=spec.department, department_name=DEPARTMENTS[spec.department], domain=spec.domain,
        open_type=spec.open_type, security_grade=catalog["security_grade"],
        update_frequency=spec.update_frequency, scope_column="district_code", tags=spec.tags,
        columns=columns, meta={"catalog": catalog},
    )


def rows_for(spec: Spec, version: int, n: int | None = None) -> list[dict]:
    rng = random.Random(f"{spec.name}/{version}")
    count = n if n is not None else spec.rows + 10 * (version - 1)
    out = []
    for i in range(1, count + 1):
        code, district = DISTRICTS[i % len(DISTRICTS)]
        row = {"id": i, "name": f"{district}{spec.item}{i:05d}"}
        if spec.extra_column:
            row[spec.extra_column[0]] = f"91320500{i:09d}X"[:18]
        row.update({
            "district_code": code, "district": district, "category": CATEGORIES[i % 4],
            "amount": None if i % 17 == 0 else round(rng.uniform(0, 1000), 2),
            "record_date": date(2024, 1, 1) + timedelta(days=i % 60),
        })
        out.append(row)
    return out


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def builder(spec: Spec, e: DatasetEntry, rows: list[dict]):
    def build(directory: Path) -> dict:
        names = [c["name"] for c in e.columns]
        types = {"integer": pa.int64(), "string": pa.string(), "number": pa.float64(), "date": pa.date32()}
        table = pa.table({c["name"]: pa.array([r[c["name"]] for r in rows], type=types[c["type"]]) for c in e.columns})
        pq.write_table(table, directory / "data.parquet", row_group_size=2000)
        with open(directory / "data.csv", "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            for r in rows:
                w.writerow(["" if r[c] is None else (r[c].isoformat() if isinstance(r[c], date) else r[c]) for c in names])
        (directory / "data.json").write_text(json.dumps(
            [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()} for r in rows],
            ensure_ascii=False), "utf-8")
        schema = {
            "fields": [{"name": c["name"], "type": c["type"], "title": c["title"], "description": c["description"]}
                       for c in e.columns],
            "primaryKey": ["id"],
        }
        (directory / "datapackage.json").write_text(json.dumps({
            "profile": "tabular-data-package", "name": spec.name, "title": spec.title, "licenses": [LICENSE],
            "resources": [{
                "name": spec.name, "path": "data.csv", "profile": "tabular-data-resource", "format": "csv",
                "mediatype": "text/csv", "encoding": "utf-8-sig", "schema": schema,
            }],
        }, ensure_ascii=False, indent=2), "utf-8")
        media = {"csv": ("data.csv", "text/csv"), "parquet": ("data.parquet", "application/vnd.apache.parquet"),
                 "json": ("data.json", "application/json"), "datapackage": ("datapackage.json", "application/json")}
        files = {k: {"path": p, "size": (directory / p).stat().st_size, "sha256": _sha(directory / p), "media_type": m}
                 for k, (p, m) in media.items()}
        return {"row_count": len(rows), "files": files, "schema": schema, "slices": []}
    return build


def quality(spec: Spec, version: int, rows: int, previous: int | None) -> dict:
    """A report of the shape ``sudata.quality.report.QualityReport.to_dict()`` writes (scores 0–1)."""
    score = spec.scores[version - 1] if len(spec.scores) >= version else 0.9 + 0.01 * version
    dims = {d: {"score": round(min(1.0, score + 0.01 * k), 4), "passed": 10 + k, "failed": 0 if k else 1}
            for k, d in enumerate(["conformity", "completeness", "accuracy", "consistency", "timeliness"])}
    return {
        "dataset": spec.name, "checked_at": "2024-03-01T00:00:00+00:00", "drop_date": f"2024-03-{version:02d}",
        "passed": True, "score": score, "row_count": rows, "previous_row_count": previous, "quarantined_rows": 0,
        "dimensions": dims,
        "checks": [
            {"name": f"not_null_{spec.name}_id", "source": "dbt", "dimension": "completeness", "passed": True,
             "blocking": True, "observed": 0, "detail": "id 无空值"},
            {"name": f"amount_not_null_{spec.name}", "source": "great_expectations", "dimension": "conformity",
             "passed": False, "blocking": False, "observed": rows // 17, "detail": "数值列存在空值"},
        ],
        "blocking_failures": [],
    }


def publish(store: PublishedStore, spec: Spec, version: int, rows: list[dict] | None = None,
            previous: int | None = None) -> int:
    e = entry(spec)
    rows = rows if rows is not None else rows_for(spec, version)
    return store.publish(e, builder(spec, e, rows), run_id=f"run-{version}", drop_date=f"2024-03-{version:02d}",
                         quality=quality(spec, version, len(rows), previous))


def build_store(root: Path, specs: list[Spec] = SPECS) -> PublishedStore:
    store = PublishedStore(root)
    for spec in specs:
        previous = None
        for v in range(1, spec.versions + 1):
            rows = rows_for(spec, v)
            publish(store, spec, v, rows, previous)
            previous = len(rows)
    # a blocked run: recorded, the current version untouched
    air = next(s for s in specs if s.name == "air_quality_daily")
    bad = quality(air, 1, 10, 130)
    bad.update(passed=False, score=0.41, blocking_failures=["row_count_drop_air_quality_daily"])
    bad["checks"].append({"name": "row_count_drop_air_quality_daily", "source": "sql", "dimension": "consistency",
                          "passed": False, "blocking": True, "observed": 10, "detail": "行数较上一版下降超过 50%"})
    store.record_blocked(entry(air), run_id="run-bad", drop_date="2024-03-09", quality=bad)
    # spread the publication times so that sorting and ranges have something to tell apart
    with closing(store.connect()) as con:
        con.execute("begin immediate")
        for i, spec in enumerate(sorted(specs, key=lambda s: s.name)):
            created = BASE_TIME + timedelta(days=i)
            for v in range(1, spec.versions + 1):
                published = created + timedelta(days=7 * (v - 1), hours=i)
                con.execute("update versions set published_at = ? where dataset = ? and version = ?",
                            (published.isoformat(timespec="seconds"), spec.name, v))
            con.execute("update datasets set created_at = ?, updated_at = ? where name = ?",
                        (created.isoformat(timespec="seconds"), published.isoformat(timespec="seconds"), spec.name))
        con.execute("commit")
    return store


def spec(name: str) -> Spec:
    return next(s for s in SPECS if s.name == name)
