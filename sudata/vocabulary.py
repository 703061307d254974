"""The platform's controlled vocabulary, in one place: every module that validates or displays these
terms imports them from here (registry, dataset declarations, quality reports, portal, DCAT).

Terms follow Chinese public-data practice: open types (开放属性), security grades (GB/T 43697-2024),
quality dimensions (GB/T 36344-2018), update frequencies (更新频率), and the declared column types
that drive the standard staging of a departmental source.
"""

from __future__ import annotations

# 开放属性: unconditional 无条件开放 · conditional 有条件开放 · closed 不予开放
OPEN_TYPES: tuple[str, ...] = ("unconditional", "conditional", "closed")
OPEN_TYPE_LABELS: dict[str, str] = {"unconditional": "无条件开放", "conditional": "有条件开放", "closed": "不予开放"}

# 数据分级 (GB/T 43697-2024): 一般 · 重要 · 核心
GRADES: tuple[str, ...] = ("general", "important", "core")
GRADE_LABELS: dict[str, str] = {"general": "一般", "important": "重要", "core": "核心"}

# Kinds of personal data that governance masks or pseudonymises.
PII_KINDS: tuple[str, ...] = ("person_name", "phone", "id_number")

# GB/T 36344-2018. The gate measures the first five; accessibility is the portal's business.
DIMENSIONS: tuple[str, ...] = ("conformity", "completeness", "accuracy", "consistency", "timeliness")
ALL_DIMENSIONS: tuple[str, ...] = (*DIMENSIONS, "accessibility")
DIMENSION_LABELS: dict[str, str] = {
    "conformity": "规范性", "completeness": "完整性", "accuracy": "准确性",
    "consistency": "一致性", "timeliness": "时效性", "accessibility": "可访问性",
}

# 更新频率, with their DCAT (EU frequency authority) code and ISO 8601 period.
UPDATE_FREQUENCIES: dict[str, tuple[str, str | None]] = {
    "实时": ("CONT", "R/PT1S"),
    "每日": ("DAILY", "R/P1D"),
    "每周": ("WEEKLY", "R/P1W"),
    "每月": ("MONTHLY", "R/P1M"),
    "每季度": ("QUARTERLY", "R/P3M"),
    "每年": ("ANNUAL", "R/P1Y"),
    "不定期": ("IRREG", "irregular"),
}

# Declared column types of a registry source: each selects the standard cleaning and validation of
# staging (dbt_project/macros/staging.sql) and the rules the published column inherits.
COLUMN_TYPES: dict[str, str] = {
    "code": "an identifier or code: half-width, upper case, no spaces or hyphens",
    "name": "a name of a person, organisation or place: inner spaces removed when it has no Latin letter",
    "text": "free text: trimmed, empty as null, Chinese punctuation kept, letters and digits half-width",
    "date": "a calendar date in any of the delivered formats (2026-11-23, 2026/1/5, 2026年11月23日, 20261123, Excel serial)",
    "datetime": "a date and a time of day (08:00, 8时30分)",
    "integer": "a whole non-negative count; units and thousands separators dropped",
    "decimal": "a decimal number; units and thousands separators dropped",
    "phone": "a phone number in canonical form (13812345678, 0512-68881234)",
    "uscc": "a unified social credit code (GB 32100), check character validated",
    "id_number": "a resident identity number (GB 11643), check character and birth date validated",
    "division_code": "a county-level division code (GB/T 2260, 6 digits), checked against the division seed",
    "street_code": "a street/town code (9 digits), checked against the seed, pre-2012 codes remapped",
    "address": "an address: free text, matched to a street when the source has no usable street code",
    "longitude": "a longitude inside the city's extent (swapped pairs put right)",
    "latitude": "a latitude inside the city's extent",
    "enum": "a value from a closed list; `values` maps delivered spellings to the canonical value",
    "boolean": "true or false (computed by a source's own rules)",
}

# Whether a declared type is numeric, and its warehouse type after staging (dbt cross-database names).
NUMERIC_TYPES: frozenset[str] = frozenset({"integer", "decimal", "longitude", "latitude"})

# 数据领域: the catalog's domains (shown as CKAN groups and facets).
DOMAINS: tuple[str, ...] = (
    "信用服务", "市场监管", "交通出行", "社会民生", "医疗卫生", "教育文化", "文化旅游", "就业创业",
    "政务服务", "生态环境", "城建住房", "公共安全", "农业农村", "财税金融", "资源能源", "气象服务",
    "地理空间", "科技创新", "安全生产", "社保就业", "法律服务", "机构团体",
)
