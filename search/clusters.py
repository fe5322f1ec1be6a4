"""Story clusters in search: one hit per story by default, its copies and outlets listed.

Applied to the set of matching document numbers through one hook (``apply``) before
ranking, so totals, facets and pages count stories; hits then get their ``cluster``
(``annotate``). The representative of a cluster is its first-published member among
the matches, so the hit is the original wherever it matched, and ranking sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from search.provenance import Member, ProvenanceView


@dataclass
class DocClusters:
    """One view mapped onto one index state's document numbers."""

    view: ProvenanceView
    cluster_of_doc: dict[int, str]
    members: dict[str, list[Member]]  # only members the index holds, earliest first
    rank: dict[int, int]  # docnum -> position of its member in its cluster's order


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
    return DocClusters(view, cluster_of_doc, members, rank)


def apply(dc: DocClusters, ids: Sequence[str], matched: set[int], *, changed: bool = False,
          headline_changed: bool = False, collapse: bool = True) -> set[int]:
    """The matches after the provenance filters, one per cluster when ``collapse``."""
    out = matched
    if changed:
        out = {d for d in out if ids[d] in dc.view.changed}
    if headline_changed:
        out = {d for d in out if ids[d] in dc.view.headline_changed}
    if not collapse or not dc.cluster_of_doc:
        return out
    best: dict[str, int] = {}
    rank, cluster_of = dc.rank, dc.cluster_of_doc
    for d in out & cluster_of.keys():
        c = cluster_of[d]
        if c not in best or rank[d] < rank[best[c]]:
            best[c] = d
    return {d for d in out if d not in cluster_of or best[cluster_of[d]] == d}


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


def facets(dc: DocClusters, ids: Sequence[str], docs: set[int]) -> dict[str, dict[str, int]]:
    """The provenance facets of the matches: outlets per story, and how many were edited."""
    edits = {"changed": sum(1 for d in docs if ids[d] in dc.view.changed),
             "headline_changed": sum(1 for d in docs if ids[d] in dc.view.headline_changed)}
    return {"outlets": outlet_facet(dc, ids, docs), "edits": {k: n for k, n in edits.items() if n}}


def outlet_facet(dc: DocClusters, ids: Sequence[str], docs: set[int]) -> dict[str, int]:
    """How many matching stories were published by 1, 2, 3... outlets."""
    counts: dict[str, int] = {}
    for d in docs:
        c = dc.cluster_of_doc.get(d)
        n = max(1, len(outlets(dc.members[c]))) if c is not None else 1
        counts[str(n)] = counts.get(str(n), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: int(kv[0])))


class DocClusterCache:
    """The DocClusters of the last (view, index state) pair; both are immutable snapshots."""

    def __init__(self) -> None:
        self._last: tuple | None = None

    def get(self, view: ProvenanceView, table, ids: Sequence[str], articles, copies_of: dict) -> DocClusters:
        last = self._last
        if last is not None and last[0] is view and last[1] is table:
            return last[2]
        copies = {c for cs in copies_of.values() for c in cs}
        dc = map_docs(view, ids, articles, copies)
        self._last = (view, table, dc)
        return dc
