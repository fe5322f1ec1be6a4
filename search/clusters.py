"""Story clusters in search: one hit per story by default, its copies and outlets listed.

Applied to the set of matching document numbers through one hook (``apply``) before
ranking, so totals, facets and pages count stories; hits then get their ``cluster``
(``annotate``). The representative of a cluster is its first-published member among
the matches, so the hit is the original wherever it matched, and ranking sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from search.provenance import Member, ProvenanceView


@dataclass
class DocClusters:
    """One view mapped onto one index state's document numbers."""

    view: ProvenanceView
    cluster_of_doc: dict[int, str]
    members: dict[str, list[Member]]  # only members the index holds, earliest first
    rank: dict[int, int]  # docnum -> position of its member in its cluster's order
    clustered: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # sorted docnums in a cluster


def map_docs(view: ProvenanceView, ids: Sequence[str], articles, copies: set[str]) -> DocClusters:
    """Clusters restricted to what this index state holds (a killed run may leave extra rows)."""
    cluster_of_doc: dict[int, str] = {}
    held: set[str] = set(copies)
    for d in articles:
        doc_id = ids[d]
        held.add(doc_id)
        c = view.cluster_of.get(doc_id)
        if c is not None:
            cluster_of_doc[d] = c
    members = {}
    for c, ms in view.clusters.items():
        kept = [m for m in ms if m.id in held]
        if len(kept) > 1:
            members[c] = kept
    order = {(c, m.id): i for c, ms in members.items() for i, m in enumerate(ms)}
    cluster_of_doc = {d: c for d, c in cluster_of_doc.items() if c in members}
    rank = {d: order[(c, ids[d])] for d, c in cluster_of_doc.items()}
    clustered = np.array(sorted(cluster_of_doc), dtype=np.int64)
    return DocClusters(view, cluster_of_doc, members, rank, clustered)


def apply(dc: DocClusters, ids: Sequence[str], matched: np.ndarray, *, changed: bool = False,
          headline_changed: bool = False, collapse: bool = True, prefer: np.ndarray | None = None) -> np.ndarray:
    """The matches (sorted document numbers) after the provenance filters, one per
    cluster when ``collapse``: its first-published member among the matches, taken from
    ``prefer`` (the matches with all the query's words) when any member is there. Only
    documents that belong to a cluster or carry an edit are looked at one by one."""
    out = matched
    if changed:
        out = out[np.fromiter((ids[d] in dc.view.changed for d in out.tolist()), bool, len(out))]
    if headline_changed:
        out = out[np.fromiter((ids[d] in dc.view.headline_changed for d in out.tolist()), bool, len(out))]
    if not collapse or not dc.cluster_of_doc:
        return out
    rank, cluster_of = dc.rank, dc.cluster_of_doc
    inside = out[np.isin(out, dc.clustered)]
    preferred = set(inside[np.isin(inside, prefer)].tolist()) if prefer is not None else set()
    best: dict[str, int] = {}
    for d in inside.tolist():
        c = cluster_of[d]
        key = (d not in preferred, rank[d])
        if c not in best or key < (best[c] not in preferred, rank[best[c]]):
            best[c] = d
    drop = np.setdiff1d(inside, np.fromiter(best.values(), np.int64, len(best)), assume_unique=True)
    return np.setdiff1d(out, drop, assume_unique=True) if len(drop) else out


def cluster_dict(dc: DocClusters, doc_id: str) -> dict | None:
    """The ``cluster`` of a hit or article: size, first published, members; None if alone."""
    c = dc.view.cluster_of.get(doc_id)
    members = dc.members.get(c) if c is not None else None
    if not members:
        return None
    first = members[0]
    return {
        "size": len(members),
        "first_published": {"id": first.id, "source": first.source, "date": first.date},
        "outlets": outlets(members),
        "members": [m.to_dict() for m in members],
    }


def outlets(members: list[Member]) -> list[str]:
    """Distinct outlets, in order of first publication (case-insensitive)."""
    seen: dict[str, str] = {}
    for m in members:
        if m.source and m.source.strip().lower() not in seen:
            seen[m.source.strip().lower()] = m.source.strip()
    return list(seen.values())


def facets(dc: DocClusters, ids: Sequence[str], docs: np.ndarray) -> dict[str, dict[str, int]]:
    """The provenance facets of the matches: outlets per story, and how many were edited."""
    view = dc.view
    edited = [d for d in docs.tolist() if ids[d] in view.changed] if view.changed else []
    edits = {"changed": len(edited),
             "headline_changed": sum(1 for d in edited if ids[d] in view.headline_changed)}
    return {"outlets": outlet_facet(dc, docs), "edits": {k: n for k, n in edits.items() if n}}


def outlet_facet(dc: DocClusters, docs: np.ndarray) -> dict[str, int]:
    """How many matching stories were published by 1, 2, 3... outlets."""
    inside = docs[np.isin(docs, dc.clustered)].tolist() if dc.cluster_of_doc else []
    counts: dict[str, int] = {}
    for d in inside:
        n = str(max(1, len(outlets(dc.members[dc.cluster_of_doc[d]]))))
        counts[n] = counts.get(n, 0) + 1
    if len(docs) > len(inside):
        counts["1"] = counts.get("1", 0) + len(docs) - len(inside)
    return dict(sorted(counts.items(), key=lambda kv: int(kv[0])))


class DocClusterCache:
    """The DocClusters of the last (view, index state) pair; both are immutable snapshots."""

    def __init__(self) -> None:
        self._last: tuple | None = None

    def get(self, view: ProvenanceView, columns) -> DocClusters:
        """The clusters of ``view`` over one index state's columns (``search.columns.Columns``)."""
        last = self._last
        if last is not None and last[0] is view and last[1] is columns:
            return last[2]
        copies = {c for cs in columns.duplicates.values() for c in cs}
        dc = map_docs(view, columns.ids, np.flatnonzero(columns.articles).tolist(), copies)
        self._last = (view, columns, dc)
        return dc
