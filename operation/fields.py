"""Which columns identify persons: a column holding persons' data (catalog meta ``pii``) or graded core.
They leave the platform only when a scope names them, and in the zone only inside counts."""

from __future__ import annotations

IDENTIFYING_GRADES = ("core", "核心")


def identifying(entry: dict) -> set[str]:
    return {c["name"] for c in entry["columns"] if c.get("pii") or c.get("grade") in IDENTIFYING_GRADES}
