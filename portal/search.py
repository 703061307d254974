"""``package_search`` over a :class:`~portal.catalog.Snapshot`: q, fq, sort, paging and facets.

Matching is done on boolean masks over the snapshot's datasets, so a query costs a handful of NumPy
operations whatever the size of the catalog. The query languages are the parts of Solr's that CKAN
clients and harvesters send:

* ``q``: free text (every word must match, Chinese cut into words by jieba; ranked by BM25),
  ``"quoted phrases"``, ``title:word`` (titles only),
  ``field:value`` clauses, ``OR`` between alternatives, ``-term`` to exclude, ``*:*`` for everything.
* ``fq``: clauses ``field:value``, ``field:"a value"``, ``field:(a OR b)``, ``field:pre*``,
  ``field:[A TO B]`` / ``{A TO B}`` ranges on times (``*`` and ``NOW-7DAYS`` accepted), joined by
  whitespace or ``AND``, or by ``OR``; ``+``/``-``/``NOT`` prefixes, parentheses.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from .catalog import OPEN_TYPE_LABELS, Snapshot, parse_time
from .text import query_terms


class SearchQueryError(ValueError):
    """A query the search cannot parse (CKAN's "Search Query Error")."""


TIME_FIELDS = ("metadata_modified", "metadata_created")
ALWAYS_TRUE = {  # fields CKAN adds to queries itself; every visible dataset satisfies them
    "dataset_type": {"dataset"}, "type": {"dataset"}, "capacity": {"public"}, "state": {"active"},
    "private": {"false"},
}
SORT_FIELDS = ("score", "metadata_modified", "metadata_created", "id", "name", "title_string")
DEFAULT_SORT = "score desc, metadata_modified desc"
MAX_DEPTH = 32   # nested parentheses; the parser recurses once per level


# -- fq / fielded q parsing -----------------------------------------------------------------------
_TOKEN = re.compile(
    r'\s*(?:(?P<lpar>\()|(?P<rpar>\))|(?P<range>[\[{][^\]}]*[\]}])|(?P<quoted>"(?:[^"\\]|\\.)*")'
    r'|(?P<word>[^\s()"\[\]{}]+))'
)


def _tokenise(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = depth = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SearchQueryError(f"cannot parse query near {text[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        depth += {"lpar": 1, "rpar": -1}.get(kind, 0)
        if depth > MAX_DEPTH:
            raise SearchQueryError(f"parentheses nested more than {MAX_DEPTH} deep")
        out.append((kind, m.group(kind)))
        # "field:" directly followed by a quoted value, range or group is one clause
    return out


@dataclass
class _Parser:
    snap: Snapshot
    tokens: list[tuple[str, str]]
    free_text: bool          # q: bare words are full text; fq: bare words are an error
    i: int = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def all(self) -> np.ndarray:
        return np.ones(self.snap.size, dtype=bool)

    def none(self) -> np.ndarray:
        return np.zeros(self.snap.size, dtype=bool)

    # expr := and_expr (OR and_expr)*
    def expr(self) -> tuple[np.ndarray, np.ndarray]:
        mask, score = self.and_expr()
        while self.peek() == ("word", "OR"):
            self.take()
            m2, s2 = self.and_expr()
            mask = mask | m2
            score = score + s2
        return mask, score

    # and_expr := unary ((AND)? unary)*
    def and_expr(self) -> tuple[np.ndarray, np.ndarray]:
        mask, score = self.unary()
        while True:
            kind, val = self.peek()
            if kind is None or kind == "rpar" or (kind, val) == ("word", "OR"):
                break
            if (kind, val) in (("word", "AND"), ("word", "&&")):
                self.take()
                continue
            m2, s2 = self.unary()
            mask = mask & m2
            score = score + s2
        return mask, score

    def unary(self) -> tuple[np.ndarray, np.ndarray]:
        kind, val = self.peek()
        if kind is None:
            raise SearchQueryError("incomplete query")
        negate = False
        if (kind, val) == ("word", "NOT"):
            self.take()
            negate = True
            kind, val = self.peek()
        elif kind == "word" and val[0] in "+-" and len(val) > 1:
            negate = val[0] == "-"
            self.tokens[self.i] = ("word", val[1:])
            kind, val = self.peek()
        elif kind == "word" and val in "+-":
            raise SearchQueryError(f"dangling {val!r}")
        mask, score = self.primary()
        if negate:
            return ~mask, np.zeros(self.snap.size)
        return mask, score

    def primary(self) -> tuple[np.ndarray, np.ndarray]:
        kind, val = self.take()
        if kind == "lpar":
            mask, score = self.expr()
            if self.take()[0] != "rpar":
                raise SearchQueryError("unbalanced parentheses")
            return mask, score
        if kind == "rpar" or kind is None:
            raise SearchQueryError("unbalanced parentheses")
        if kind == "quoted":
            return self.text(_unquote(val))
        if kind == "range":
            raise SearchQueryError(f"range {val!r} needs a field")
        if val in ("*:*", "*"):
            return self.all(), np.zeros(self.snap.size)
        fname, colon, rest = val.partition(":")
        if colon and fname and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", fname):
            if rest:
                return self.field(fname, [("word", rest)])
            nkind, nval = self.peek()
            if nkind in ("quoted", "range"):
                self.take()
                return self.field(fname, [(nkind, nval)])
            if nkind == "lpar":
                depth, group = 0, []
                while True:
                    t = self.take()
                    if t[0] is None:
                        raise SearchQueryError("unbalanced parentheses")
                    group.append(t)
                    depth += {"lpar": 1, "rpar": -1}.get(t[0], 0)
                    if depth == 0:
                        break
                return self.field(fname, group[1:-1])
            raise SearchQueryError(f"no value for field {fname!r}")
        return self.text(val)

    def text(self, value: str) -> tuple[np.ndarray, np.ndarray]:
        if not self.free_text:
            raise SearchQueryError(f"filter {value!r} has no field (use field:value)")
        return text_match(self.snap, value)

    def field(self, fname: str, value_tokens: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        zeros = np.zeros(self.snap.size)
        if fname in ("text", "q", "title"):
            words = " ".join(_unquote(v) if k == "quoted" else v for k, v in value_tokens if k in ("word", "quoted"))
            return text_match(self.snap, words, self.snap.title_text if fname == "title" else None)
        if fname in ALWAYS_TRUE:
            vals = {(_unquote(v) if k == "quoted" else v).lower() for k, v in value_tokens if k in ("word", "quoted")}
            ok = not vals or vals & ALWAYS_TRUE[fname] or "*" in vals
            return (self.all() if ok else self.none()), zeros
        if fname in TIME_FIELDS:
            if len(value_tokens) != 1 or value_tokens[0][0] != "range":
                raise SearchQueryError(f"{fname} takes a range, e.g. {fname}:[2024-01-01T00:00:00Z TO *]")
            return time_range(self.snap, fname, value_tokens[0][1]), zeros
        if fname not in self.snap.fields:
            raise SearchQueryError(f"undefined field {fname}")
        # a value, or an OR-group of values
        mask = self.none()
        expect_value = True
        for k, v in value_tokens:
            if k == "word" and v in ("OR", "||"):
                expect_value = True
                continue
            if k not in ("word", "quoted") or not expect_value and k == "word" and v == "AND":
                raise SearchQueryError(f"unsupported value for {fname}: {v!r}")
            mask |= field_match(self.snap, fname, _unquote(v) if k == "quoted" else v)
        return mask, zeros


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)


def field_match(snap: Snapshot, fname: str, value: str) -> np.ndarray:
    fi = snap.fields[fname]
    mask = np.zeros(snap.size, dtype=bool)
    value = value.strip()
    if fname == "open_type":
        value = {v: k for k, v in OPEN_TYPE_LABELS.items()}.get(value, value)
    key = value.casefold()
    if key == "*":
        mask[fi.doc_pos] = True
    elif key.endswith("*") and "*" not in key[:-1]:
        prefix = key[:-1]
        for k, pos in fi.postings.items():
            if k.startswith(prefix):
                mask[pos] = True
    else:
        pos = fi.postings.get(key)
        if pos is not None:
            mask[pos] = True
    return mask


def _parse_bound(text: str, now: datetime) -> float | None:
    text = text.strip()
    if text in ("*", ""):
        return None
    m = re.fullmatch(r"NOW(?:/DAY)?(?:([+-])(\d+)(SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|YEAR)S?)?(?:/DAY)?", text)
    if m:
        t = now
        if m.group(1):
            seconds = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 7 * 86400,
                       "MONTH": 30 * 86400, "YEAR": 365 * 86400}[m.group(3)]
            try:
                n = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
                t = t + timedelta(seconds=n * seconds)
            except (OverflowError, ValueError):  # beyond year 9999 (or a number too long to read)
                raise SearchQueryError(f"date {text!r} is out of range (years 1 to 9999)") from None
        return t.timestamp()
    dt = parse_time(text)
    if dt is None:
        raise SearchQueryError(f"invalid date {text!r} (ISO 8601 expected, e.g. 2024-01-01T00:00:00Z)")
    return dt.timestamp()


def time_range(snap: Snapshot, fname: str, text: str) -> np.ndarray:
    m = re.fullmatch(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])", text.strip())
    if not m:
        raise SearchQueryError(f"invalid range {text!r}")
    now = datetime.now(timezone.utc)
    lo, hi = _parse_bound(m.group(2), now), _parse_bound(m.group(3), now)
    values = snap.sort_keys[fname]
    mask = np.ones(snap.size, dtype=bool)
    if lo is not None:
        mask &= (values >= lo) if m.group(1) == "[" else (values > lo)
    if hi is not None:
        mask &= (values <= hi) if m.group(4) == "]" else (values < hi)
    return mask


def text_match(snap: Snapshot, text: str, index: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Datasets matching every term of ``text`` (a word or a synonym, whole or as its finer pieces), with
    their BM25 score: per term, the best-scoring way the dataset matches it. ``index``: another inverted
    index than the full text (the titles' for ``title:``)."""
    index = snap.text if index is None else index
    terms = query_terms(text)
    score = np.zeros(snap.size)
    if not terms:
        return np.ones(snap.size, dtype=bool), score
    mask = np.ones(snap.size, dtype=bool)
    for term in terms:
        term_mask = np.zeros(snap.size, dtype=bool)
        term_score = np.zeros(snap.size)
        for alternative in term:
            slots = [[index[tok] for tok in slot if tok in index] for slot in alternative]
            if not all(slots):
                continue
            alt_mask = np.ones(snap.size, dtype=bool)
            alt_score = np.zeros(snap.size)
            for postings in slots:          # any token of a slot (a word or its synonym) will do
                m = np.zeros(snap.size, dtype=bool)
                s = np.zeros(snap.size)
                for pos, weights in postings:
                    m[pos] = True
                    s[pos] = np.maximum(s[pos], weights)   # positions of one posting are distinct
                alt_mask &= m
                alt_score += s
            term_mask |= alt_mask
            np.maximum(term_score, np.where(alt_mask, alt_score, 0.0), out=term_score)
        mask &= term_mask
        if not mask.any():
            return mask, np.zeros(snap.size)
        score += term_score
    score[~mask] = 0.0
    return mask, score


class QueryCache:
    """The matches of recently parsed ``q`` and ``fq`` texts, as Solr's queryResultCache and filterCache
    keep them: a snapshot never changes, so what a query matched stays true until the snapshot is
    replaced (and its cache with it). Stored sparse (positions and their scores); every hit is rebuilt
    into fresh arrays, which the caller may narrow in place."""

    def __init__(self, size: int = 512):
        self.size = size
        self._items: OrderedDict[tuple[str, bool], tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, snap: Snapshot, text: str, free_text: bool) -> tuple[np.ndarray, np.ndarray]:
        key = (text, free_text)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
        if hit is None:
            mask, score = _parse_query(snap, text, free_text)
            scored = np.flatnonzero(score)
            hit = (np.flatnonzero(mask), scored, score[scored])
            with self._lock:
                self._items[key] = hit
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        matched, scored, scores = hit
        mask, score = np.zeros(snap.size, dtype=bool), np.zeros(snap.size)
        mask[matched] = True
        score[scored] = scores
        return mask, score


# a bound relative to the clock (metadata_modified:[NOW-1DAY TO NOW]) means something else a minute later
_CLOCK = re.compile(r"NOW", re.IGNORECASE)


def parse_query(snap: Snapshot, text: str, free_text: bool) -> tuple[np.ndarray, np.ndarray]:
    """The datasets a query matches and their scores (through the snapshot's QueryCache)."""
    if _CLOCK.search(text):
        return _parse_query(snap, text, free_text)
    cache = snap.cache.get("queries") or snap.cache.setdefault("queries", QueryCache())
    return cache.get(snap, text, free_text)


def _parse_query(snap: Snapshot, text: str, free_text: bool) -> tuple[np.ndarray, np.ndarray]:
    tokens = _tokenise(text)
    if not tokens:
        return np.ones(snap.size, dtype=bool), np.zeros(snap.size)
    p = _Parser(snap, tokens, free_text)
    mask, score = p.expr()
    if p.i != len(tokens):
        raise SearchQueryError("unbalanced parentheses")
    return mask, score


# -- sorting ----------------------------------------------------------------------------------------
def parse_sort(sort: str | None) -> list[tuple[str, bool]]:
    """CKAN's sort syntax; without a query every score is 0, so the default falls back to recency."""
    text = (sort or "").strip() or DEFAULT_SORT
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) > 2 or bits[0] not in SORT_FIELDS:
            raise SearchQueryError(f"can not sort on {part.strip()!r}; sortable: {', '.join(SORT_FIELDS)}")
        direction = bits[1].lower() if len(bits) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise SearchQueryError(f"invalid sort direction {bits[1]!r}")
        keys.append((bits[0], direction == "desc"))
    if not keys:
        raise SearchQueryError("empty sort")
    return keys


def order(snap: Snapshot, positions: np.ndarray, score: np.ndarray, keys: list[tuple[str, bool]]) -> np.ndarray:
    if positions.size <= 1:
        return positions
    columns = []
    for fname, desc in keys:
        col = score[positions] if fname == "score" else snap.sort_keys[fname][positions]
        columns.append(-col if desc else col)
    columns.append(snap.sort_keys["name"][positions])  # deterministic tie-break
    idx = np.lexsort(tuple(reversed(columns)))
    return positions[idx]


# -- the search -------------------------------------------------------------------------------------
@dataclass
class SearchResult:
    count: int
    positions: list[int]             # the requested page, in order
    facets: dict[str, list[tuple[str, int]]]
    sort: str


def search(
    snap: Snapshot,
    q: str = "",
    fq: list[str] | None = None,
    sort: str | None = None,
    start: int = 0,
    rows: int = 10,
    facet_fields: list[str] | None = None,
    facet_limit: int = 50,
    facet_mincount: int = 1,
    filters: dict[str, list[str]] | None = None,
) -> SearchResult:
    q = (q or "").strip()
    mask, score = parse_query(snap, q, free_text=True) if q else (np.ones(snap.size, dtype=bool), np.zeros(snap.size))
    for clause in fq or []:
        if clause and clause.strip():
            m, _ = parse_query(snap, clause, free_text=False)
            mask &= m
    for fname, values in (filters or {}).items():
        if fname not in snap.fields:
            raise SearchQueryError(f"undefined field {fname}")
        for v in values:  # each selected facet value narrows the result
            mask &= field_match(snap, fname, v)
    keys = parse_sort(sort)
    positions = np.flatnonzero(mask)
    ordered = order(snap, positions, score, keys) if rows > 0 else positions
    page = ordered[start:start + rows].tolist() if rows > 0 else []
    facets: dict[str, list[tuple[str, int]]] = {}
    for fname in facet_fields or []:
        if fname not in snap.fields:
            raise SearchQueryError(f"undefined facet field {fname}")
        fi = snap.fields[fname]
        if fi.codes.size == 0:
            facets[fname] = []
            continue
        counts = np.bincount(fi.codes[mask[fi.doc_pos]], minlength=len(fi.values))
        nz = np.flatnonzero(counts >= max(facet_mincount, 1))
        top = sorted(nz.tolist(), key=lambda c: (-int(counts[c]), fi.values[c]))
        if facet_limit >= 0:
            top = top[:facet_limit]
        facets[fname] = [(fi.values[c], int(counts[c])) for c in top]
    return SearchResult(
        count=int(positions.size), positions=page, facets=facets,
        sort=", ".join(f"{f} {'desc' if d else 'asc'}" for f, d in keys),
    )
