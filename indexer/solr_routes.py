"""Which shard each Solr document sits on: every member of a story on one shard.

The collection is created with ``router.field=route`` (the compositeId router hashes a
document's ``route`` value, not its id), so the API's ids stay unchanged and every member
of a story, sent with the same route, lands on one shard: Solr's collapse, which sees one
shard at a time, then sees whole stories. A story keeps the route most of its members
already have in Solr (a new story: its cluster id), so a new copy joins it without moving
anything. When stories merge, the members whose route changes move: each is fetched
(real-time get at its old route), recorded here with its whole document *before* anything
is sent, then deleted at its old route (``_route_``) and added under the new one, in that
order, in the batch's update. A run killed at any moment leaves the move recorded, and
the next run finishes it first (delete, then add: idempotent, and never two copies).
``solr_routes`` is what Solr holds: the route each document was last confirmed under.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from common.sqlite_tx import transaction
from indexer import statedb

OWNER = "solr_routes"
ROUTE_FIELD = "route"
MIGRATIONS = [
    "CREATE TABLE solr_routes (doc_id TEXT PRIMARY KEY, route TEXT NOT NULL);"
    "CREATE TABLE solr_moves (doc_id TEXT PRIMARY KEY, old_route TEXT NOT NULL, doc TEXT NOT NULL)",
]
_CHUNK = 500


@dataclass
class Plan:
    """The routes of one batch: ``routes`` for every document sent or updated, ``moves``
    (doc id -> old route) for documents Solr holds under another route."""

    routes: dict[str, str] = field(default_factory=dict)
    moves: dict[str, str] = field(default_factory=dict)


def migrate(con: sqlite3.Connection) -> None:
    """Create this owner's tables in the state file."""
    statedb.migrate(con, OWNER, MIGRATIONS)


def plan(con: sqlite3.Connection, sent: list[str], updated: list[str]) -> Plan:
    """Routes for the documents sent whole (``sent``) or updated in place (``updated``),
    and the documents of their stories that must move to their story's route."""
    ids = list(dict.fromkeys(sent + updated))
    cluster_of = dict(_select(con, "SELECT doc_id, cluster FROM story_members WHERE doc_id IN ({})", ids))
    held = dict(_select(con, "SELECT doc_id, route FROM solr_routes WHERE doc_id IN ({})", ids))
    members = _select(con, "SELECT m.cluster, m.doc_id, r.route FROM story_members m LEFT JOIN solr_routes r"
                           " ON r.doc_id = m.doc_id WHERE m.cluster IN ({})", sorted(set(cluster_of.values())))
    by_cluster: dict[str, list[tuple[str, str | None]]] = {}
    for cluster, doc_id, route in members:
        by_cluster.setdefault(cluster, []).append((doc_id, route))
    story = {c: story_route(c, [r for _, r in m if r]) for c, m in by_cluster.items()}
    out, whole = Plan(), set(sent)
    for doc_id in ids:  # a document in no story (a skipped file) is routed by its own id
        out.routes[doc_id] = story.get(cluster_of.get(doc_id, ""), doc_id)
        if doc_id in held and held[doc_id] != out.routes[doc_id] and doc_id in whole:
            out.moves[doc_id] = held[doc_id]
    for cluster, mem in by_cluster.items():
        for doc_id, route in mem:
            if route is not None and route != story[cluster] and doc_id not in out.moves:
                out.routes[doc_id], out.moves[doc_id] = story[cluster], route
    return out


def story_route(cluster: str, held: list[str]) -> str:
    """The route most members already have (ties: the smallest), else the cluster id."""
    if not held:
        return cluster
    counts = Counter(held)
    return min(counts, key=lambda r: (-counts[r], r))


def record_moves(con: sqlite3.Connection, docs: list[dict], moves: dict[str, str]) -> None:
    """Record each moving document (its whole new document) before anything is sent."""
    rows = [(d["id"], moves[d["id"]], json.dumps(d, ensure_ascii=False)) for d in docs if d["id"] in moves]
    with transaction(con):
        con.executemany("INSERT OR REPLACE INTO solr_moves VALUES (?, ?, ?)", rows)


def pending_moves(con: sqlite3.Connection) -> tuple[list[dict], dict[str, str]]:
    """Moves a killed run recorded but may not have finished: (documents, doc id -> old route)."""
    rows = con.execute("SELECT doc_id, old_route, doc FROM solr_moves ORDER BY doc_id").fetchall()
    return [json.loads(doc) for _, _, doc in rows], {doc_id: old for doc_id, old, _ in rows}


def deletes(moves: dict[str, str]) -> list[dict]:
    """Delete commands for the moving documents' old copies (only on their old shard)."""
    return [{"id": doc_id, "_route_": old} for doc_id, old in sorted(moves.items())]


def confirm(con: sqlite3.Connection, routes: dict[str, str], removed: list[str]) -> None:
    """Record the routes Solr confirmed; the finished moves and removed documents are forgotten."""
    with transaction(con):
        con.executemany("INSERT OR REPLACE INTO solr_routes VALUES (?, ?)", list(routes.items()))
        for table, ids in (("solr_moves", list(routes)), ("solr_routes", removed)):
            for i in range(0, len(ids), _CHUNK):
                part = ids[i : i + _CHUNK]
                con.execute(f"DELETE FROM {table} WHERE doc_id IN ({','.join('?' * len(part))})", part)


def _select(con: sqlite3.Connection, sql: str, keys: list[str]) -> list[tuple]:
    out: list[tuple] = []
    for i in range(0, len(keys), _CHUNK):
        part = keys[i : i + _CHUNK]
        out += con.execute(sql.format(",".join("?" * len(part))), part).fetchall()
    return out

