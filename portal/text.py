"""Tokenisation for the catalog's full-text index.

Latin text is split into lower-cased words (``street_code`` is indexed whole and as ``street`` and
``code``). Chinese, which has no spaces, is cut into words by jieba in its search-engine mode
(``cut_for_search``: "城乡社区居委会" → 城乡, 社区, 居委, 委会, 居委会), with the domain's words of
``search_words.txt`` added to its dictionary, and single characters are indexed too.

A query is cut into words (jieba's accurate mode) and each word is a term that a document must match.
A document matches a word when it holds the word itself, or all the finer pieces the search-engine mode
cuts the word into: 养老机构 is found in 养老服务机构 (养老 + 机构), 景区游客 in 景区每日接待游客人次.
The words a citizen types for what the catalog says otherwise are ``search_synonyms.txt``: 养老院 finds
养老机构, 公交车站 finds 公交站点.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from pathlib import Path

import jieba

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[0-9a-z_]+|[{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
USER_WORDS = Path(__file__).with_name("search_words.txt")
SYNONYMS = Path(__file__).with_name("search_synonyms.txt")

# A query term is a tuple of alternatives; an alternative is a tuple of slots, all of which a document
# must hold; a slot is a tuple of equivalent tokens (a word and its synonyms), any one of which will do.
Slot = tuple[str, ...]
Term = tuple[tuple[Slot, ...], ...]

jieba.setLogLevel(logging.WARNING)   # its dictionary load announces itself on every start
_tokenizer: jieba.Tokenizer | None = None
_lock = threading.Lock()
_runs: dict[str, tuple[str, ...]] = {}   # CJK run → its index tokens (names, areas and topics repeat a lot)
_synonyms: dict[str, tuple[str, ...]] | None = None


def synonyms() -> dict[str, tuple[str, ...]]:
    """word → the other words of its group in ``search_synonyms.txt``."""
    global _synonyms
    if _synonyms is None:
        groups: dict[str, list[str]] = {}
        for line in SYNONYMS.read_text("utf-8").splitlines():
            words = [normalise(w).strip() for w in line.split("#", 1)[0].split(",")]
            words = [w for w in dict.fromkeys(words) if w]
            for w in words:
                groups.setdefault(w, []).extend(o for o in words if o != w and o not in groups.get(w, []))
        _synonyms = {w: tuple(o) for w, o in groups.items()}
    return _synonyms


def tokenizer() -> jieba.Tokenizer:
    """jieba's tokenizer with the domain's words, built once (its dictionary loads in about a second)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                t = jieba.Tokenizer()
                t.initialize()
                t.load_userdict(str(USER_WORDS))
                for word in synonyms():   # a query word with synonyms is looked up whole
                    if _IS_CJK.match(word) and not t.FREQ.get(word):
                        t.add_word(word)
                _tokenizer = t
    return _tokenizer


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _latin(word: str) -> list[str]:
    parts = [p for p in word.split("_") if p]
    out = [word.strip("_")] if word.strip("_") else []
    if len(parts) > 1:
        out.extend(parts)
    return out


def _cjk_words(run: str) -> tuple[str, ...]:
    words = _runs.get(run)
    if words is None:
        words = tuple(w for w in tokenizer().cut_for_search(run, HMM=True) if _IS_CJK.match(w) and len(w) > 1)
        if len(_runs) < 200_000:
            _runs[run] = words
    return words


def index_tokens(text: str) -> Counter:
    """Tokens of a document field with their counts: Latin words, Chinese words and characters."""
    counts: Counter = Counter()
    for run in _RUN.findall(normalise(text)):
        if _IS_CJK.match(run):
            counts.update(run)
            counts.update(_cjk_words(run))
        else:
            counts.update(_latin(run))
    return counts


def _pieces(word: str) -> tuple[str, ...] | None:
    """The finer dictionary words that spell a long word out (公交车站 → 公交, 车站), fewest first, a
    character with no finer word standing for itself; None for a word with no finer cut."""
    if len(word) < 3:
        return None
    pieces = {p for p in tokenizer().cut_for_search(word, HMM=False) if p != word and len(p) > 1}
    if not pieces:
        return None
    n = len(word)
    best: list[tuple[int, tuple[str, ...]] | None] = [None] * (n + 1)   # cost, pieces of word[:i]
    best[0] = (0, ())
    for i in range(n):
        if best[i] is None:
            continue
        cost, parts = best[i]
        steps = [(word[i:j], 1) for j in range(i + 2, n + 1) if word[i:j] in pieces] + [(word[i], 2)]
        for piece, c in steps:
            j = i + len(piece)
            if best[j] is None or cost + c < best[j][0]:
                best[j] = (cost + c, parts + (piece,))
    return tuple(dict.fromkeys(best[n][1]))


def _slot(word: str) -> Slot:
    return (word, *synonyms().get(word, ()))


def _term(word: str) -> Term:
    """A query word's alternatives: the word or a synonym, whole or as its pieces (each piece or its
    synonym): 公交车站 is matched by 公交站点 (公交 + 站点)."""
    alternatives: list[tuple[Slot, ...]] = [(_slot(word),)]
    for w in _slot(word):
        pieces = _pieces(w)
        if pieces:
            alternatives.append(tuple(_slot(p) for p in pieces))
    return tuple(dict.fromkeys(alternatives))


def query_terms(text: str) -> list[Term]:
    """The terms a document must all match to match ``text``."""
    terms: list[Term] = []
    for run in _RUN.findall(normalise(text)):
        if _IS_CJK.match(run):
            terms.extend(_term(word) for word in tokenizer().lcut(run, HMM=True))
        else:
            word = run.strip("_")
            if word:
                terms.append(_term(word))
    return list(dict.fromkeys(terms))


def query_tokens(text: str) -> list[str]:
    """Every token a query looks up (for display and diagnostics)."""
    return list(dict.fromkeys(tok for term in query_terms(text) for alt in term for slot in alt for tok in slot))
