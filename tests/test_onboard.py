"""``sudata onboard`` on delivered files the project has never seen: a GBK CSV with Chinese headers,
coordinates, phones and ID numbers; an xlsx workbook; a JSON export. The drafts must infer the
declared types and suggest the grades, and the YAML must parse (and load as a registry file)."""

from __future__ import annotations

import json
import random
from datetime import datetime

import openpyxl
import pytest
import yaml
from stdnum.cn import ric, uscc

from cli.main import main
from sudata.onboard import draft_source, onboard
from sudata.registry import load_registry
from sudata.settings import REGISTRY_DIR
from sudata.vocabulary import COLUMN_TYPES

ROWS = 60
SURNAMES = "王李张刘陈杨黄赵吴周徐孙"
GIVEN = ["伟", "芳", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "艳", "勇", "娟", "涛", "明"]


def _uscc(rng: random.Random) -> str:
    base = "91320505" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return base + uscc.calc_check_digit(base)


def _id_number(rng: random.Random) -> str:
    base = f"320505{rng.randint(1950, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return base + ric.calc_check_digit(base + "0")  # stdnum expects a placeholder check digit


@pytest.fixture(scope="module")
def rng_rows():
    rng = random.Random(20261203)
    rows = []
    for i in range(ROWS):
        rows.append({
            "统一社会信用代码": _uscc(rng),
            "企业名称": f"苏州市{rng.choice(['恒信', '金港', '华瑞', '东吴'])}{i}号科技有限公司",
            "法定代表人": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "身份证号": _id_number(rng),
            "联系电话": f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}",
            "经度": f"{rng.uniform(120.3, 121.0):.6f}",
            "纬度": f"{rng.uniform(31.0, 31.7):.6f}",
            "成立日期": rng.choice(["2019年3月5日", "2021-07-19", "2020/1/8", "20180611"]),
            "所属街道代码": f"3205050{rng.randint(1, 20):02d}",
            "企业类型": rng.choice(["有限责任公司", "股份有限公司", "个人独资企业"]),
            "备注": rng.choice(["", "", f"{2019 + i % 7}年度年报已公示（第{i}号）", f"经营地址变更待核实，编号{i}"]),
        })
    return rows


@pytest.fixture(scope="module")
def gbk_csv(tmp_path_factory, rng_rows):
    path = tmp_path_factory.mktemp("drop") / "市场主体登记_20261203.csv"
    header = list(rng_rows[0])
    lines = [",".join(header)] + [",".join(r[h] for h in header) for r in rng_rows]
    lines.insert(7, "91320505XXXX,断行")  # one broken row: quarantined, not fatal
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def _by_header(draft):
    return {c.header: c for c in draft.columns}


def test_gbk_csv_types_grades_and_key(gbk_csv):
    draft = draft_source(gbk_csv, "market_regulation")
    assert (draft.format, draft.encoding, draft.rows, draft.files) == ("csv", "gbk", ROWS, "*.csv")
    cols = _by_header(draft)
    assert {h: (c.name, c.type) for h, c in cols.items()} == {
        "统一社会信用代码": ("uscc", "uscc"), "企业名称": ("enterprise_name", "name"),
        "法定代表人": ("legal_person_name", "name"), "身份证号": ("id_number", "id_number"),
        "联系电话": ("phone", "phone"), "经度": ("longitude", "longitude"), "纬度": ("latitude", "latitude"),
        "成立日期": ("established_date", "date"), "所属街道代码": ("street_code", "street_code"),
        "企业类型": ("enterprise_type", "enum"), "备注": ("remarks", "text"),
    }
    assert all(c.type in COLUMN_TYPES for c in draft.columns)
    assert (cols["身份证号"].pii, cols["身份证号"].grade) == ("id_number", "core")
    assert (cols["联系电话"].pii, cols["联系电话"].grade) == ("phone", "important")
    assert (cols["法定代表人"].pii, cols["法定代表人"].grade) == ("person_name", "important")
    assert (cols["企业名称"].pii, cols["企业名称"].grade) == (None, "general")
    assert (cols["统一社会信用代码"].pii, cols["统一社会信用代码"].grade) == (None, "general")
    assert cols["统一社会信用代码"].required and not cols["备注"].required
    assert draft.primary_key == ["uscc"]
    assert any("could not be read" in n for n in draft.notes)  # the broken row is reported
    assert any("values:" in n for n in cols["企业类型"].notes)


def test_draft_yaml_parses_and_loads_as_a_registry_file(gbk_csv, tmp_path):
    text = onboard(gbk_csv, "new_department", REGISTRY_DIR)
    assert "# review:" in text
    doc = yaml.safe_load(text)
    assert doc["department"]["id"] == "new_department"
    (source,) = doc["sources"]
    assert source["id"] == "registration"  # 市场主体登记: the known word of the file name
    assert source["encoding"] == "gbk" and source["primary_key"] == ["uscc"]
    by_name = {c["name"]: c for c in source["columns"]}
    assert by_name["id_number"] == {"name": "id_number", "header": "身份证号", "type": "id_number",
                                    "grade": "core", "pii": "id_number", "required": True}
    assert "required" not in by_name["remarks"]
    (tmp_path / "new_department.yml").write_text(text, encoding="utf-8")
    loaded = load_registry(tmp_path)[source["id"]]
    assert loaded.primary_key == ("uscc",)
    assert loaded.delivery.frequency == "每日" and loaded.delivery.deadline == "01:30", "a deadline to review"
    assert loaded.headers["法定代表人"] == "legal_person_name"


def test_existing_department_gets_no_department_block(gbk_csv):
    text = onboard(gbk_csv, "market_regulation", REGISTRY_DIR)
    doc = yaml.safe_load(text)
    assert "department" not in doc and len(doc["sources"]) == 1
    assert "registry/market_regulation.yml" in text


def test_xlsx_workbook(tmp_path):
    path = tmp_path / "school_canteens.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["许可证编号", "食堂名称", "区县代码", "就餐人数", "检查时间", "负责人", "办公电话", "评分"])
    rng = random.Random(7)
    for i in range(40):
        ws.append([f"JY{32050000 + i:08d}", f"苏州市第{i + 1}中学食堂", rng.choice(["320505", "320506", "320508"]),
                   rng.randint(80, 2400), datetime(2026, 11, rng.randint(1, 28), rng.randint(8, 17), 30),
                   rng.choice(SURNAMES) + rng.choice(GIVEN), f"0512-6{rng.randint(0, 9999999):07d}",
                   round(rng.uniform(60, 100), 1)])
    wb.save(path)
    draft = draft_source(path, "education")
    cols = _by_header(draft)
    assert draft.encoding is None and draft.format == "xlsx"
    assert {h: c.type for h, c in cols.items()} == {
        "许可证编号": "code", "食堂名称": "name", "区县代码": "division_code", "就餐人数": "integer",
        "检查时间": "datetime", "负责人": "name", "办公电话": "phone", "评分": "decimal",
    }
    assert (cols["负责人"].pii, cols["负责人"].grade) == ("person_name", "important")
    assert (cols["办公电话"].pii, cols["办公电话"].grade) == (None, "general")  # landlines: office numbers
    assert draft.primary_key == [cols["许可证编号"].name]
    assert draft.id == "school_canteens"


def test_json_export_and_the_command(tmp_path, capsys):
    path = tmp_path / "charging_stations.json"
    rng = random.Random(11)
    records = [{"站点名称": f"{rng.choice(['金鸡湖', '石湖', '阳澄湖'])}充电站{i}", "lng": round(rng.uniform(120.5, 120.9), 5),
                "lat": round(rng.uniform(31.1, 31.5), 5), "更新时间": f"2026-12-0{rng.randint(1, 3)} 0{rng.randint(0, 9)}:00:00",
                "空闲桩数": rng.randint(0, 12), "运营状态": rng.choice(["运营中", "维护中"]),
                "联系人": rng.choice(SURNAMES) + rng.choice(GIVEN) if i % 5 else None}
               for i in range(50)]
    path.write_text(json.dumps({"total": 50, "data": records}, ensure_ascii=False), encoding="utf-8")
    assert main(["onboard", str(path), "--department", "transport"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    (source,) = doc["sources"]
    assert (source["format"], source["encoding"], source["files"]) == ("json", "utf-8", "*.json")
    by_header = {c["header"]: c for c in source["columns"]}
    assert {h: c["type"] for h, c in by_header.items()} == {
        "站点名称": "name", "lng": "longitude", "lat": "latitude", "更新时间": "datetime",
        "空闲桩数": "integer", "运营状态": "enum", "联系人": "name",
    }
    assert by_header["联系人"]["pii"] == "person_name" and "required" not in by_header["联系人"]
    assert by_header["站点名称"]["required"] is True and source["primary_key"] == ["station_name"]


def test_the_command_reports_unreadable_files(tmp_path, capsys):
    path = tmp_path / "drop.pdf"
    path.write_bytes(b"%PDF-1.7")
    assert main(["onboard", str(path), "--department", "transport"]) == 1
    assert "unknown format" in capsys.readouterr().err


def test_identifier_checks_use_the_check_characters():
    from sudata.onboard import infer_type

    rng = random.Random(3)
    good = [_id_number(rng) for _ in range(30)]
    bad = good[0][:-1] + ("0" if good[0][-1] != "0" else "1")
    kind, notes = infer_type("身份证号", good + [bad], 31)
    assert kind == "id_number" and notes and repr(bad) in notes[0]
    codes = [_uscc(rng) for _ in range(30)]
    assert infer_type("统一社会信用代码", codes, 30) == ("uscc", [])
    broken = [c[:-1] + ("0" if c[-1] != "0" else "1") for c in codes]
    assert infer_type("统一社会信用代码", broken, 30)[0] == "code"


def test_short_gbk_file_with_few_chinese_characters(tmp_path):
    # three Chinese headers and ASCII values: too little text for the detector alone (it says cp949)
    path = tmp_path / "scenic_visitors_daily_20261123.csv"
    lines = ["景区编号,日期,接待人次"] + [f"JQ{i:05d},2026-11-23,{1000 + 37 * i}" for i in range(1, 40)]
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    draft = draft_source(path, "culture_tourism")
    assert draft.id == "scenic_visitors_daily" and draft.encoding == "gbk"
    assert [(c.name, c.type) for c in draft.columns] == [
        ("scenic_spot_code", "code"), ("date", "date"), ("visits", "integer")]
    assert draft.primary_key == ["scenic_spot_code"]
