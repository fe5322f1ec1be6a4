"""Evaluate every standing search (and watchlist row) against the articles the indexer
journaled since the last evaluation, and only those.

A journal row is visible once the live index is the row's version at the row's
generation or later (indexer/journal.py). Visible rows are taken a chunk at a time: each
search runs restricted to the chunk's ids (``SearchRequest.ids``), then the chunk's
matches are recorded and its journal rows dropped in one transaction (watch/store.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from search.engine import SearchEngine
from search.request import SearchRequest
from watch import store, watches, watchlists
from watch.store import JournalRow, Match

CHUNK = 1000


@dataclass
class Summary:
    journal_rows: int = 0
    articles: int = 0
    searches: int = 0
    matches: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def searches(con) -> dict[tuple[str, int], SearchRequest]:
    """Every standing search and watchlist row, keyed as ``store.record`` expects."""
    out: dict[tuple[str, int], SearchRequest] = {("watch", w.id): w.request for w in watches.all_watches(con)}
    out.update(watchlists.row_searches(con))
    return out


def visible(rows: list[JournalRow], engine: SearchEngine) -> list[JournalRow]:
    """The rows whose commit the live index already shows."""
    state = engine.health()["index"]
    return [r for r in rows if r.version == state["version"] and r.generation <= state["generation"]]


def matches_in(engine: SearchEngine, reqs: dict, ids: frozenset[str]) -> dict:
    """For each search, the articles among ``ids`` it matches with all its words ("any of
    the words" is a reading aid for people, not a standing match)."""
    keys = list(reqs)
    return dict(zip(keys, engine.match_ids([replace(reqs[k], ids=ids) for k in keys])))


def describe(engine: SearchEngine, ids: set[str]) -> dict[str, Match]:
    """Path, title and date of the matched articles, read once per chunk."""
    if not ids:
        return {}
    res = engine.search(SearchRequest(ids=frozenset(ids), sort="newest", size=len(ids)))
    return {h.id: Match(h.id, h.path, h.title, h.date, "") for h in res.hits}


def run(index_dir: Path, engine: SearchEngine | None = None, chunk: int = CHUNK) -> Summary:
    """Evaluate what is pending; returns what was done (nothing when the journal is empty)."""
    t0 = time.perf_counter()
    summary = Summary()
    con = store.connect(index_dir)
    try:
        rows = store.pending_journal(con)
        if not rows:
            return summary
        engine = engine or SearchEngine(index_dir)
        rows = visible(rows, engine)
        summary.journal_rows = len(rows)
        todo = searches(con)
        for i in range(0, len(rows), chunk):
            part = rows[i:i + chunk]
            fresh = store.new_articles(con, part)
            found: dict[tuple[str, int], list[Match]] = {}
            if fresh and todo:
                ids = frozenset(fresh)
                hits = matches_in(engine, todo, ids)
                meta = describe(engine, set().union(*hits.values()))
                found = {key: [meta[a] for a in sorted(got) if a in meta] for key, got in hits.items() if got}
                summary.searches += len(todo)
            summary.articles += len(fresh)
            summary.matches += store.record(con, part, fresh, found)
    finally:
        con.close()
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary
