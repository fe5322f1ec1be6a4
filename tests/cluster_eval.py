"""Cluster-membership precision and recall, read through the search library (the product path).

Shared by tests/test_syndication.py and bench/provenance_quality.py: write a labelled set
as a corpus folder, index it with the real indexer, read every hit's ``cluster`` with
``copies=all``, and score pairs of files put in one story against the labels.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from indexer.pipeline import doc_id_for
from search.engine import SearchEngine
from search.request import MAX_SIZE, SearchRequest

ROOT = Path(__file__).resolve().parent.parent
SYNDICATION = ROOT / "tests" / "data" / "syndication.jsonl.gz"


def load_syndication(path: Path = SYNDICATION) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write_labelled_corpus(dest: Path, rows: list[dict]) -> None:
    """Each row's text at its file path, its source and date in manifest.jsonl."""
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / "manifest.jsonl", "w", encoding="utf-8") as manifest:
        for r in rows:
            path = dest / r["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(r["text"], "utf-8")
            entry = {"file": r["file"], "source": r.get("source"), "date": r.get("date")}
            manifest.write(json.dumps({k: v for k, v in entry.items() if v}) + "\n")


def predicted_clusters(index_dir: Path, paths: list[str]) -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """(path -> the paths of its story cluster, cluster key -> first-published path)."""
    by_id = {doc_id_for(p): p for p in paths}
    clusters: dict[str, frozenset[str]] = {}
    first: dict[frozenset[str], str] = {}
    engine = SearchEngine(index_dir)
    try:
        page = 1
        while True:
            res = engine.search(SearchRequest(q="", size=MAX_SIZE, page=page, copies="all"))
            for hit in res.hits:
                if hit.cluster:
                    members = frozenset(by_id.get(m["id"], m["id"]) for m in hit.cluster["members"])
                    for m in members:
                        clusters[m] = members
                    first[members] = by_id.get(hit.cluster["first_published"]["id"], "")
            if not res.has_next:
                break
            page += 1
    finally:
        engine.close()
    return clusters, {"|".join(sorted(k)): v for k, v in first.items()}


@dataclass
class Scores:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    false_pairs: list[tuple[str, str]] = field(default_factory=list)
    missed_pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def pair_scores(labels: dict[str, str], clusters: dict[str, frozenset[str]]) -> Scores:
    """Pairwise scores of predicted clusters against labels (path -> story label)."""
    truth = _pairs(_groups(labels))
    predicted = _pairs({"|".join(sorted(c)): set(c) & labels.keys() for c in set(clusters.values())})
    correct = truth & predicted
    return Scores(len(truth), len(predicted), len(correct),
                  sorted(predicted - truth), sorted(truth - predicted))


def shingle_overlap(a: str, b: str, k: int = 5) -> tuple[float, float]:
    """Exact (Jaccard, containment of the smaller) of two texts' k-word shingle sets."""
    sa, sb = _shingles(a, k), _shingles(b, k)
    if not sa or not sb:
        return 0.0, 0.0
    common = len(sa & sb)
    return common / len(sa | sb), common / min(len(sa), len(sb))


def _shingles(text: str, k: int) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def _groups(labels: dict[str, str]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for path, label in labels.items():
        groups.setdefault(label, set()).add(path)
    return groups


def _pairs(groups: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}
