"""Ranking parameters and the idf: what BM25F (``search.score``) and relevance tuning share.

BM25F proper: for each query word, its title and body frequencies are length-normalised
per field, added (a title occurrence counts ``title_weight`` body occurrences) and only
then saturated, with one idf per word (Lucene's form of the Robertson/Sparck Jones idf):

    x     = title_weight * tf_title / norm_title + tf_body / norm_body
    norm  = (1 - b_field) + b_field * len_field / avg_len_field
    score = idf * (k1 + 1) * x / (x + k1),   idf = log(1 + (N + m - n + 0.5) / (n + 0.5))

The plain RSJ idf, log((N - n + 0.5) / (n + 0.5)), is 0 (or negative) for a word in half
the articles or more: on a focused folder (a watchdog's articles about one company) every
subject word then scored nothing and incidental rare words decided the order. Lucene's
``1 +`` keeps every matching word's idf above 0, so a matching article never scores 0.
Its counts are still noisy in a small folder: in 40 articles that all hold the subject
word, that word weighs 1/270 of a word in one article, and a stray rare word can outrank
every article about the subject. So the counts are smoothed toward a background of m
(``idf_m``, 50) pseudo-articles without the word: in a 40-article folder the subject
word keeps a fifth of a rare word's weight, and no idf rises by more than m / N (0.0025
in 20,000 articles).

(Whoosh's stock BM25F scores each field separately and adds the saturated scores, with
idf = log(N / (n + 1)) + 1; both lose measurably on TIME and Cranfield.) It is computed
in one place, on arrays: ``search.score``.

The parameters were tuned through the product path (files, indexer, search defaults) on
the odd query ids of TIME, Cranfield, the Reuters topic queries and the topical pools of
each (``bench/relevance.py --tune``: each point's per-query gap to these defaults, pooled
over the six sets), and are reported on the even ids and on all of them.

Feedback: a query of ``prf_min_words`` words or more (a pasted sentence, a question) adds
the best ``prf_terms`` terms of its first pass's top ``prf_docs`` articles at ``prf_weight``
(``search.feedback``); it re-orders the matches and never changes which documents match.

Proximity: the top candidates are re-ranked by the share of adjacent query-word pairs that
occur within ``prox_slop`` positions of each other in the body, in either order unless
``prox_ordered`` (score * (1 + prox_boost * share)). It never changes which documents
match, only their order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import log


@dataclass(frozen=True)
class RankingParams:
    """Free parameters of the ranking (defaults are the tuned values)."""

    k1: float = 2.4
    body_b: float = 0.6
    title_b: float = 0.9
    title_weight: float = 2.5  # one title occurrence counts as this many body occurrences
    prox_boost: float = 0.6
    prox_slop: int = 10
    prox_ordered: bool = False
    # Minimum-should-match relaxation (search.relax): a partial match needs at least this
    # share of the relaxable words (rounded down, at least one), and its score is
    # multiplied by (words it has / words) ** coord.
    min_match: float = 0.0
    coord: float = 0.0
    # Matches with all the words rank first for queries of up to all_first_max words;
    # longer ones (a pasted sentence) rank every match by score alone.
    all_first_max: int = 3
    # Small-folder idf smoothing: idf_m pseudo-articles without the word (see bm25_idf).
    idf_m: float = 50.0
    # Pseudo-relevance feedback (search.feedback) for queries of prf_min_words words or
    # more: the best prf_terms terms of the first pass's top prf_docs articles, added at
    # prf_weight (0 articles: off).
    prf_docs: int = 5
    prf_terms: int = 10
    prf_weight: float = 0.15
    prf_min_words: int = 4

    def with_(self, **changes: object) -> "RankingParams":
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT = RankingParams()

TEXT_FIELDS = ("title", "body")


def bm25_idf(n_docs: int, df: int, m: float = 0.0) -> float:
    """Lucene's BM25 idf over n_docs + m articles, m of them pseudo-articles without the
    word: positive for any word, however common (see the module docstring)."""
    return log(1.0 + (n_docs + m - df + 0.5) / (df + 0.5))
