"""A department the project has never seen delivers a CSV: one registry declaration — no SQL, no YAML
model, no suite — takes it from the drop to a published, quality-gated dataset (README: "Adding a source").

The night runs as a user runs it (`sudata run` in its own process), on a copy of the dbt project and of
the registry with the new department's file added, so the repository stays as it is.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sudata.settings import PROJECT_ROOT
from sudata.store import PublishedStore

pytestmark = pytest.mark.integration

DECLARATION = """\
department:
  id: sport
  name: 苏州市体育局
  name_en: Suzhou Sports Bureau
sources:
  - id: sports_venues
    title: 公共体育场馆
    title_en: Public sports venues
    files: "*.csv"
    format: csv
    encoding: gbk
    primary_key: [venue_code]
    columns:
      - {name: venue_code, header: 场馆编号, type: code, required: true}
      - {name: venue_name, header: 场馆名称, type: name, required: true}
      - {name: venue_type, header: 场馆类型, type: enum, values: {体育场: [体育场], 体育馆: [体育馆, 综合馆], 游泳馆: [游泳馆]}}
      - {name: operator_uscc, header: 运营单位统一社会信用代码, type: uscc}
      - {name: address, header: 地址, type: address}
      - {name: longitude, header: 经度, type: longitude}
      - {name: latitude, header: 纬度, type: latitude}
      - {name: seats, header: 座位数, type: integer, max: 100000}
      - {name: manager_name, header: 负责人, type: name, grade: important, pii: person_name}
      - {name: phone, header: 联系电话, type: phone, grade: important, pii: phone}
      - {name: opened_on, header: 开放日期, type: date}
    publish:
      description: 苏州市公共体育场馆：类型、地址、坐标、座位数和开放日期。负责人姓名和联系电话已脱敏。
      domain: 文化旅游
      open_type: unconditional
      security_grade: general
      update_frequency: 每日
      scope_column: street_code
      su_online: true
      tags: [体育, 场馆]
"""

HEADER = ["场馆编号", "场馆名称", "场馆类型", "运营单位统一社会信用代码", "地址", "经度", "纬度", "座位数", "负责人", "联系电话", "开放日期"]
GOOD = [
    ["TY-001", "苏州奥林匹克体育中心体育场", "体育场", "91320594MA1MXXXXX0", "苏州工业园区斜塘街道中新大道东999号",
     "120.7290", "31.2870", "45,000", "王建国", "0512-62888888", "2018/8/1"],
    ["TY-002", "苏州市体育中心体育馆", "综合馆", "", "姑苏区双塔街道三香路1131号",
     "120.5908", "31.2985", "6000", "李秀英", "13812345678", "2001年10月1日"],
    ["TY-003", "吴中区游泳馆", "游泳馆", "", "吴中区长桥街道东吴北路", "120.6250", "31.2600", "800人", "张伟", "0512 6525 1234", "20150601"],
    ["TY-004", "昆山市体育中心", "体育场", "", "昆山市玉山镇前进西路", "31.3810", "120.9580", "30000", "陈静", "", "2012-05-18"],  # lat/lon swapped
    ["TY-005", "横塘街道全民健身中心", "体育馆", "", "横塘街道", "121.9", "35.0", "1200", "刘洋", "13900001111", "2020-01-01"],  # outside the city
]
BAD = [
    ["", "无编号场馆", "体育馆", "", "姑苏区", "120.6", "31.3", "100", "赵敏", "", "2020-01-01"],        # missing key
    ["TY-006", "", "体育馆", "", "姑苏区", "120.6", "31.3", "100", "赵敏", "", "2020-01-01"],            # missing name
    ["TY-007", "某体育馆", "体育馆", "91320500ABCDEFGH12", "姑苏区", "120.6", "31.3", "100", "", "", ""],  # bad USCC
]


def _drop(raw: Path) -> Path:
    folder = raw / "sport" / "sports_venues" / "2026-11-24"
    folder.mkdir(parents=True)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *GOOD, *BAD])
    path = folder / "sports_venues_20261124.csv"
    path.write_bytes(buffer.getvalue().encode("gbk"))
    return path


def _valid_uscc(stem: str) -> str:
    from stdnum.cn import uscc

    return stem + uscc.calc_check_digit(stem)


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    base = tmp_path_factory.mktemp("new_source")
    registry, project, raw, home = base / "registry", base / "dbt_project", base / "raw", base / "home"
    shutil.copytree(PROJECT_ROOT / "registry", registry)
    (registry / "sport.yml").write_text(DECLARATION, encoding="utf-8")
    shutil.copytree(PROJECT_ROOT / "dbt_project", project,
                    ignore=shutil.ignore_patterns("target", "logs", "_generated", "dbt_packages", ".user.yml"))
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    GOOD[0][3] = _valid_uscc("91320594MA1MXXXXX")
    drop = _drop(raw)
    before = drop.read_bytes()
    env = {**os.environ, "SUDATA_REGISTRY": str(registry), "SUDATA_DBT_PROJECT_DIR": str(project),
           "SUDATA_RAW": str(raw), "SUDATA_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    (home / "dagster").mkdir(parents=True)
    cli = Path(sys.executable).with_name("sudata")
    done = subprocess.run([str(cli), "run"], env=env, capture_output=True, text=True, timeout=900)
    return {"done": done, "home": home, "project": project, "drop": drop, "before": before}


def test_the_declaration_is_the_whole_dataset(trial):
    assert trial["done"].returncode == 0, trial["done"].stdout[-3000:] + trial["done"].stderr[-3000:]
    generated = trial["project"] / "models"
    assert (generated / "staging" / "_generated" / "stg_sports_venues.sql").is_file()
    assert (generated / "marts" / "_generated" / "sports_venues.sql").is_file()
    hand_written = [p for p in trial["project"].rglob("*sports_venues*") if "_generated" not in p.parts
                    and "target" not in p.parts]
    assert hand_written == []
    assert not (PROJECT_ROOT / "expectations" / "sports_venues.json").exists()
    assert trial["drop"].read_bytes() == trial["before"]  # the landing zone is never modified


def test_the_new_dataset_is_published_governed_and_gated(trial):
    store = PublishedStore(trial["home"] / "published")
    version = store.current_version("sports_venues")
    assert version is not None, trial["done"].stdout[-3000:]
    entry = store.dataset("sports_venues")
    assert entry["title"] == "公共体育场馆" and entry["department"] == "sport" and entry["open_type"] == "unconditional"
    parquet = store.path(version["path"]) / version["files"]["parquet"]["path"]
    with duckdb.connect() as con:
        rows = {r[0]: r for r in con.execute(
            "select venue_code, venue_name, venue_type, longitude, latitude, seats, manager_name, phone, "
            f"opened_on, street_code, district_code from read_parquet('{parquet}') order by venue_code").fetchall()}
    assert sorted(rows) == ["TY-001", "TY-002", "TY-003", "TY-004", "TY-005"]  # the three bad rows are quarantined
    assert rows["TY-002"][2] == "体育馆"                                          # enum spelling mapped
    assert float(rows["TY-004"][3]) == pytest.approx(120.958) and float(rows["TY-004"][4]) == pytest.approx(31.381)
    assert rows["TY-005"][3] is None and rows["TY-005"][4] is None               # outside the city: no position
    assert rows["TY-001"][5] == 45000 and rows["TY-003"][5] == 800               # separators and units dropped
    assert rows["TY-002"][6] == "李**" and rows["TY-002"][7] == "138****5678"   # persons' data masked
    assert str(rows["TY-002"][8]) == "2001-10-01" and str(rows["TY-003"][8]) == "2015-06-01"
    assert rows["TY-002"][9] == "320508021" and rows["TY-002"][10] == "320508"   # 双塔街道 from the address
    report = version["quality"]
    assert report["passed"] and any(c["source"] == "dbt" for c in report["checks"])
    assert any(c["source"] == "great_expectations" for c in report["checks"])
    assert version["row_count"] == 5
