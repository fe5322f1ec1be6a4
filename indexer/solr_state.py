"""The Solr sink's record of corpus files: one SQLite file in the indexer's state folder.

Solr is the index, but the file state (size, mtime, hashes) that makes a run incremental
stays on the indexer's machine, like the Whoosh index's own record. A batch's rows are
written in one transaction only after Solr confirmed the batch, so a run killed at any
moment leaves the record describing what Solr holds (or less: a batch Solr applied but
the record missed is sent again, and updates by id are idempotent).
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, fields
from pathlib import Path

STATE_DB = "solr-state.sqlite"

_COLUMNS = "path, id, kind, size, mtime_ns, file_hash, meta_hash, content_hash, dup_of"


@dataclass
class FileRecord:
    """What Solr holds for one corpus file (its document's id and kind) and its file state."""

    path: str
    id: str
    kind: str
    size: int
    mtime_ns: int
    file_hash: str
    meta_hash: str
    content_hash: str
    dup_of: str = ""


class SolrState:
    """The file records, read whole at the start of a run and updated per confirmed batch."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / STATE_DB
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, id TEXT NOT NULL, kind TEXT NOT NULL,"
            " size INTEGER, mtime_ns INTEGER, file_hash TEXT, meta_hash TEXT, content_hash TEXT, dup_of TEXT)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")

    def load(self) -> dict[str, FileRecord]:
        """Every file record, by corpus-relative path."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM files")
        return {r[0]: FileRecord(*r) for r in rows}

    def commit(self, upserts: list[FileRecord], removed: list[str]) -> None:
        """Record one confirmed batch atomically."""
        marks = ", ".join("?" * len(fields(FileRecord)))
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in removed])
            self.db.executemany(f"INSERT OR REPLACE INTO files ({_COLUMNS}) VALUES ({marks})",
                                [astuple(r) for r in upserts])

    def clear(self) -> None:
        """Forget every record (a rebuild sends every file again)."""
        with self.db:
            self.db.execute("DELETE FROM files")

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self.db.close()
