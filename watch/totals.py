"""Watchlist row totals, cached in ``state.sqlite3`` per index state.

A row's totals (count, dates, sources, newest matches) cost two searches over the whole
archive, and a list of 10,000 rows was searched again on every read. They change only
when the index does: each cached row carries the index state it was computed at
(version folder and Whoosh generation, ``SearchEngine.index_state``), and a read at that
same state costs no search. Any commit (an article added, changed or removed) or a
rebuild's swap changes the state, so the next read recomputes the rows it shows.
``new`` counts are not cached: they come from the row's matches, read every time.

A backend that names no commit (Solr: generation None) caches nothing. Rows are never
edited (a list is replaced by deleting it; ids are not reused), so a row's cached totals
belong to its search. The cache is best-effort: a store that cannot be written (busy,
read-only) serves the freshly computed totals without keeping them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Iterator

from search.engine import SearchEngine
from search.results import IndexState
from watch import store
from common.sqlite_tx import transaction
from watch.watchlists import Row, summary, totals

log = logging.getLogger(__name__)


def state_key(state: IndexState) -> str | None:
    """The cache key of an index state, or None when the backend names no commit."""
    if state.generation is None:
        return None
    return f"{state.version}:{state.generation}"


def cached(con: sqlite3.Connection, list_id: int, rows: list[Row], key: str) -> dict[int, dict]:
    """Those of ``rows`` computed at this index state: {row: totals}."""
    if not rows:
        return {}
    cur = con.execute("SELECT row, totals FROM row_totals WHERE list_id = ? AND index_state = ? "
                      "AND row BETWEEN ? AND ?", (list_id, key, min(r.row for r in rows), max(r.row for r in rows)))
    return {row: json.loads(text) for row, text in cur}


def keep(con: sqlite3.Connection, list_id: int, key: str, fresh: dict[int, dict]) -> None:
    """Store freshly computed totals under the state they were computed at (or later)."""
    try:
        with transaction(con):
            con.executemany("INSERT OR REPLACE INTO row_totals VALUES (?, ?, ?, ?)",
                            [(list_id, row, key, json.dumps(t)) for row, t in fresh.items()])
    except (sqlite3.OperationalError, sqlite3.IntegrityError) as exc:  # busy, read-only; list deleted
        log.warning("watchlist totals not cached: %s", exc)


def row_summaries(con: sqlite3.Connection, engine: SearchEngine, list_id: int, rows: list[Row],
                  new: dict[int, int]) -> list[dict]:
    """Each row's summary; only rows not computed at the current index state are searched.

    The state is read before searching: a commit landing meanwhile stores newer totals
    under the older key, which the next read (seeing the newer state) recomputes.
    """
    key = state_key(engine.index_state())
    have = cached(con, list_id, rows, key) if key else {}
    fresh = {r.row: totals(engine, r.q) for r in rows if r.row not in have}
    if key and fresh:
        keep(con, list_id, key, fresh)
    return [summary(r, have.get(r.row) or fresh[r.row], new.get(r.row, 0)) for r in rows]


def stream_summaries(index_dir: Path, engine: SearchEngine, list_id: int, rows: list[Row],
                     new: dict[int, int], chunk: int = 100) -> Iterator[dict]:
    """Every row's summary, ``chunk`` rows at a time, on a connection of its own (a
    streamed response outlives the request's connection)."""
    con = store.connect(index_dir)
    try:
        for i in range(0, len(rows), chunk):
            yield from row_summaries(con, engine, list_id, rows[i:i + chunk], new)
    finally:
        con.close()
