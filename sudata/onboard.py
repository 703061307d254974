"""Draft a registry entry from a delivered file the project has never seen (``sudata onboard``).

The draft is a starting point for an engineer: encoding, format, headers, a snake_case name per column,
a declared type inferred from the values (``sudata.vocabulary.COLUMN_TYPES``), ``required`` where no
value is missing, a primary key, and suggested grades where values look like ID numbers, mobile phones
or personal names. Whatever is uncertain carries a ``# review:`` note in the YAML.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from charset_normalizer import from_bytes
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from sudata.ingest.readers import read_file
from sudata.registry import Department, Source
from sudata.vocabulary import COLUMN_TYPES

FORMAT_OF_SUFFIX = {".csv": "csv", ".txt": "csv", ".json": "json", ".xlsx": "xlsx"}
SAMPLE = 20_000  # values per column looked at for the type; keys and completeness use every row
CONFIDENT = 0.9  # share of the values that must fit a type for it to be suggested

# Common public-data header words → English name parts; the longest word matches first.
HEADER_WORDS: dict[str, str] = {
    "统一社会信用代码": "uscc", "社会信用代码": "uscc", "信用代码": "uscc",
    "法定代表人": "legal_person_name", "法人代表": "legal_person_name", "负责人": "head_name",
    "联系人": "contact_name", "姓名": "person_name", "申请人": "applicant_name", "经办人": "handler_name",
    "身份证号码": "id_number", "身份证号": "id_number", "证件号码": "id_number", "公民身份号码": "id_number",
    "联系电话": "phone", "联系方式": "phone", "手机号码": "phone", "手机": "phone", "电话": "phone",
    "经度": "longitude", "纬度": "latitude", "地址": "address", "住址": "address",
    "街道": "street", "乡镇": "street", "区县": "district", "社区": "community", "行政区划": "division",
    "名称": "name", "编号": "code", "代码": "code", "类型": "type", "类别": "category", "状态": "status",
    "日期": "date", "时间": "time", "数量": "count", "人数": "headcount", "金额": "amount", "面积": "area",
    "企业": "enterprise", "机构": "org", "单位": "unit", "项目": "project", "许可": "licence", "证书": "certificate",
    "登记": "registration", "注册": "registration", "成立": "established", "开始": "start", "结束": "end",
    "有效期": "valid", "备注": "remarks", "等级": "level", "评分": "score",
    "床位": "beds", "户数": "households", "景区": "scenic_spot", "人次": "visits", "标识码": "code",
    "文号": "document_number", "门票": "ticket", "价格": "price", "开放": "opening", "咨询": "", "学校": "school",
    "医院": "hospital", "站点": "station", "线路": "route", "所属": "", "办公": "", "经营": "business",
}
PERSON_HEADER = re.compile(r"姓名|负责人|联系人|法定代表人|法人|申请人|经办人|户主|person|contact", re.IGNORECASE)
COMMON_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤顾倪殷"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "慕容", "皇甫", "令狐", "司徒", "尉迟")
CJK = re.compile(r"[\u4e00-\u9fff]")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}[2-9]\d{6,7}$")  # with its area code
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H时%M分", "%H时%M分%S秒", "%H点%M分")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
INTEGER = re.compile(r"^[+-]?(0|[1-9]\d*)$")  # leading zeros make it a code
LON_BOX, LAT_BOX = (119.9, 121.4), (30.7, 32.1)  # Suzhou's extent
ENUM_MAX = 12
CODE_HEADER = re.compile(r"代码|编号|编码|号码|标识码|文号|code|id$", re.IGNORECASE)


class OnboardError(ValueError):
    """The file cannot be drafted from (unknown format, unreadable); the message says why."""


@dataclass
class ColumnDraft:
    name: str
    header: str
    type: str
    required: bool
    grade: str = "general"
    pii: str | None = None
    notes: list[str] = field(default_factory=list)
    values: dict[str, list[str]] | None = None   # enum: each delivered value as its own canonical value


@dataclass
class SourceDraft:
    id: str
    title: str
    files: str
    format: str
    encoding: str | None
    rows: int
    primary_key: list[str]
    columns: list[ColumnDraft]
    notes: list[str] = field(default_factory=list)


# --- names -------------------------------------------------------------------------------------------

def snake_case(text: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text.strip())
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return f"c_{name}" if name[:1].isdigit() else name


def header_name(header: str) -> str | None:
    """An English snake_case name for a header, or None when nothing in it is known."""
    if header.isascii():
        return snake_case(header) or None
    parts, i = [], 0
    words = sorted(HEADER_WORDS, key=len, reverse=True)
    while i < len(header):
        word = next((w for w in words if header.startswith(w, i)), None)
        if word is None:
            if header[i].isascii() and header[i].isalnum():
                j = i
                while j < len(header) and header[j].isascii() and header[j].isalnum():
                    j += 1
                parts.append(header[i:j].lower())
                i = j
            else:
                i += 1
            continue
        if HEADER_WORDS[word] and HEADER_WORDS[word] not in parts:
            parts.append(HEADER_WORDS[word])
        i += len(word)
    # "企业名称" → enterprise_name; "名称" alone → name; a known compound wins over its parts
    return "_".join(parts) if parts else None


def source_id(path: Path) -> str:
    stem = re.sub(r"[_-]?\d{4}-?\d{2}-?\d{2}$", "", path.stem)  # a drop date in the file name
    return header_name(stem) or "new_source"


# --- types ---------------------------------------------------------------------------------------------

def _parse_date(v: str) -> bool:
    return any(_strptime(v, f) for f in DATE_FORMATS)


def _parse_datetime(v: str) -> bool:
    v = v.replace("T", " ")
    day, _, clock = v.partition(" ")
    return bool(clock) and _parse_date(day) and any(_strptime(clock.strip(), f) for f in TIME_FORMATS)


def _strptime(v: str, fmt: str) -> bool:
    try:
        d = datetime.strptime(v, fmt)
    except ValueError:
        return False
    return 1900 <= d.year <= 2100 if "%Y" in fmt else True


def _number(v: str) -> float | None:
    s = v.replace(",", "")
    return float(s) if NUMBER.match(s) else None


def _phone(v: str) -> str:
    return re.sub(r"[\s()（）-]", "", v)


def _in(box: tuple[float, float], v: str) -> bool:
    x = _number(v)
    return x is not None and box[0] <= x <= box[1]


def _id_number(v: str) -> bool:
    """GB 11643 check character and birth date (stdnum). The division code is not checked against the
    birth year: a number keeps the code of its first registration, often years after birth."""
    v = v.upper()
    if len(v) != 18 or not v[:-1].isdigit() or v[-1] != ric.calc_check_digit(v):
        return False
    try:
        ric.get_birth_date(v)
    except ValidationError:
        return False
    return True


def looks_like_person_name(v: str) -> bool:
    if not (2 <= len(v) <= 4) or not all(CJK.match(c) for c in v):
        return False
    return v[0] in COMMON_SURNAMES or v.startswith(COMPOUND_SURNAMES)


# Checked in this order: the first type most values fit is suggested.
TYPE_TESTS = (
    ("uscc", lambda v: uscc.is_valid(v)),
    ("id_number", lambda v: _id_number(v)),
    ("street_code", lambda v: len(v) == 9 and v.isdigit() and v.startswith("3205")),
    ("division_code", lambda v: len(v) == 6 and v.isdigit() and v.startswith("3205")),
    ("datetime", _parse_datetime),
    ("date", _parse_date),
    ("phone", lambda v: bool(MOBILE.match(_phone(v)) or LANDLINE.match(_phone(v)))),
    ("longitude", lambda v: _in(LON_BOX, v)),
    ("latitude", lambda v: _in(LAT_BOX, v)),
    ("integer", lambda v: bool(INTEGER.match(v.replace(",", ""))) and len(v) < 10),  # longer: a code
    ("decimal", lambda v: _number(v) is not None),
)
assert {t for t, _ in TYPE_TESTS} <= set(COLUMN_TYPES)


def infer_type(header: str, values: list[str], rows: int) -> tuple[str, list[str]]:
    """The declared type most values fit, and review notes when that is uncertain."""
    if not values:
        return "text", ["no values delivered: the type is a guess"]
    sample = values[:SAMPLE]
    for kind, test in TYPE_TESTS:
        if kind in ("integer", "decimal") and CODE_HEADER.search(header):
            break  # numbered identifiers are codes, not quantities
        misfits = [v for v in sample if not test(v)]
        share = 1 - len(misfits) / len(sample)
        if share >= CONFIDENT:
            notes = []
            if misfits:
                notes.append(f"{len(misfits)} of {len(sample)} values are not a valid {kind} "
                             f"(e.g. {misfits[0]!r}): bad rows, or another type?")
            return kind, notes
    distinct = sorted(set(values))
    if len(distinct) <= ENUM_MAX and len(distinct) * 4 <= len(values):
        shown = ", ".join(distinct)
        return "enum", [f"{len(distinct)} distinct values ({shown}): merge the spellings of one value in `values:`"]
    if re.search(r"地址|住址|address", header, re.IGNORECASE):
        return "address", []
    names = sum(looks_like_person_name(v) for v in sample) / len(sample)
    if names >= 0.8 or re.search(r"名称|名$|name", header, re.IGNORECASE) or PERSON_HEADER.search(header):
        return "name", []
    if all(v.isascii() and re.fullmatch(r"[0-9A-Za-z_-]{1,32}", v) for v in sample):
        return "code", []
    return "text", []


def suggest_grade(column: ColumnDraft, values: list[str]) -> None:
    """pii and grade where the values look like personal data (GB/T 43697: ID numbers core, else important)."""
    sample = values[:SAMPLE]
    if column.type == "id_number":
        column.pii, column.grade = "id_number", "core"
    elif column.type == "phone" and sample:
        mobiles = sum(bool(MOBILE.match(_phone(v))) for v in sample) / len(sample)
        if mobiles >= 0.5:
            column.pii, column.grade = "phone", "important"
        else:
            column.notes.append("mostly landline numbers (office phones?): kept general")
    elif sample:
        names = sum(looks_like_person_name(v) for v in sample) / len(sample)
        person_header = bool(PERSON_HEADER.search(column.header))
        if names >= 0.8 and person_header:
            column.pii, column.grade = "person_name", "important"
        elif names >= 0.8:
            column.notes.append("values look like personal names: pii: person_name, grade: important?")
        elif person_header and column.type in ("name", "text"):
            column.notes.append("the header suggests a person: are these personal names?")


# --- the draft -----------------------------------------------------------------------------------------

def detect_encoding(data: bytes) -> tuple[str, list[str]]:
    """The registry spelling of the file's encoding (charset-normalizer), with a note when it is a guess."""
    head = data[:2_000_000]
    try:  # strict UTF-8 decoding of Chinese text is unambiguous; a cut multi-byte character at the end is not an error
        head.decode("utf-8")
        return "utf-8", []
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and len(head) < len(data):
            return "utf-8", []
    best = from_bytes(head).best()
    if best is None:
        raise OnboardError("cannot tell the file's text encoding: is it a text export?")
    name = best.encoding.lower().replace("_", "-")
    if name not in ("gb2312", "gbk", "gb18030", "hz", "big5") and _decodes(data, "gb18030"):
        # short Chinese files fool the detector (cp949, shift_jis…); departments here deliver GBK
        return ("gbk" if _decodes(data, "gbk") else "gb18030"), [f"encoding looks like GBK (detector said {name}): confirm"]
    if name in ("utf-8", "ascii", "utf-8-sig"):
        return "utf-8", []
    if name in ("gb2312", "gbk", "gb18030", "hz"):
        try:
            data.decode("gbk")
            return "gbk", []
        except UnicodeDecodeError:
            return "gb18030", []
    return name, [f"encoding detected as {name}: confirm with the department"]


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def draft_source(path: Path, department_id: str) -> SourceDraft:
    path = Path(path)
    fmt = FORMAT_OF_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise OnboardError(f"{path.name}: unknown format {path.suffix!r}; onboard reads {sorted(FORMAT_OF_SUFFIX)}")
    data = path.read_bytes()
    notes: list[str] = []
    encoding = None
    if fmt != "xlsx":
        encoding, notes = detect_encoding(data)
    probe = Source(id="onboard", department=Department(department_id, department_id, department_id),
                   title=path.stem, title_en=path.stem, files=path.name, format=fmt,
                   encoding=encoding or "utf-8", primary_key=())
    parsed = read_file(path, probe)
    if parsed.bad_rows:
        notes.append(f"{len(parsed.bad_rows)} rows could not be read (e.g. row {parsed.bad_rows[0][0]}: "
                     f"{parsed.bad_rows[0][1]}); they will be quarantined")
    rows = parsed.table.num_rows
    columns: list[ColumnDraft] = []
    key: list[str] = []
    taken: set[str] = set()
    for i, header in enumerate(parsed.header):
        raw = parsed.table.column(i).to_pylist()
        # full-width digits and punctuation (０５１２－…) are what staging normalises: infer from the half-width form
        values = [unicodedata.normalize("NFKC", v).strip() for v in raw if v is not None and v.strip()]
        name, col_notes = header_name(header), []
        if name is None:
            name = f"col_{i + 1}"
            col_notes.append(f"no English name known for {header!r}: name the column")
        base, n = name, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        kind, type_notes = infer_type(header, values, rows)
        column = ColumnDraft(name=name, header=header, type=kind, required=len(values) == rows and rows > 0,
                             notes=col_notes + type_notes)
        if kind == "enum":
            column.values = {v: [v] for v in sorted(set(values))}
        suggest_grade(column, values)
        columns.append(column)
        if not key and column.required and len(set(values)) == rows:
            key = [name]
    if not key:
        notes.append("no column is unique and never empty: declare a key of several columns")
    elif columns[[c.name for c in columns].index(key[0])].type in ("name", "text", "address"):
        notes.append(f"primary key {key[0]} is free text: is it really the identifier?")
    title = re.sub(r"[_-]?\d{4}-?\d{2}-?\d{2}$", "", path.stem)
    return SourceDraft(id=source_id(path), title=title, files=f"*{path.suffix.lower()}", format=fmt,
                       encoding=encoding, rows=rows, primary_key=key, columns=columns, notes=notes)


def _flow(mapping: dict) -> str:
    return yaml.safe_dump(mapping, allow_unicode=True, default_flow_style=True, sort_keys=False,
                          width=10**6).strip()


def _scalar(value: object) -> str:
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10**6).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def render(draft: SourceDraft, department_id: str, department_name: str | None, source_path: Path) -> str:
    """The commented YAML an engineer reviews and pastes into registry/<department>.yml."""
    out = [f"# Drafted by `sudata onboard` from {source_path.name} ({draft.rows} data rows). Review every",
           "# `# review:` note; types are inferred from the values, grades only suggested."]
    if department_name is None:
        out += [f"# registry/{department_id}.yml does not exist yet: this is the whole new file.",
                "department:",
                f"  id: {department_id}",
                f"  name: {department_id}  # review: the department's Chinese name",
                f"  name_en: {department_id}  # review: the department's English name"]
    else:
        out.append(f"# Add the entry under `sources:` in registry/{department_id}.yml ({department_name}).")
    out += ["sources:",
            f"  - id: {draft.id}" + ("  # review: name the source" if draft.id == "new_source" else ""),
            f"    title: {_scalar(draft.title)}  # review: the source's Chinese title",
            f"    title_en: {draft.id}  # review: the English title",
            f"    files: {_scalar(draft.files)}",
            f"    format: {draft.format}",
            '    delivery: {frequency: 每日, deadline: "01:30"}  # review: when the department\'s drops are due']
    if draft.encoding:
        out.append(f"    encoding: {draft.encoding}")
    out.append(f"    primary_key: {_flow(draft.primary_key)}")
    out += [f"    # review: {note}" for note in draft.notes]
    out.append("    columns:")
    for c in draft.columns:
        entry = {"name": c.name, "header": c.header, "type": c.type, "grade": c.grade}
        if c.pii:
            entry["pii"] = c.pii
        if c.required:
            entry["required"] = True
        if c.values:
            entry["values"] = c.values
        note = f"  # review: {'; '.join(c.notes)}" if c.notes else ""
        out.append(f"      - {_flow(entry)}{note}")
    return "\n".join(out) + "\n"


def department_name(registry_dir: Path, department_id: str) -> str | None:
    """The department's name when registry/<department>.yml exists, else None."""
    path = Path(registry_dir) / f"{department_id}.yml"
    if not path.exists():
        return None
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return (doc.get("department") or {}).get("name", department_id)


def onboard(path: Path, department_id: str, registry_dir: Path) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", department_id):
        raise OnboardError(f"department {department_id!r} must be a snake_case id (the registry file's name)")
    draft = draft_source(Path(path), department_id)
    return render(draft, department_id, department_name(registry_dir, department_id), Path(path))
