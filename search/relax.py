"""Minimum-should-match relaxation and the score breakdown (explain), on arrays.

A relaxed query ORs its relaxable words (plain words, and unquoted tokens like "U.N" that
read as short phrases) while every other clause stays required; a match must hold at
least ``min_match`` of those words (Lucene/Elasticsearch's minimum-should-match). Matches
with all the words rank first for short queries, partial matches follow, each partial
score scaled by (words it has / words) ** coord.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search.match import TEXT_FIELDS, Matches, clause_text, contains, term_text
from search.query import ParsedQuery
from search.ranking import RankingParams
from search.view import IndexView


@dataclass
class Relaxation:
    """How a relaxed query's matches split: all the words, or only some of them."""

    words: list[str]  # the relaxable words (as written in the query) a partial match may lack
    min_words: int  # the least number of them a partial match has
    all_words: np.ndarray  # sorted matches with every word
    docs: np.ndarray  # sorted matches kept ...
    counts: np.ndarray  # ... and how many of the words each has
    first: np.ndarray | None  # matches ranked before all others (None: one tier)

    def coord(self, cand: np.ndarray, params: RankingParams) -> np.ndarray:
        """Each candidate's coordination factor: 1 with all the words, else (had / words) ** coord."""
        if not params.coord or not self.words:
            return np.ones(len(cand))
        counts = self.counts[np.searchsorted(self.docs, cand)]
        return np.where(counts == len(self.words), 1.0, (counts / len(self.words)) ** params.coord)

    def in_first(self, cand: np.ndarray) -> np.ndarray:
        """Boolean mask: which candidates rank in the first tier."""
        if self.first is None:
            return np.ones(len(cand), dtype=bool)
        return contains(self.first, cand)

    def has_all(self, doc: int) -> bool:
        return bool(contains(self.all_words, np.array([doc]))[0])


# The rule, shared by both backends (the Solr backend writes it as edismax ``mm`` and a
# tier sort): whether a query relaxes, how many words a partial match needs, and whether
# all-words matches rank in a tier of their own.


def relaxes(n_words: int, n_required: int) -> bool:
    """A query relaxes with 2+ relaxable words, or 1 beside required clauses (one word alone
    has nothing to relax)."""
    return n_words >= (1 if n_required else 2)


def min_words(n_words: int, params: RankingParams) -> int:
    """The least number of the relaxable words a partial match has."""
    return max(1, int(params.min_match * n_words))


def all_first(n_words: int, params: RankingParams) -> bool:
    """True when all-words matches rank before partial ones (short queries)."""
    return n_words <= params.all_first_max


def relax(m: Matches, docs: np.ndarray, params: RankingParams) -> tuple[np.ndarray, Relaxation | None]:
    """Keep the matches with at least the minimum share of the relaxable words; say which
    have them all."""
    if not relaxes(len(m.relaxable), m.required):
        return docs, None
    counts = np.zeros(len(docs), dtype=np.int64)
    for found in m.per_word:
        counts += contains(found, docs)
    n = len(m.per_word)
    need = min_words(n, params)
    keep = counts >= need
    docs, counts = docs[keep], counts[keep]
    full = docs[counts == n]
    first = full if all_first(n, params) else None
    return docs, Relaxation(m.relaxable, need, full, docs, counts, first)


def has_word(view: IndexView, word: str, doc: int) -> bool:
    """True when the document has the relaxable word in its title or body (each word of an
    implicit phrase, which is close enough for saying what a hit lacks)."""
    d = np.array([doc], dtype=np.int64)
    return all(any(contains(view.postings(f, term_text(w)).ids, d)[0] for f in TEXT_FIELDS) for w in word.split())


def missing_words(view: IndexView, relaxed: Relaxation | None, doc: int) -> list[str]:
    """The relaxable words a hit lacks (none for an all-words match)."""
    if relaxed is None or relaxed.has_all(doc):
        return []
    return [w for w in relaxed.words if not has_word(view, w, doc)]


def matching_summary(parsed: ParsedQuery, relaxed: Relaxation | None) -> dict:
    """Which words and clauses every hit has, which words a partial match may lack."""
    if relaxed is None:
        return summary(parsed, [], 0, None)
    return summary(parsed, relaxed.words, relaxed.min_words, len(relaxed.all_words))


def summary(parsed: ParsedQuery, relaxed: list[str], min_relaxed: int, all_words_total: int | None) -> dict:
    """The response's ``matching`` from the relaxed words (as written), however counted."""
    relaxable = set(relaxed)
    required = [" OR ".join(clause_text(c) for c in g) for g in parsed.positive_groups
                if not (len(g) == 1 and g[0].is_relaxable and clause_text(g[0]) in relaxable)]
    return {
        "required": required,
        "relaxed": list(relaxed),
        "min_relaxed_words": min_relaxed,
        "all_words_total": all_words_total,
        "excluded": [clause_text(c) for c in parsed.negative_clauses],
    }
