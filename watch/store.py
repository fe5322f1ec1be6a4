"""The watch store: standing searches, watchlists and their matches in ``state.sqlite3``.

The file sits beside the index (``INDEX_DIR/state.sqlite3``) and survives ``--rebuild``.
This module creates and migrates its own tables (the indexer owns the ``journal``
table in the same file, ``indexer/journal.py``; this module only reads and prunes it).
Every write is one short transaction; ``record`` stores a chunk's matches and drops its
journal rows in the same one, so a kill loses nothing and records nothing twice.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from common.layout import STATE_DB
from common.sqlite_tx import transaction

OWNER = "watch"
BUSY_S = 10.0

# Each step moves the schema from version i to i + 1; a new step is appended, never edited.
MIGRATIONS = [
    """
    CREATE TABLE watches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        q TEXT NOT NULL DEFAULT '',
        date_from TEXT, date_to TEXT,
        source TEXT NOT NULL DEFAULT '[]', tag TEXT NOT NULL DEFAULT '[]',
        syntax_error TEXT,
        created TEXT NOT NULL,
        seen_upto INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE matches (
        watch_id INTEGER NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
        article_id TEXT NOT NULL, path TEXT, title TEXT, date TEXT,
        first_seen TEXT NOT NULL, matched_at TEXT NOT NULL,
        UNIQUE (watch_id, article_id)
    );
    CREATE INDEX matches_by_seen ON matches (watch_id, first_seen);
    CREATE TABLE seen (article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, first_seen TEXT NOT NULL);
    """,
    """
    CREATE TABLE watchlists (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created TEXT NOT NULL,
        seen_upto INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE watchlist_rows (
        list_id INTEGER NOT NULL REFERENCES watchlists(id) ON DELETE CASCADE,
        row INTEGER NOT NULL, name TEXT NOT NULL, variants TEXT NOT NULL DEFAULT '[]',
        fuzzy INTEGER NOT NULL DEFAULT 0, q TEXT NOT NULL,
        PRIMARY KEY (list_id, row)
    );
    CREATE TABLE row_matches (
        list_id INTEGER NOT NULL REFERENCES watchlists(id) ON DELETE CASCADE,
        row INTEGER NOT NULL, article_id TEXT NOT NULL, path TEXT, title TEXT, date TEXT,
        first_seen TEXT NOT NULL, matched_at TEXT NOT NULL,
        UNIQUE (list_id, row, article_id)
    );
    """,
    """
    CREATE TABLE row_totals (
        list_id INTEGER NOT NULL REFERENCES watchlists(id) ON DELETE CASCADE,
        row INTEGER NOT NULL,
        index_state TEXT NOT NULL,
        totals TEXT NOT NULL,
        PRIMARY KEY (list_id, row)
    );
    """,
]


class DuplicateName(ValueError):
    """Another watch or watchlist already has this name."""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class JournalRow:
    seq: int
    doc_id: str
    content_hash: str
    version: str
    generation: int
    seen_at: str


@dataclass(frozen=True)
class Match:
    """An article that matched a standing search (or a watchlist row) when first seen."""

    article_id: str
    path: str
    title: str
    date: str | None
    first_seen: str

    def to_dict(self) -> dict:
        return {"id": self.article_id, "path": self.path, "title": self.title, "date": self.date,
                "first_seen": self.first_seen}


def connect(index_dir: Path) -> sqlite3.Connection:
    """A connection to the store, migrated to the latest schema."""
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(Path(index_dir) / STATE_DB, isolation_level=None, timeout=BUSY_S,
                          check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    migrate(con)
    return con


def migrate(con: sqlite3.Connection) -> None:
    """Apply the migrations this file has not seen yet, each in its own transaction."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    row = con.execute("SELECT version FROM schema_versions WHERE owner = ?", (OWNER,)).fetchone()
    version = row[0] if row else 0
    for i, step in enumerate(MIGRATIONS[version:], start=version + 1):
        with transaction(con):
            # re-read inside the write lock: another process may have migrated meanwhile
            row = con.execute("SELECT version FROM schema_versions WHERE owner = ?", (OWNER,)).fetchone()
            if row and row[0] >= i:
                continue
            for statement in step.split(";"):
                if statement.strip():
                    con.execute(statement)
            con.execute("INSERT OR REPLACE INTO schema_versions VALUES (?, ?)", (OWNER, i))


def has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def pending_journal(con: sqlite3.Connection) -> list[JournalRow]:
    """Journal rows not processed yet, oldest first (none when the indexer never wrote one)."""
    if not has_table(con, "journal"):
        return []
    rows = con.execute("SELECT seq, doc_id, content_hash, version, generation, seen_at FROM journal ORDER BY seq")
    return [JournalRow(*r) for r in rows]


def new_articles(con: sqlite3.Connection, rows: list[JournalRow]) -> dict[str, JournalRow]:
    """The rows' articles not evaluated yet in this content (a rebuild re-journals everything)."""
    out: dict[str, JournalRow] = {}
    for r in rows:
        seen = con.execute("SELECT content_hash FROM seen WHERE article_id = ?", (r.doc_id,)).fetchone()
        if seen is None or seen[0] != r.content_hash:
            out.setdefault(r.doc_id, r)
    return out


def record(con: sqlite3.Connection, rows: list[JournalRow], fresh: dict[str, JournalRow],
           found: dict[tuple[str, int], list[Match]]) -> int:
    """Store the matches of a chunk and drop its journal rows, in one transaction.

    ``found`` maps ("watch", id) or ("row", list_id * 2**20 + row) to matches whose
    ``first_seen`` is still the journal's; the article's earliest sighting wins.
    Returns the number of matches newly recorded.
    """
    added = 0
    stamp = now()
    with transaction(con):
        first = {}
        for doc_id, r in fresh.items():
            old = con.execute("SELECT first_seen FROM seen WHERE article_id = ?", (doc_id,)).fetchone()
            first[doc_id] = min(old[0], r.seen_at) if old else r.seen_at
            con.execute("INSERT OR REPLACE INTO seen VALUES (?, ?, ?)", (doc_id, r.content_hash, first[doc_id]))
        for (kind, key), matches in found.items():
            for m in matches:
                added += _insert_match(con, kind, key, m, first.get(m.article_id, m.first_seen), stamp)
        con.executemany("DELETE FROM journal WHERE seq = ?", [(r.seq,) for r in rows])
    return added


def _insert_match(con: sqlite3.Connection, kind: str, key: int, m: Match, first_seen: str, stamp: str) -> int:
    if kind == "watch":
        cur = con.execute(
            "INSERT OR IGNORE INTO matches (watch_id, article_id, path, title, date, first_seen, matched_at) "
            "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM watches WHERE id = ?)",
            (key, m.article_id, m.path, m.title, m.date, first_seen, stamp, key))
    else:
        list_id, row = divmod(key, ROW_KEY)
        cur = con.execute(
            "INSERT OR IGNORE INTO row_matches (list_id, row, article_id, path, title, date, first_seen, matched_at) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM watchlists WHERE id = ?)",
            (list_id, row, m.article_id, m.path, m.title, m.date, first_seen, stamp, list_id))
    return cur.rowcount


ROW_KEY = 2 ** 20  # key of a watchlist row in ``record``: list_id * ROW_KEY + row
