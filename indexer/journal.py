"""The journal of articles each run wrote, for watch/ to evaluate standing searches on.

One row per article written (added, or changed), with the index version and the Whoosh
generation its commit creates. A row is written *before* that commit (one small SQLite
transaction), so a kill between the two loses nothing: a reader treats a row as visible
once the live index is that version at that generation or later, and a commit that never
happened is redone by the next run (the file is still new to it). The table lives in
``INDEX_DIR/state.sqlite3``, which this module creates and migrates for its own table.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from common.layout import STATE_DB, current_version

OWNER = "journal"
VERSION = 1
BUSY_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    version TEXT NOT NULL,
    generation INTEGER NOT NULL,
    seen_at TEXT NOT NULL
);
"""


def connect(index_dir: Path) -> sqlite3.Connection:
    """The state database in autocommit mode, WAL (readers never wait for the writer)."""
    con = sqlite3.connect(Path(index_dir) / STATE_DB, isolation_level=None, timeout=BUSY_MS / 1000)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")  # survives a killed process; a commit costs no fsync
    return con


def migrate(con: sqlite3.Connection) -> None:
    """Create the journal table (version 1); later versions add steps here."""
    con.executescript(SCHEMA)
    con.execute("INSERT OR IGNORE INTO schema_versions VALUES (?, ?)", (OWNER, VERSION))


class Journal:
    """Records articles as the writer adds them; opened on the first one."""

    def __init__(self, index_dir: Path, version: str) -> None:
        self.index_dir = Path(index_dir)
        self.version = version
        self.con: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        try:
            con = connect(self.index_dir)
            migrate(con)
            live = current_version(self.index_dir)
            # rows of versions that are neither live nor being written can never become visible
            keep = {self.version} | ({live.name} if live else set())
            con.execute(f"DELETE FROM journal WHERE version NOT IN ({','.join('?' * len(keep))})", tuple(keep))
        except sqlite3.Error as exc:
            raise OSError(f"{STATE_DB}: {exc}") from exc
        return con

    def add(self, doc_id: str, content_hash: str, generation: int) -> None:
        """Record one article the writer is about to commit as ``generation``."""
        if self.con is None:
            self.con = self._open()
        try:
            self.con.execute(
                "INSERT INTO journal (doc_id, content_hash, version, generation, seen_at) VALUES (?, ?, ?, ?, ?)",
                (doc_id, content_hash, self.version, generation, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
            )
        except sqlite3.Error as exc:  # an OSError makes the run fail with the disk/permissions hint
            raise OSError(f"{STATE_DB}: {exc}") from exc

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
