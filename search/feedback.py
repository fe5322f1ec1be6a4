"""Pseudo-relevance feedback (RM3-style) for verbose queries: words the best first-pass
matches share, added to the query with a small weight.

A pasted sentence or a question names its subject in a few of its words and pads it
with others; the articles that rank first for it also use the subject's other words.
Taking the terms of the top ``prf_docs`` first-pass matches, weighted as a relevance
model (each term's share of an article's words, times the article's share of the
first-pass scores), and adding the best ``prf_terms`` of them at weight ``prf_weight``
lifts the articles that share that vocabulary (measured: TIME, Cranfield and their pools,
odd ids, bench/relevance.py). Short queries (fewer than ``prf_min_words`` words: a
topical query, a name) are left alone: they are the product's main use, and feedback on
them drifts toward whatever else the top articles discuss. The expansion only re-orders
the matches: it never adds an article the query does not match, so totals and facets stay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.analysis import STOPWORDS, stem, term_counts
from search.view import IndexView

# Stopwords are indexed (phrases need them): as terms they are stems or the words.
STOP_TERMS = frozenset(STOPWORDS) | frozenset(stem(w) for w in STOPWORDS)


@dataclass(frozen=True)
class Expansion:
    """The feedback terms with their relevance-model weights (summing to 1), the
    articles they came from and the factor their scores are added with."""

    terms: tuple[tuple[str, float], ...]
    docs: tuple[int, ...]
    scale: float  # prf_weight * the query's number of terms


def candidate_term(term: str, query_terms: set[str]) -> bool:
    """A word worth adding: alphabetic, 3+ letters, not a stopword or a query term."""
    return len(term) >= 3 and term.isalpha() and term not in STOP_TERMS and term not in query_terms


def relevance_model(view: IndexView, docs: list[int], weights: np.ndarray,
                    query_terms: set[str]) -> dict[str, float]:
    """sum over the feedback articles of P(term | article) * the article's weight."""
    model: dict[str, float] = {}
    for d, w in zip(docs, weights.tolist()):
        stored = view.stored_fields(d)
        counts = term_counts(f"{stored.get('title') or ''}\n{stored.get('body') or ''}")
        length = sum(counts.values()) or 1
        for term, n in counts.items():
            if candidate_term(term, query_terms):
                model[term] = model.get(term, 0.0) + w * n / length
    return model


def expansion(view: IndexView, docs: list[int], scores: np.ndarray, query_terms: set[str],
              n_terms: int, weight: float) -> Expansion | None:
    """The best ``n_terms`` feedback terms of the first-pass top ``docs`` (their scores)."""
    total = float(scores.sum())
    if not docs or total <= 0 or n_terms <= 0:
        return None
    model = relevance_model(view, docs, scores / total, query_terms)
    best = sorted(model.items(), key=lambda kv: (-kv[1], kv[0]))[:n_terms]
    mass = sum(v for _t, v in best)
    if not best or mass <= 0:
        return None
    return Expansion(tuple((t, v / mass) for t, v in best), tuple(docs), weight * max(1, len(query_terms)))
