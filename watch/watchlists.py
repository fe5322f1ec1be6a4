"""Watchlists: lists of names or queries, each row watched like a standing search."""

from __future__ import annotations

from search.request import SearchRequest
from watch.store import has_table


def row_searches(con) -> dict[tuple[str, int], SearchRequest]:
    """Every watchlist row's search (none until watchlists exist)."""
    if not has_table(con, "watchlists"):
        return {}
    return {}


def all_lists(con) -> list:
    return []
