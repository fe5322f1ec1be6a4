"""Read-only view of the provenance state the indexer keeps in ``state.sqlite3``.

Article versions and story clusters are written by ``indexer/versions.py`` and
``indexer/clusters.py``; search only reads them (a ``mode=ro`` connection) to add
``versions`` to an article and ``cluster`` to hits. The cluster table is small next
to the index, so it is read whole and cached until the file changes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class ProvenanceView:
    """One reading of the state file: changed articles and clusters of two or more."""

    changed: set[str] = field(default_factory=set)
    headline_changed: set[str] = field(default_factory=set)
    clusters: dict[str, list[Member]] = field(default_factory=dict)
    cluster_of: dict[str, str] = field(default_factory=dict)


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
            "(SELECT cluster FROM story_members GROUP BY cluster HAVING COUNT(*) > 1)"
        ).fetchall()
    except sqlite3.OperationalError:
        rows = []
    for cluster, *values in rows:
        view.clusters.setdefault(cluster, []).append(Member(*values))
        view.cluster_of[values[0]] = cluster
    for members in view.clusters.values():
        members.sort(key=lambda m: m.order)
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
