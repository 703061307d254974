"""Sample departmental drops for the landing zone: ``generate(out, rows, days)`` writes every registered
source as its department delivers it (formats, encodings, Chinese headers, realistic dirt)."""

from __future__ import annotations

from datetime import date
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from samplegen.core import generate, plan
    from samplegen.dirt import DIRT

DEFAULT_SEED = 20261123
DEFAULT_START = date(2026, 11, 23)

__all__ = ["DEFAULT_SEED", "DEFAULT_START", "DIRT", "generate", "plan"]
_HOME = {"generate": "core", "plan": "core", "DIRT": "dirt"}


def __getattr__(name: str) -> Any:
    # loaded on first use, so that the Excel worker process only imports what it needs
    if name in _HOME:
        return getattr(import_module(f"samplegen.{_HOME[name]}"), name)
    raise AttributeError(f"module 'samplegen' has no attribute {name!r}")
