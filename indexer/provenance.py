"""What the indexer records about each article besides the index: versions and clusters.

The writer calls ``article``/``copy``/``forget`` as it writes documents and ``flush``
just before each Whoosh commit. Calls are buffered and applied in one SQLite
transaction at ``flush`` (other owners, such as the journal, write to the same file
during the batch, so no lock is held meanwhile). Flushing before the commit means a
kill after it loses nothing (the next run replays the uncommitted files, and both
stores ignore a replay); a kill before it leaves no trace.

A buffered call holds its whole article (the text, for the version), so a writer that
buffers more than ``max_ops`` calls between commits (a rebuild commits in shares of the
corpus) flushes every ``max_ops``: rows are then written earlier, still before the
commit that makes them visible, and a kill leaves rows that the replay ignores and the
next run's ``sweep`` clears, as a kill after the last flush always did.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from common.documents import Article
from indexer import clusters, statedb, versions
from indexer.clusters import Signature


class Provenance:
    """Buffers one batch of provenance writes; ``flush`` applies them atomically."""

    def __init__(self, index_dir: Path, max_ops: int | None = None, seen: str | None = None) -> None:
        self.index_dir = Path(index_dir)
        # When the indexer first saw what this run writes: the run's start, one value for
        # the run, so a story's undated members are ordered by run, then by id, and a
        # rebuild of the same folder picks the same representatives (a time per call made
        # that depend on which second each member was written in).
        self.seen = seen or _now()
        self.con: sqlite3.Connection | None = None
        self.ops: list[tuple] = []
        self.max_ops = max_ops  # flush when this many calls wait (None: only at flush())
        self.seconds = 0.0  # time spent applying, for the cost figure

    def article(self, article: Article, sig: Signature | None) -> None:
        self._buffer(("article", article, sig, self.seen))

    def copy(self, article: Article, owner: str) -> None:
        self._buffer(("copy", article, owner, self.seen))

    def forget(self, doc_id: str) -> None:
        self._buffer(("forget", doc_id))

    def _buffer(self, op: tuple) -> None:
        self.ops.append(op)
        if self.max_ops is not None and len(self.ops) >= self.max_ops:
            self.flush()

    def flush(self) -> None:
        """Apply the buffered writes in one transaction (call before the index commit)."""
        if not self.ops:
            return
        t0 = time.perf_counter()
        with self._transaction() as con:
            for op in self.ops:
                if op[0] == "article":
                    versions.record(con, op[1], op[3])
                    clusters.add_article(con, op[1], op[2], op[3])
                elif op[0] == "copy":
                    clusters.add_copy(con, op[1], op[2], op[3])
                else:
                    clusters.remove(con, op[1])
        self.ops = []
        self.seconds += time.perf_counter() - t0

    def sweep(self, live: set[str]) -> None:
        """Drop cluster rows of documents the index does not hold (after a killed run)."""
        with self._transaction() as con:
            clusters.sweep(con, live)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    def _transaction(self):
        return _Transaction(self)

    def _connect(self) -> sqlite3.Connection:
        if self.con is None:
            con = statedb.connect(self.index_dir)
            statedb.migrate(con, versions.OWNER, versions.MIGRATIONS)
            statedb.migrate(con, clusters.OWNER, clusters.MIGRATIONS)
            self.con = con
        return self.con


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT; a SQLite failure becomes an OSError (the run's disk hint)."""

    def __init__(self, owner: Provenance) -> None:
        self.owner = owner
        self.con: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.con = self.owner._connect()
            self.con.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise OSError(f"state.sqlite3: {exc}") from exc
        return self.con

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.con is not None
        try:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")
        except sqlite3.Error as err:
            if exc_type is None:
                raise OSError(f"state.sqlite3: {err}") from err
        if isinstance(exc, sqlite3.Error):
            raise OSError(f"state.sqlite3: {exc}") from exc


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
