"""The two extraction metrics, as the data sets' READMEs define them (reimplemented, not copied).

- ``shingle_score(pairs)``: the Scrapinghub article-extraction benchmark (4-token shingle
  multisets, macro precision/recall, F1 of the averages, exact-token accuracy).
- ``snippet_score(pages)``: trafilatura's evaluation (must-contain / must-not-contain
  snippets, precision/recall/F over counts summed across pages).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
SHINGLE = 4


def tokens(text: str) -> list[str]:
    """``\\w+`` tokens (unicode), as the benchmark tokenizes."""
    return _TOKEN.findall(text or "")


def shingles(text: str, size: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """Multiset of ``size``-token shingles; a shorter text is one shorter shingle."""
    toks = tokens(text)
    if len(toks) < size:
        return Counter([tuple(toks)]) if toks else Counter()
    return Counter(tuple(toks[i:i + size]) for i in range(len(toks) - size + 1))


def page_pr(truth: str, predicted: str) -> tuple[float | None, float | None]:
    """Per-page (precision, recall); None where the page is skipped for that figure."""
    want, got = shingles(truth), shingles(predicted)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    if fp == 0 and fn == 0:
        return 1.0, 1.0
    # Normalizing TP/FP/FN to sum to 1 leaves these ratios unchanged.
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return precision, recall


def shingle_score(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Scrapinghub metric over (truth, predicted) pairs: macro P/R, F1 of the averages."""
    precisions, recalls, exact, n = [], [], 0, 0
    for truth, predicted in pairs:
        n += 1
        p, r = page_pr(truth, predicted or "")
        if p is not None:
            precisions.append(p)
        if r is not None:
            recalls.append(r)
        exact += tokens(truth) == tokens(predicted or "")
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pages": n, "f1": f1, "precision": precision, "recall": recall,
            "accuracy": exact / n if n else 0.0}


score = shingle_score  # the name the brief asks for: score(pairs)


def _norm(text: str) -> str:
    return " ".join((text or "").split())


@dataclass
class SnippetCounts:
    """Summed confusion counts for the snippet metric."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, output: str | None, with_: list[str], without: list[str]) -> None:
        """Count one page; no output means every must-contain snippet is missed."""
        text = _norm(output or "")
        found = [bool(text) and _norm(s) in text for s in with_]
        leaked = [bool(text) and _norm(s) in text for s in without]
        self.tp += sum(found)
        self.fn += len(found) - sum(found)
        self.fp += sum(leaked)
        self.tn += len(leaked) - sum(leaked)

    def figures(self) -> dict[str, float]:
        """Precision, recall, accuracy and F over the summed counts."""
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        total = self.tp + self.fp + self.fn + self.tn
        f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall,
                "accuracy": (self.tp + self.tn) / total if total else 0.0, "f": f,
                "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}


def snippet_score(pages: Iterable[tuple[str | None, list[str], list[str]]]) -> dict[str, float]:
    """trafilatura metric over (output, with, without) triples, counts summed over pages."""
    counts = SnippetCounts()
    for output, with_, without in pages:
        counts.add(output, with_, without)
    return counts.figures()
