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
    kind: str

    def to_dict(self) -> dict:
        return {"id": self.id, "source": self.source, "date": self.date, "kind": self.kind}


# Earliest-dated first; undated last; then first seen (the run that recorded it), then id.
MEMBER_ORDER = "date_key IS NULL, coalesce(date_key, ''), seen, doc_id"


def _codes(values, labels: dict) -> np.ndarray:
    return np.fromiter((labels.setdefault(v, len(labels)) for v in values), np.int32, len(values))


@dataclass
class ProvenanceView:
    """One reading of the state file: changed articles, and the members of every cluster
    of two or more, one row each, grouped by cluster and in ``MEMBER_ORDER`` within it.

    A 200k-article archive has ~200k member rows: they are kept as the ids plus small
    integer codes (cluster, source, date, kind), and ``Member`` objects are made only
    for the clusters a response shows."""

    changed: set[str] = field(default_factory=set)
    headline_changed: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)  # row -> member doc id
    cluster: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # row -> cluster code
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # source, date, kind: row -> code
    labels: dict[str, list] = field(default_factory=dict)  # source, date, kind: code -> value

    @cached_property
    def outlet(self) -> np.ndarray:
        """Row -> code of its outlet (case-insensitive source), -1 without one."""
        outlet_of: dict[str, int] = {"": -1}
        per_source = np.array([outlet_of.setdefault((s or "").strip().lower(), len(outlet_of) - 1)
                               for s in self.labels.get("source", [])] + [-1], dtype=np.int32)
        return per_source[self.codes["source"]] if self.ids else np.zeros(0, np.int32)

    def member(self, row: int) -> Member:
        source, date, kind = (self.labels[k][self.codes[k][row]] for k in ("source", "date", "kind"))
        return Member(self.ids[row], source, date, kind)


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
    try:  # one pass over the table (its rows hold signatures) beats a look-up per cluster
        rows = con.execute("SELECT cluster, doc_id, source, date, kind FROM story_members NOT INDEXED "
                           f"ORDER BY cluster, {MEMBER_ORDER}").fetchall()
    except sqlite3.OperationalError:
        rows = []
    if not rows:
        return view
    clusters, ids, *values = zip(*rows)
    cluster = _codes(clusters, {})
    keep = np.flatnonzero((np.bincount(cluster) > 1)[cluster])  # clusters of two or more
    view.ids = np.array(ids, dtype=object)[keep].tolist()
    view.cluster = np.unique(cluster[keep], return_inverse=True)[1].astype(np.int32).ravel()
    for name, column in zip(("source", "date", "kind"), values):
        labels: dict = {}
        view.codes[name] = _codes(column, labels)[keep]
        view.labels[name] = list(labels)
    return view


class ProvenanceState:
    """The cached view of one INDEX_DIR's state file, re-read when the file changes."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._view = ProvenanceView()

    def stamp(self) -> tuple:
        """The state file's and its write-ahead log's (mtime, size). An empty log counts
        as none: the indexer removes it when it closes, and our own read-only connection
        creates it again, which read as a change and read the whole file a second time."""
        out = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(self.index_dir / f"{STATE_DB}{suffix}")
            except OSError:
                st = None
            out.append((st.st_mtime_ns, st.st_size) if st is not None and (st.st_size or not suffix) else None)
        return tuple(out)

    def view(self) -> ProvenanceView:
        """The current view (read again only when the state file changed)."""
        key = self.stamp()
        with self._lock:  # one reader at a time: after a run, every thread would read it
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
