"""Tokenisation for the catalog's full-text index.

Latin text is split into lower-cased words (``street_code`` is indexed whole and as ``street`` and
``code``); Chinese, which has no spaces, is indexed as overlapping character bigrams plus single
characters. A query is tokenised the same way, and a Chinese query run of two or more characters
becomes its bigrams, all of which must match: "公共交通" → 公共, 共交, 交通.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[0-9a-z_]+|[{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _latin(word: str) -> list[str]:
    parts = [p for p in word.split("_") if p]
    out = [word.strip("_")] if word.strip("_") else []
    if len(parts) > 1:
        out.extend(parts)
    return out


def index_tokens(text: str) -> Counter:
    """Tokens of a document field with their counts (bigrams and unigrams for Chinese)."""
    counts: Counter = Counter()
    for run in _RUN.findall(normalise(text)):
        if _IS_CJK.match(run):
            counts.update(run)
            counts.update(run[i:i + 2] for i in range(len(run) - 1))
        else:
            counts.update(_latin(run))
    return counts


def query_tokens(text: str) -> list[str]:
    """Tokens that a document must all contain to match ``text``."""
    out: list[str] = []
    for run in _RUN.findall(normalise(text)):
        if _IS_CJK.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i:i + 2] for i in range(len(run) - 1))
        else:
            word = run.strip("_")
            if word:
                out.append(word)
    seen: set[str] = set()
    return [t for t in out if not (t in seen or seen.add(t))]
