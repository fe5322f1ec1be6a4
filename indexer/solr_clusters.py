"""Story clusters in the Solr collection: each document's ``cluster`` fields.

The clusters themselves are computed as for the Whoosh index (``indexer/clusters.py``, in
``state.sqlite3`` through ``indexer/provenance.py``); Solr only needs, per document, the
cluster it belongs to (search collapses on it), how many outlets published the story
(the ``outlets`` facet), how many members it has, and when the indexer first recorded
the member (``first_seen``: it orders undated members, as the Whoosh backend does). A new
article can merge clusters or add an outlet to a story, so documents sent earlier change
too: ``solr_clusters`` records what Solr was last told, and each batch sends the
difference as atomic updates. The record is written only after Solr confirmed the batch,
so a kill resends (updates are idempotent).
"""

from __future__ import annotations

import sqlite3

from common.sqlite_tx import transaction
from indexer import statedb

OWNER = "solr_clusters"
MIGRATIONS = [
    "CREATE TABLE solr_clusters (doc_id TEXT PRIMARY KEY, cluster TEXT NOT NULL, outlets INTEGER NOT NULL,"
    " seen TEXT NOT NULL, size INTEGER NOT NULL)",
]

# Every member whose cluster or outlet count differs from what Solr was told; outlets as
# search.clusters.outlets counts them (distinct non-empty sources, case-blind, at least 1).
_CHANGED = """
WITH o AS (SELECT cluster, COUNT(DISTINCT lower(trim(source))) AS n FROM story_members
           WHERE trim(coalesce(source, '')) != '' GROUP BY cluster),
     z AS (SELECT cluster, COUNT(*) AS size FROM story_members GROUP BY cluster)
SELECT m.doc_id, m.cluster, max(1, coalesce(o.n, 0)), m.seen, z.size FROM story_members m
JOIN z ON z.cluster = m.cluster
LEFT JOIN o ON o.cluster = m.cluster
LEFT JOIN solr_clusters s ON s.doc_id = m.doc_id
WHERE s.doc_id IS NULL OR s.cluster != m.cluster OR s.outlets != max(1, coalesce(o.n, 0)) OR s.seen != m.seen
   OR s.size != z.size
"""


def connect(index_dir) -> sqlite3.Connection:
    """The state file with this owner's table (and the cluster tables) migrated."""
    from indexer import clusters

    con = statedb.connect(index_dir)
    statedb.migrate(con, clusters.OWNER, clusters.MIGRATIONS)
    statedb.migrate(con, OWNER, MIGRATIONS)
    return con


def pending(con: sqlite3.Connection, resend: list[str]) -> dict[str, tuple[str, int, str, int]]:
    """doc id -> (cluster, outlets, first seen, size) for every document Solr has not been told about yet,
    and for the ``resend`` ids (their whole documents are being sent again)."""
    for i in range(0, len(resend), 500):
        part = resend[i : i + 500]
        con.execute(f"DELETE FROM solr_clusters WHERE doc_id IN ({','.join('?' * len(part))})", part)
    return {row[0]: (row[1], int(row[2]), row[3], int(row[4])) for row in con.execute(_CHANGED)}


def fields(cluster: str, outlets: int, seen: str, size: int) -> dict:
    """The cluster fields of one document (the size spares search a look-up of lone stories)."""
    return {"cluster": cluster, "cluster_outlets": str(outlets), "first_seen": seen, "cluster_size": size}


def atomic_update(doc_id: str, cluster: str, outlets: int, seen: str, size: int) -> dict:
    """An update of a document Solr already holds (``_version_: 1``: skipped, not created,
    when it does not: a copy recorded before its Solr document was confirmed)."""
    return {"id": doc_id, "_version_": 1, **{k: {"set": v} for k, v in fields(cluster, outlets, seen, size).items()}}


def confirm(con: sqlite3.Connection, sent: dict[str, tuple[str, int, str, int]]) -> None:
    """Record what Solr now holds, and forget the documents no cluster lists any more."""
    with transaction(con):
        con.executemany("INSERT OR REPLACE INTO solr_clusters VALUES (?, ?, ?, ?, ?)",
                        [(d, *v) for d, v in sent.items()])
        con.execute("DELETE FROM solr_clusters WHERE doc_id NOT IN (SELECT doc_id FROM story_members)")
