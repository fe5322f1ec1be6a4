"""Shingle-overlap metric of the Scrapinghub article-extraction benchmark.

Re-implemented from the description in
../shared/data/extraction/scrapinghub/README.md (no code copied): `\\w+` tokens,
4-token shingles as multisets, per-page TP/FP/FN normalised to sum to 1,
macro-averaged precision and recall, F1 of the averages, and exact-token accuracy.

Standalone on purpose (standard library only, no project imports) so the HTML
extraction bench can reuse it.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

TOKEN_RE = re.compile(r"\w+", re.UNICODE)
SHINGLE_SIZE = 4


def tokens(text: str | None) -> list[str]:
    """Word tokens as the benchmark sees them (case kept, punctuation dropped)."""
    return TOKEN_RE.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE_SIZE) -> Counter[str]:
    """Multiset of n-token shingles; a text shorter than n is one shorter shingle."""
    toks = tokens(text)
    grams = (" ".join(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1)))
    return Counter(g for g in grams if g)


@dataclass(frozen=True)
class PageCounts:
    """Normalised per-page overlap (tp + fp + fn == 1 unless all are 0)."""

    tp: float
    fp: float
    fn: float
    exact: bool


def page_counts(expected: str | None, predicted: str | None) -> PageCounts:
    """Compare one page's predicted body with its ground truth."""
    want, got = shingles(expected), shingles(predicted)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    if total:
        tp, fp, fn = tp / total, fp / total, fn / total
    return PageCounts(tp, fp, fn, tokens(expected) == tokens(predicted))


def _ratio(hit: float, miss: float, perfect: bool) -> float | None:
    """Precision or recall of one page; None when the page is skipped."""
    if perfect:
        return 1.0
    if hit + miss == 0:
        return None
    return hit / (hit + miss)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def score(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, float]:
    """Macro P/R, F1 of the averages and accuracy over (expected, predicted) pairs."""
    counts = [page_counts(exp, pred) for exp, pred in pairs]
    precisions, recalls = [], []
    for c in counts:
        perfect = c.fp == 0 and c.fn == 0
        p = _ratio(c.tp, c.fp, perfect)
        r = _ratio(c.tp, c.fn, perfect)
        if p is not None:
            precisions.append(p)
        if r is not None:
            recalls.append(r)
    precision, recall = _mean(precisions), _mean(recalls)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = _mean([1.0 if c.exact else 0.0 for c in counts])
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy,
            "pages": float(len(counts))}
