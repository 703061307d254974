"""Fast JSON encoding for responses (orjson when present, the standard library otherwise)."""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import uuid

try:  # orjson is pinned in constraints.txt; keep a pure-Python fallback all the same
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    _orjson = None


def _default(value):
    if isinstance(value, decimal.Decimal):
        f = float(value)
        return f if math.isfinite(f) else str(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Fragment):  # only reached without orjson's native fragments
        return json.loads(value.contents)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if _orjson is not None and hasattr(_orjson, "Fragment"):
    Fragment = _orjson.Fragment  # already-serialised JSON, embedded as is
else:  # pragma: no cover
    class Fragment:  # type: ignore[no-redef]
        def __init__(self, contents: bytes | str):
            self.contents = contents


if _orjson is not None:
    _OPTS = _orjson.OPT_SERIALIZE_NUMPY

    def dumps(value) -> bytes:
        return _orjson.dumps(value, default=_default, option=_OPTS)

    def loads(data):
        return _orjson.loads(data)
else:  # pragma: no cover
    def dumps(value) -> bytes:
        return json.dumps(value, ensure_ascii=False, default=_default, separators=(",", ":")).encode("utf-8")

    def loads(data):
        return json.loads(data)


MAX_JSON_DEPTH = 32


def _depth_ok(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > limit:
                return False
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return True


def parse_json(text, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` for request input: JSON nested deeper than ``max_depth`` is a ``ValueError`` like
    any other malformed JSON (the standard library itself would raise ``RecursionError`` on deep input,
    and deep values would do the same later when encoded again)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not _depth_ok(value, max_depth):
        raise ValueError(f"JSON nested more than {max_depth} deep")
    return value
