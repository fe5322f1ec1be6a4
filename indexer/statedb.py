"""Owned tables in ``INDEX_DIR/state.sqlite3``: one connection helper, one migration rule.

The state file is shared by several owners (the indexer's journal, watch/, versions,
story clusters); each owns its tables and records its schema version under its own
name in ``schema_versions``, exactly as ``watch/store.py`` does, so each can migrate
without knowing the others.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from common.layout import STATE_DB
from common.sqlite_tx import transaction

BUSY_S = 10.0


def connect(index_dir: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal."""
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(Path(index_dir) / STATE_DB, isolation_level=None, timeout=BUSY_S)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")  # survives a killed process
    con.execute("PRAGMA cache_size=-65536")  # 64 MB: the LSH bands of ~100k articles stay cached
    return con


def migrate(con: sqlite3.Connection, owner: str, steps: list[str]) -> None:
    """Apply the steps ``owner`` has not applied yet, each in its own transaction."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    for i, step in enumerate(steps, start=1):
        with transaction(con):
            # read inside the write lock: another process may have migrated meanwhile
            row = con.execute("SELECT version FROM schema_versions WHERE owner = ?", (owner,)).fetchone()
            if not row or row[0] < i:
                for statement in step.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute("INSERT OR REPLACE INTO schema_versions VALUES (?, ?)", (owner, i))
