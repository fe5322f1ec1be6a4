"""Read-only view of the provenance state the indexer keeps in ``state.sqlite3``.

Article versions and story clusters are written by ``indexer/versions.py`` and
``indexer/clusters.py``; search only reads them (a ``mode=ro`` connection) to add
``versions`` to an article and ``cluster`` to hits. The cluster table is small next
to the index, so it is read whole, as columns, and cached until the file changes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from common.layout import STATE_DB
from indexer.versions import Version, changed_docs, versions_of


@dataclass(frozen=True)
class Member:
    """One copy of a story: an article (``near``) or an exact copy (``exact``)."""

    id: str
    source: str | None
    date: str | None
    date_key: str | None
    seen: str
    kind: str

    @property
    def order(self) -> tuple:
        """Earliest-dated first; undated last; then first seen, then id."""
        return (self.date_key is None, self.date_key or "", self.seen, self.id)

    def to_dict(self) -> dict:
        return {"id": self.id, "source": self.source, "date": self.date, "kind": self.kind}


MEMBER_COLUMNS = ("doc_id", "source", "date", "date_key", "seen", "kind")


@dataclass
class ProvenanceView:
    """One reading of the state file: changed articles, and the members of every cluster
    of two or more as columns (row i is one member), grouped by cluster and ordered
    within it by ``Member.order``. A 200k-article archive has ~200k member rows: as
    columns they are read in a fraction of the time objects took, and ``Member``
    objects are made only for the clusters a response shows."""

    changed: set[str] = field(default_factory=set)
    headline_changed: set[str] = field(default_factory=set)
    columns: dict[str, list] = field(default_factory=lambda: {name: [] for name in MEMBER_COLUMNS})
    cluster: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # row -> cluster code
    row_of: dict[str, int] = field(default_factory=dict)  # doc id -> its member row

    @cached_property
    def outlet(self) -> np.ndarray:
        """Row -> code of its outlet (case-insensitive source), -1 without one."""
        index: dict[str, int] = {"": -1}
        return np.fromiter((index.setdefault((s or "").strip().lower(), len(index) - 1)
                            for s in self.columns["source"]), dtype=np.int32, count=len(self.cluster))

    def member(self, row: int) -> Member:
        return Member(*(self.columns[name][row] for name in MEMBER_COLUMNS))


def _connect(index_dir: Path) -> sqlite3.Connection | None:
    path = Path(index_dir) / STATE_DB
    if not path.exists():
        return None
    try:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return None


def _read(con: sqlite3.Connection) -> ProvenanceView:
    view = ProvenanceView()
    try:
        view.changed, view.headline_changed = changed_docs(con)
    except sqlite3.OperationalError:  # no versions table yet (no run recorded any)
        pass
    try:
        rows = con.execute(
            "SELECT cluster, doc_id, source, date, date_key, seen, kind FROM story_members WHERE cluster IN "
            "(SELECT cluster FROM story_members GROUP BY cluster HAVING COUNT(*) > 1) "
            "ORDER BY cluster, date_key IS NULL, coalesce(date_key, ''), seen, doc_id"  # Member.order
        ).fetchall()
    except sqlite3.OperationalError:
        rows = []
    if rows:
        names, *values = zip(*rows)
        view.columns = dict(zip(MEMBER_COLUMNS, (list(v) for v in values)))
        codes: dict[str, int] = {}
        view.cluster = np.fromiter((codes.setdefault(c, len(codes)) for c in names), np.int32, len(names))
        view.row_of = {doc_id: i for i, doc_id in enumerate(view.columns["doc_id"])}
    return view


class ProvenanceState:
    """The cached view of one INDEX_DIR's state file, re-read when the file changes."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._view = ProvenanceView()

    def _stamp(self) -> tuple:
        out = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(self.index_dir / f"{STATE_DB}{suffix}")
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def view(self) -> ProvenanceView:
        """The current view (read again only when the state file changed)."""
        key = self._stamp()
        with self._lock:
            if key == self._key:
                return self._view
        con = _connect(self.index_dir)
        view = ProvenanceView()
        if con is not None:
            try:
                view = _read(con)
            except sqlite3.Error:
                view = ProvenanceView()
            finally:
                con.close()
        with self._lock:
            self._key, self._view = key, view
        return view

    def versions(self, doc_id: str) -> list[Version]:
        """The versions of an article's story, oldest first."""
        con = _connect(self.index_dir)
        if con is None:
            return []
        try:
            return versions_of(con, doc_id)
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()
