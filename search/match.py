"""Queries on arrays: a parsed query's matches as a sorted array of document numbers.

Every clause becomes a sorted int64 array (a term's postings, a union of fields or of a
prefix's terms, a phrase's survivors); groups AND by ``searchsorted`` of the smaller
array into the larger, clauses inside a group OR by a sorted union, exclusions remove
by the same look-up. Positions are read only for phrases, and only for documents that
hold every word of the phrase.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common.analysis import hyphen_parts, stem
from search.query import Clause, ParsedQuery
from search.view import IndexView

TEXT_FIELDS = ("title", "body")
MAX_PREFIX_TERMS = 200
NONE = np.zeros(0, dtype=np.int64)


def term_text(word: str) -> str:
    """The index term for a normalized query word (the same Snowball stem as indexing)."""
    return stem(word)


def word_terms(clause: Clause) -> list[str]:
    """The index terms a word clause matches: its stem, or a plain hyphenated word's parts.

    Documents index a hyphenated word whole and as its parts at one position, so searching
    "interference-free" as its parts finds the exact word and also "wind tunnel
    interference" (adding the whole word too scored lower on Cranfield's odd ids).
    """
    word = clause.words[0]
    whole = term_text(word)
    if clause.field is None and "-" in word:
        parts = [t for t in dict.fromkeys(p for p, _s, _e in hyphen_parts(word)) if t != whole]
        if parts:
            return parts
    return [whole]


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted a AND b: each element of the smaller looked up in the larger."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return NONE
    i = np.searchsorted(b, a)
    i[i == len(b)] = 0
    return a[b[i] == a] if len(b) else NONE


def contains(sorted_b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Boolean mask over a: which of its elements are in sorted_b."""
    if not len(sorted_b):
        return np.zeros(len(a), dtype=bool)
    i = np.searchsorted(sorted_b, a)
    i[i == len(sorted_b)] = 0
    return sorted_b[i] == a


def union(arrays: list[np.ndarray]) -> np.ndarray:
    """Sorted union of sorted arrays."""
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return NONE
    if len(arrays) == 1:
        return arrays[0]
    top = max(int(a[-1]) for a in arrays)
    if sum(len(a) for a in arrays) * 8 < top:  # sparse: sort the few, drop repeats
        c = np.sort(np.concatenate(arrays))
        keep = np.empty(len(c), dtype=bool)
        keep[0] = True
        np.not_equal(c[1:], c[:-1], out=keep[1:])
        return c[keep]
    mask = np.zeros(top + 1, dtype=bool)  # dense: a bitmap pass beats sorting
    for a in arrays:
        mask[a] = True
    return np.flatnonzero(mask)


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted a without the elements of sorted b."""
    return a[~contains(b, a)] if len(a) and len(b) else a


def clause_fields(clause: Clause) -> tuple[str, ...]:
    return (clause.field,) if clause.field else TEXT_FIELDS


def prefix_terms(view: IndexView, fieldname: str, word: str) -> list[str]:
    """The terms a prefix clause stands for in one field (at most MAX_PREFIX_TERMS)."""
    return view.expand_prefix(fieldname, word, MAX_PREFIX_TERMS)


def expanded_terms(view: IndexView, fieldname: str, clause: Clause) -> list[str]:
    """The index terms a prefix (``econ*``) or fuzzy (``word~1``) clause stands for in a field."""
    if clause.kind == "fuzzy":
        return view.fuzzy_terms(fieldname, term_text(clause.words[0]), clause.distance, MAX_PREFIX_TERMS)
    return prefix_terms(view, fieldname, clause.words[0])


def phrase_docs(view: IndexView, fieldname: str, stems: list[str]) -> np.ndarray:
    """Documents where the stems occur at consecutive positions of the field (Whoosh's
    Phrase with slop 1): (doc, position - i) keys of the i-th word, intersected.
    Past the request's deadline (see IndexView.out_of_time) the positions are not read."""
    key = ("phrase", fieldname, tuple(stems))
    if key not in view.memo:
        view.memo[key] = _phrase_docs(view, fieldname, stems)
    return view.memo[key]


def _phrase_docs(view: IndexView, fieldname: str, stems: list[str]) -> np.ndarray:
    cand = view.postings(fieldname, stems[0]).ids
    for t in stems[1:]:
        cand = intersect(cand, view.postings(fieldname, t).ids)
    if not len(cand) or view.out_of_time():
        return cand  # out of time: the phrase matches every document with all its words
    keys = None
    for i, t in enumerate(stems):
        docs, pos = view.occurrences(fieldname, t, cand)
        ok = pos >= i
        k = np.unique((docs[ok] << 32) | (pos[ok] - i))
        keys = k if keys is None else intersect(keys, k)
        if not len(keys):
            return NONE
    return np.unique(keys >> 32)


def clause_docs(view: IndexView, clause: Clause) -> np.ndarray:
    """Sorted documents matching one clause (ignoring its negation)."""
    if clause.kind == "filter":
        fname = "source_key" if clause.field == "source" else "tags"
        return view.postings(fname, clause.words[0]).ids
    found = []
    for fname in clause_fields(clause):
        if clause.kind == "word":
            found.extend(view.postings(fname, t).ids for t in word_terms(clause))
        elif clause.kind == "phrase":
            found.append(phrase_docs(view, fname, [term_text(w) for w in clause.words]))
        elif clause.kind in ("prefix", "fuzzy"):
            found.extend(view.postings(fname, t).ids for t in expanded_terms(view, fname, clause))
    return union(found)


@dataclass
class Matches:
    """A query's matches and the pieces scoring needs."""

    docs: np.ndarray  # sorted live articles
    scored: list[Clause] = field(default_factory=list)  # positive text clauses, each scored
    words: list[str] = field(default_factory=list)  # plain words, for proximity
    relaxable: list[str] = field(default_factory=list)  # relaxed mode: the words a match may lack ...
    per_word: list[np.ndarray] = field(default_factory=list)  # ... and the docs holding each
    required: int = 0  # groups every match must have


def match(view: IndexView, parsed: ParsedQuery, mode: str = "relaxed") -> Matches:
    """Matches of a parsed query: mode "all" ANDs plain words; "any" ORs them; "relaxed"
    ORs the relaxable words (see search.relax), every other clause staying required."""
    if parsed.is_empty:
        return Matches(np.flatnonzero(view.columns.articles))
    positive = parsed.positive_groups
    if mode == "relaxed":
        plain = parsed.relaxable_groups
    else:
        plain = [g for g in positive if len(g) == 1 and g[0].is_plain_word]
    or_words = mode in ("any", "relaxed")
    required = [g for g in positive if g not in plain] if or_words else positive
    sets = [union([clause_docs(view, c) for c in g]) for g in required]
    per_word = [clause_docs(view, g[0]) for g in plain] if or_words else []
    if or_words and plain:
        sets.append(union(per_word))
    if not sets and parsed.negative_clauses:
        sets = [np.flatnonzero(view.columns.articles)]
    if not sets:
        return Matches(NONE)
    sets.sort(key=len)
    docs = sets[0]
    for s in sets[1:]:
        docs = intersect(docs, s)
    for c in parsed.negative_clauses:
        docs = difference(docs, clause_docs(view, c))
    docs = docs[view.columns.articles[docs]]
    scored = [c for g in positive for c in g if c.kind != "filter"]
    relaxable = [clause_text(g[0]) for g in plain] if mode == "relaxed" else []
    return Matches(docs, scored, parsed.plain_words, relaxable, per_word if relaxable else [], len(required))


def clause_text(clause: Clause) -> str:
    """A clause as the query wrote it (field:, quotes for phrases, * for prefixes)."""
    text = " ".join(clause.words)
    if clause.kind == "phrase" and clause.quoted:
        text = f'"{text}"'
    elif clause.kind == "prefix":
        text += "*"
    elif clause.kind == "fuzzy":
        text += f"~{clause.distance}"
    return f"{clause.field}:{text}" if clause.field else text
