"""The two extraction metrics, as the data sets' READMEs define them (reimplemented, not copied).

- ``shingle_score(pairs)``: the Scrapinghub article-extraction benchmark (4-token shingle
  multisets, macro precision/recall, F1 of the averages, exact-token accuracy).
- ``snippet_score(pages)``: trafilatura's evaluation (must-contain / must-not-contain
  snippets, precision/recall/F over counts summed across pages).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shingle_metric import score

# One implementation of the shingle metric, shared with the text-cleaner bench.
shingle_score = score


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
