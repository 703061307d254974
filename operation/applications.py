"""Applications for use of data (用数申请): what an applicant may ask for, and what a reviewer may grant.

An application names datasets of one providing department (conditional or unconditional, never closed),
optionally a subset of their fields, a period and a mode: ``download`` (files and rows of conditional
datasets, only the fields granted: see ``operation.downloads``), ``zone`` (aggregate queries inside the
operation zone) or ``credit`` (a platform's batch credit checks by code against the enterprise credit
profile). A daily quota counts zone queries, credit codes, or a download's requests or rows.
"""

from __future__ import annotations

from datetime import date

from stdnum.cn import uscc as uscc_code
from stdnum.exceptions import ValidationError

from sudata.store import PublishedStore

from .credit import CREDIT_DATASET
from .store import MODES, OperationError, today

MAX_PERIOD_DAYS = 3 * 366
QUOTA_UNITS = ("requests", "rows")  # what a download authorisation's daily quota counts
REQUIRED = ("organisation", "uscc", "contact_name", "contact_phone", "purpose", "scenario")


def _text(value, name: str, limit: int = 2000) -> str:
    text = ("" if value is None else str(value)).strip()
    if len(text) > limit:
        raise OperationError(f"{name}: at most {limit} characters")
    return text


def _date(value, name: str) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise OperationError(f"{name}: a date YYYY-MM-DD, not {value!r}") from None


def _datasets(store: PublishedStore, requested, mode: str) -> tuple[dict, str]:
    """``{dataset: [fields]}`` checked against the published store, and the one providing department."""
    if isinstance(requested, list):
        requested = {name: [] for name in requested}
    if not isinstance(requested, dict) or not requested:
        raise OperationError("datasets: name at least one dataset")
    if mode == "credit" and set(requested) != {CREDIT_DATASET}:
        raise OperationError(f"datasets: credit checks answer from {CREDIT_DATASET} only")
    out, departments = {}, set()
    for name, fields in requested.items():
        if fields is not None and not isinstance(fields, list):
            raise OperationError(f"datasets: {name}: a list of field names")
        entry = store.dataset(str(name))
        if entry is None or entry["open_type"] == "closed":
            # closed data (不予开放) never leaves the platform: it is not offered, so it is "not found"
            raise OperationError(f"datasets: no dataset named {name!r} may be applied for")
        if mode == "download" and entry["open_type"] != "conditional":
            raise OperationError(f"datasets: {name} is open to everyone (无条件开放): it needs no download authorisation")
        columns = [c["name"] for c in entry["columns"]]
        fields = [str(f).strip() for f in (fields or []) if str(f).strip()]
        unknown = [f for f in fields if f not in columns]
        if unknown:
            raise OperationError(f"datasets: {name} has no field {', '.join(unknown)}")
        out[str(name)] = sorted(set(fields), key=columns.index)
        departments.add(entry["department"])
    if len(departments) != 1:
        raise OperationError("datasets: apply to one providing department at a time"
                             f" (these come from {', '.join(sorted(departments))})")
    return out, departments.pop()


def _period(start, end) -> tuple[str, str]:
    s, e = _date(start, "period_start"), _date(end, "period_end")
    if e < s:
        raise OperationError("period_end is before period_start")
    if e < today():
        raise OperationError("period_end is in the past")
    if (e - s).days > MAX_PERIOD_DAYS:
        raise OperationError("the period may be at most three years")
    return s.isoformat(), e.isoformat()


def validate(store: PublishedStore, data: dict) -> dict:
    """A clean application from form or JSON input, or :class:`OperationError` naming the field."""
    a = {k: _text(data.get(k), k) for k in (*REQUIRED, "contact_email")}
    missing = [k for k in REQUIRED if not a[k]]
    if missing:
        raise OperationError(f"required: {', '.join(missing)}")
    try:
        a["uscc"] = uscc_code.validate(a["uscc"])
    except ValidationError:
        raise OperationError("uscc: not a valid unified social credit code (统一社会信用代码, GB 32100)") from None
    a["mode"] = _text(data.get("mode") or "zone", "mode")
    if a["mode"] not in MODES:
        raise OperationError(f"mode: one of {', '.join(MODES)}")
    a["datasets"], a["department"] = _datasets(store, data.get("datasets"), a["mode"])
    a["period_start"], a["period_end"] = _period(data.get("period_start"), data.get("period_end"))
    return a


def approval_scope(store: PublishedStore, application: dict, *, datasets=None, period_start=None,
                   period_end=None, quota_per_day=None, mode=None, quota_unit=None) -> dict:
    """The scope a reviewer grants: the application's request, narrowed where the reviewer says so."""
    requested = application["datasets"]
    mode = mode or application["mode"]
    if mode not in MODES:
        raise OperationError(f"mode: one of {', '.join(MODES)}")
    granted, _ = _datasets(store, requested if datasets is None else datasets, mode)
    for name, fields in granted.items():
        if name not in requested:
            raise OperationError(f"{name} was not applied for")
        asked = requested[name]
        if asked and (not fields or set(fields) - set(asked)):
            raise OperationError(f"{name}: only the fields applied for may be granted ({', '.join(asked)})")
    start, end = _period(period_start or application["period_start"], period_end or application["period_end"])
    if quota_per_day is not None:
        quota_per_day = int(quota_per_day)
        if quota_per_day < 1:
            raise OperationError("quota_per_day: at least 1")
    scope = {"datasets": granted, "period_start": start, "period_end": end, "quota_per_day": quota_per_day,
             "mode": mode}
    if mode == "download":
        scope["quota_unit"] = quota_unit or "requests"
        if scope["quota_unit"] not in QUOTA_UNITS:
            raise OperationError(f"quota_unit: one of {', '.join(QUOTA_UNITS)}")
    elif quota_unit:
        raise OperationError("quota_unit: only a download quota counts requests or rows"
                             " (a zone quota counts queries, a credit quota codes)")
    return scope
