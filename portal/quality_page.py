"""The dataset page's quality parts: blocked updates told in plain Chinese, and the sixth GB/T 36344
dimension, accessibility (可访问性), which only the portal can measure."""

from __future__ import annotations

import threading
from pathlib import Path

from sudata.assembled import piece_paths, sha256_of

from .catalog import DATA_FORMATS, Dataset

# What a failed check means for someone using the data, by the check's name (first match wins);
# names follow the gate's (sudata.quality.gate), dbt's generic tests and Great Expectations'.
CHECK_MEANINGS: tuple[tuple[str, str], ...] = (
    ("row_count", "本次数据的行数与上一版相比变化过大，数据可能没有完整送达"),
    ("primary_key_unique", "本应唯一的记录编号出现了重复，同一条记录可能被重复计入"),
    ("upstream_fresh", "上游系统今天的数据没有按时送达，发布的话将是过期数据"),
    ("expectation_suite_present", "这个数据集还没有登记质量检查规则，无法确认数据是否可靠"),
    ("no_clear_pii", "发布的字段中可能含有未脱敏的个人信息"),
    ("not_null", "必须填写的字段出现了空值"),
    ("not_be_null", "必须填写的字段出现了空值"),
    ("unique", "本应唯一的字段出现了重复值"),
    ("accepted_values", "字段中出现了不在规定取值范围内的值"),
    ("be_in_set", "字段中出现了不在规定取值范围内的值"),
    ("relationships", "引用的编码在对应的目录中找不到"),
    ("match_regex", "部分值的格式不符合规范（例如编码、日期或电话的写法）"),
    ("valid_", "部分值的格式不符合规范（例如编码、日期或电话的写法）"),
    ("be_between", "部分数值超出了合理范围"),
    ("greater_than", "字段之间的先后或大小关系不成立（例如结束早于开始）"),
    ("type", "字段的类型与登记的不一致"),
)
DIMENSION_MEANINGS = {
    "conformity": "数据的格式或取值不符合规范",
    "completeness": "数据不完整，有缺失",
    "accuracy": "部分数据与实际情况不符或超出合理范围",
    "consistency": "数据前后或与其他数据不一致",
    "timeliness": "数据没有按时更新",
    "accessibility": "数据文件或接口无法正常访问",
}


def check_meaning(check: dict) -> str:
    name = str(check.get("name") or "").lower()
    for pattern, meaning in CHECK_MEANINGS:
        if pattern in name:
            return meaning
    return DIMENSION_MEANINGS.get(str(check.get("dimension") or ""), "数据未达到发布要求")


def blocked_update(d: Dataset, runs: list[dict]) -> dict | None:
    """When the dataset's last gate run blocked its update: when, which checks, what they mean, and the
    version that stays published. ``runs`` are the store's quality runs, newest first."""
    if not runs or runs[0].get("passed"):
        return None
    run = runs[0]
    report = run.get("report") if isinstance(run.get("report"), dict) else {}
    checks = [c for c in report.get("checks", []) if isinstance(c, dict) and c.get("passed") is False]
    blocking = [c for c in checks if c.get("blocking")] or checks
    return {
        "checked_at": run.get("checked_at"), "drop_date": run.get("drop_date"), "score": report.get("score"),
        "checks": [{"name": c.get("name") or "", "dimension": c.get("dimension"), "detail": c.get("detail") or "",
                    "meaning": check_meaning(c)} for c in blocking[:5]],
        "kept_version": d.current_version if d.versions else None,
        "kept_published_at": d.current.published_at if d.versions else None,
    }


_DIGESTS: dict[tuple, str] = {}  # (directory, recorded digest, each piece's size and mtime) → SHA-256
_DIGESTS_LOCK = threading.Lock()


def _sha256(directory: Path, entry: dict) -> str:
    """A version file's SHA-256, kept while the size and modification time of each of its pieces stay."""
    pieces = piece_paths(entry)
    stats = [(directory / p).stat() for p in pieces]
    key = (str(directory), entry.get("sha256"), *((p, st.st_size, st.st_mtime_ns) for p, st in zip(pieces, stats)))
    with _DIGESTS_LOCK:
        known = _DIGESTS.get(key)
    if known is not None:
        return known
    digest = sha256_of(directory, entry)
    with _DIGESTS_LOCK:
        if len(_DIGESTS) >= 65536:
            _DIGESTS.clear()
        _DIGESTS[key] = digest
    return digest


def accessibility(portal, d: Dataset) -> dict:
    """可访问性 of the current version: each format's file is in the store and matches its recorded
    SHA-256, and the row API can open the Parquet file. A file is hashed once while its size and
    modification time stay the same; the result is kept for the snapshot."""
    cached = d.cache.get("accessibility")
    if cached is not None:
        return cached
    v = d.current
    checks = []
    for fmt in d.formats:
        label = DATA_FORMATS[fmt][0]
        located = portal.version_file(d, v, fmt)
        recorded = (v.file(fmt) or {}).get("sha256")
        checks.append({"name": f"{label} 文件存在", "passed": located is not None})
        if recorded:
            checks.append({"name": f"{label} 文件校验和一致",
                           "passed": located is not None and _sha256(*located) == recorded})
    parquet = portal.file_path(d, v, "parquet")
    try:
        api_ok = parquet is not None and bool(portal.datastore.columns(str(parquet)))
    except Exception:  # noqa: BLE001 - an unreadable file is exactly what this measures
        api_ok = False
    checks.append({"name": "数据行接口可读取", "passed": api_ok})
    passed = sum(c["passed"] for c in checks)
    result = {"score": round(passed / len(checks), 4), "passed": passed, "failed": len(checks) - passed,
              "checks": checks}
    d.cache["accessibility"] = result
    return result


def preview_rows(portal, d: Dataset, limit: int = 5) -> dict | None:
    """The first rows of the current version, for unconditional datasets only."""
    if d.conditional:
        return None
    cached = d.cache.get("preview")
    if cached is not None:
        return cached
    parquet = portal.file_path(d, d.current, "parquet")
    if parquet is None:
        return None
    try:
        cur = portal.datastore.cursor().execute("select * from read_parquet(?) limit ?", [str(parquet), limit])
        fields = [c[0] for c in cur.description]
        rows = [["" if x is None else str(x) for x in r] for r in cur.fetchall()]
    except Exception:  # noqa: BLE001 - the page goes on without a preview
        return None
    result = {"fields": fields, "rows": rows}
    d.cache["preview"] = result
    return result
