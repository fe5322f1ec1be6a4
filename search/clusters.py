"""Story clusters in search: one hit per story by default, its copies and outlets listed.

Applied to the set of matching document numbers through one hook (``apply``) before
ranking, so totals, facets and pages count stories; hits then get their ``cluster``
(``annotate``). The representative of a cluster is its first-published member among
the matches, so the hit is the original wherever it matched, and ranking sees it.

Everything a query touches is an array over document numbers (cluster code, member
rank, outlets per cluster), built once per index state and state-file reading: a query
whose matches are mostly clustered copies (wire stories) costs a sort, not a loop.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from search.provenance import Member, ProvenanceView


@dataclass
class DocClusters:
    """One view mapped onto one index state's document numbers."""

    view: ProvenanceView
    cluster: np.ndarray  # docnum -> cluster code, -1 when not in a cluster of two held members
    rank: np.ndarray  # docnum -> its member's place in its cluster's order
    outlets_n: np.ndarray  # cluster code -> distinct outlets among held members
    kept: np.ndarray  # member rows the index holds, in clusters of two or more (view order)
    kept_start: np.ndarray  # cluster code -> first position of its rows in ``kept`` (len = clusters + 1)
    article_doc: dict[str, int]  # live article id -> docnum

    def members(self, code: int) -> list[Member]:
        """The held members of one cluster, earliest first."""
        rows = self.kept[self.kept_start[code]:self.kept_start[code + 1]]
        return [self.view.member(r) for r in rows.tolist()]

    def _mask(self, ids: set[str]) -> np.ndarray:
        mask = np.zeros(len(self.cluster), dtype=bool)
        docs = [d for d in map(self.article_doc.get, ids) if d is not None]
        mask[np.array(docs, dtype=np.int64)] = True
        return mask

    @cached_property
    def changed(self) -> np.ndarray:
        """docnum -> whether its story has more than one version."""
        return self._mask(self.view.changed)

    @cached_property
    def headline_changed(self) -> np.ndarray:
        """docnum -> whether its story's headline changed between versions."""
        return self._mask(self.view.headline_changed)


def map_docs(view: ProvenanceView, ids: Sequence[str], articles: np.ndarray, copies: set[str]) -> DocClusters:
    """Clusters restricted to what this index state holds (a killed run may leave extra rows)."""
    article_doc = {ids[d]: d for d in articles.tolist()}
    member_ids = view.ids
    doc = np.fromiter((article_doc.get(m, -1) for m in member_ids), np.int64, len(member_ids))
    held = doc >= 0
    if copies:
        held |= np.fromiter((m in copies for m in member_ids), bool, len(member_ids))
    n_clusters = int(view.cluster.max()) + 1 if len(view.cluster) else 0
    big = np.bincount(view.cluster[held], minlength=n_clusters) > 1
    kept = np.flatnonzero(held & big[view.cluster])  # rows stay grouped by cluster, in order
    codes = view.cluster[kept]
    kept_start = np.searchsorted(codes, np.arange(n_clusters + 1))
    rank = np.arange(len(kept)) - kept_start[codes]
    cluster = np.full(len(ids), -1, dtype=np.int32)
    rank_of = np.zeros(len(ids), dtype=np.int64)
    at = doc[kept] >= 0
    cluster[doc[kept][at]] = codes[at]
    rank_of[doc[kept][at]] = rank[at]
    outlet = view.outlet[kept]
    width = int(outlet.max(initial=0)) + 1
    pairs = np.unique(codes[outlet >= 0].astype(np.int64) * width + outlet[outlet >= 0])  # (cluster, outlet)
    outlets_n = np.bincount(pairs // width, minlength=n_clusters)
    return DocClusters(view, cluster, rank_of, outlets_n, kept, kept_start, article_doc)


def apply(dc: DocClusters, ids: Sequence[str], matched: np.ndarray, *, changed: bool = False,
          headline_changed: bool = False, collapse: bool = True, prefer: np.ndarray | None = None) -> np.ndarray:
    """The matches (sorted document numbers) after the provenance filters, one per
    cluster when ``collapse``: its first-published member among the matches, taken from
    ``prefer`` (the matches with all the query's words) when any member is there."""
    out = matched
    if changed:
        out = out[dc.changed[out]]
    if headline_changed:
        out = out[dc.headline_changed[out]]
    if not collapse or not len(out):
        return out
    inside = out[dc.cluster[out] >= 0]
    if not len(inside):
        return out
    cl = dc.cluster[inside]
    second_choice = ~np.isin(inside, prefer) if prefer is not None else np.zeros(len(inside), bool)
    order = np.lexsort((dc.rank[inside], second_choice, cl))
    first = np.ones(len(order), dtype=bool)
    first[1:] = cl[order][1:] != cl[order][:-1]
    drop = np.sort(inside[order][~first])
    return np.setdiff1d(out, drop, assume_unique=True) if len(drop) else out


def cluster_dict(dc: DocClusters, doc_id: str) -> dict | None:
    """The ``cluster`` of a hit or article: size, first published, members; None if alone."""
    code = _cluster_code(dc, doc_id)
    members = dc.members(code) if code >= 0 else []
    if not members:
        return None
    first = members[0]
    return {
        "size": len(members),
        "first_published": {"id": first.id, "source": first.source, "date": first.date},
        "outlets": outlets(members),
        "members": [m.to_dict() for m in members],
    }


def _cluster_code(dc: DocClusters, doc_id: str) -> int:
    d = dc.article_doc.get(doc_id)
    if d is not None:
        return int(dc.cluster[d])
    try:  # an exact copy (not an article of the index): its row, found by a scan (rare)
        return int(dc.view.cluster[dc.view.ids.index(doc_id)])
    except ValueError:
        return -1


def outlets(members: list[Member]) -> list[str]:
    """Distinct outlets, in order of first publication (case-insensitive)."""
    seen: dict[str, str] = {}
    for m in members:
        if m.source and m.source.strip().lower() not in seen:
            seen[m.source.strip().lower()] = m.source.strip()
    return list(seen.values())


def facets(dc: DocClusters, ids: Sequence[str], docs: np.ndarray) -> dict[str, dict[str, int]]:
    """The provenance facets of the matches: outlets per story, and how many were edited."""
    edits = {}
    if dc.view.changed:
        edits = {"changed": int(dc.changed[docs].sum()), "headline_changed": int(dc.headline_changed[docs].sum())}
    return {"outlets": outlet_facet(dc, docs), "edits": {k: n for k, n in edits.items() if n}}


def outlet_facet(dc: DocClusters, docs: np.ndarray) -> dict[str, int]:
    """How many matching stories were published by 1, 2, 3... outlets."""
    codes = dc.cluster[docs]
    inside = codes >= 0
    counts = np.bincount(np.maximum(1, dc.outlets_n[codes[inside]]), minlength=2)
    counts[1] += len(codes) - int(inside.sum())
    return {str(n): int(c) for n, c in enumerate(counts.tolist()) if c}


class DocClusterCache:
    """The DocClusters of the last (view, index state) pair; both are immutable snapshots."""

    def __init__(self) -> None:
        self._last: tuple | None = None
        self._lock = threading.Lock()  # one mapping at a time: after a commit every thread needs it

    def get(self, view: ProvenanceView, columns) -> DocClusters:
        """The clusters of ``view`` over one index state's columns (``search.columns.Columns``)."""
        with self._lock:
            last = self._last
            if last is not None and last[0] is view and last[1] is columns:
                return last[2]
            copies = {c for cs in columns.duplicates.values() for c in cs}
            dc = map_docs(view, columns.ids, np.flatnonzero(columns.articles), copies)
            self._last = (view, columns, dc)
            return dc
