"""Filters as masks over columns, facets as counts over column codes, date order by rank."""

from __future__ import annotations

import numpy as np
from whoosh.util.times import datetime_to_long

from common.documents import source_key
from search.columns import Columns
from search.match import intersect, union
from search.request import SearchRequest
from search.view import IndexView

FACET_TOP = 20


def stamp_of(dt) -> int:
    """The column value (Whoosh's long form) for a datetime bound."""
    return datetime_to_long(dt)


def apply_filters(view: IndexView, req: SearchRequest, docs: np.ndarray) -> tuple[np.ndarray, int]:
    """(docs passing the request's source, tag and date filters, undated docs the dates hid)."""
    cols = view.columns
    if req.ids is not None:  # library only: watch/ restricts a search to a run's articles
        ids = cols.ids
        docs = docs[np.fromiter((ids[d] in req.ids for d in docs.tolist()), dtype=bool, count=len(docs))]
    if req.source:
        docs = intersect(docs, union([view.postings("source_key", source_key(v)).ids for v in req.source]))
    if req.tag:
        tagged = [cols.tag_docs.get(v.strip().lower()) for v in req.tag]
        docs = intersect(docs, union([t for t in tagged if t is not None]))
    hidden = 0
    if req.has_date_filter and len(docs):
        undated = cols.undated[docs]
        hidden = int(undated.sum())
        keep = ~undated
        if req.date_from:
            keep &= cols.end[docs] >= stamp_of(req.date_from.start)
        if req.date_to:
            keep &= cols.start[docs] <= stamp_of(req.date_to.end)
        docs = docs[keep]
    return docs, hidden


def facets(cols: Columns, docs: np.ndarray) -> dict[str, dict[str, int]]:
    """Year, month, source and tag counts over all the matches."""

    def top(c: dict[str, int]) -> dict[str, int]:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_TOP])

    return {
        "year": dict(sorted(cols.year.counts(docs).items(), reverse=True)),
        "month": dict(sorted(cols.month.counts(docs).items(), reverse=True)),
        "source": top(cols.source.counts(docs)),
        "tag": top(cols.tag_counts(docs)),
    }


def by_date(cols: Columns, docs: np.ndarray, sort: str, need: int) -> list[tuple[int, None]]:
    """The first ``need`` docs newest (or oldest) first; undated last; ties by id."""
    if not len(docs) or need <= 0:
        return []
    rank = cols.date_rank(sort == "newest")[docs]
    if len(docs) > need:
        sel = np.argpartition(rank, need - 1)[:need]
    else:
        sel = np.arange(len(docs))
    sel = sel[np.argsort(rank[sel])]
    return [(int(d), None) for d in docs[sel]]


__all__ = ["apply_filters", "by_date", "facets", "stamp_of"]
