"""Story clusters: copies of one story (syndicated, re-headlined, trimmed) grouped together.

Each article gets a MinHash signature of its body's 5-word shingles (computed in the
cleaning workers, ``signature``). Candidates come from LSH bands kept in
``state.sqlite3`` (``lsh_bands``), so adding an article costs one indexed look-up,
never a pass over the corpus. A candidate joins the article's cluster when the
estimated Jaccard similarity is at least ``NEAR_JACCARD`` or the shorter text is at
least ``NEAR_CONTAINMENT`` contained in the longer (a trimmed copy inside the full
one). Exact copies (the indexer's duplicates) join their article's cluster as kind
``exact``. Rows are written in the indexer's batch transaction, before its commit, and
every write replaces the article's rows, so a replayed batch records nothing twice.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import zlib
from dataclasses import dataclass

import numpy as np

from common.documents import Article

OWNER = "clusters"
NUM_PERM = 128
SEED = 1
SCHEME = "affine32"  # datasketch 2's default, named: stored signatures must stay comparable
SHINGLE_WORDS = 5
MIN_SHINGLES = 10  # shorter bodies are too short to call near copies: exact copies only
LSH_BANDS, LSH_ROWS = 37, 3  # datasketch's optimum for threshold 0.3 at 128 permutations
NEAR_JACCARD = 0.5
NEAR_CONTAINMENT = 0.8
KIND_NEAR, KIND_EXACT = "near", "exact"
_WORD = re.compile(r"\w+")
_PERMUTATIONS = None

MIGRATIONS = [
    """
    CREATE TABLE story_members (
        doc_id TEXT PRIMARY KEY,
        cluster TEXT NOT NULL,
        kind TEXT NOT NULL,
        owner TEXT,
        content_hash TEXT NOT NULL,
        source TEXT,
        date TEXT,
        date_key TEXT,
        seen TEXT NOT NULL,
        shingles INTEGER NOT NULL DEFAULT 0,
        sig BLOB
    );
    CREATE INDEX members_by_cluster ON story_members (cluster);
    CREATE INDEX members_by_owner ON story_members (owner);
    CREATE TABLE lsh_bands (key INTEGER NOT NULL, doc_id TEXT NOT NULL, PRIMARY KEY (key, doc_id)) WITHOUT ROWID;
    """,
]


@dataclass(frozen=True)
class Signature:
    """A body's MinHash values (uint32, little-endian) and its number of distinct shingles."""

    values: bytes
    shingles: int


def signature(body: str) -> Signature | None:
    """The MinHash signature of a body's word shingles, or None when it is too short."""
    from datasketch import MinHash  # imported in the workers only when there is work

    words = _WORD.findall(body.lower())
    shingles = {zlib.crc32(" ".join(words[i : i + SHINGLE_WORDS]).encode("utf-8"))
                for i in range(len(words) - SHINGLE_WORDS + 1)}
    if len(shingles) < MIN_SHINGLES:
        return None
    global _PERMUTATIONS
    if _PERMUTATIONS is None:  # drawn once per process: a third of the cost otherwise
        first = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
        _PERMUTATIONS = first.permutations
    # hashfunc=int: the shingles are hashed already (crc32)
    m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int, permutations=_PERMUTATIONS, scheme=SCHEME)
    m.update_batch(shingles)
    return Signature(np.asarray(m.hashvalues, dtype="<u4").tobytes(), len(shingles))


def similar(a: Signature, b: Signature) -> bool:
    """Whether two signatures are copies of one story (near Jaccard or containment)."""
    j = float(np.mean(np.frombuffer(a.values, "<u4") == np.frombuffer(b.values, "<u4")))
    if j >= NEAR_JACCARD:
        return True
    common = j * (a.shingles + b.shingles) / (1 + j)
    return common / min(a.shingles, b.shingles) >= NEAR_CONTAINMENT


def band_keys(sig: Signature) -> list[int]:
    """The LSH bucket of each band, as signed 64-bit integers (SQLite's integer)."""
    out = []
    step = 4 * LSH_ROWS
    for i in range(LSH_BANDS):
        h = hashlib.blake2b(sig.values[i * step : (i + 1) * step], digest_size=8, salt=i.to_bytes(2, "little"))
        out.append(int.from_bytes(h.digest(), "little", signed=True))
    return out


@dataclass
class _Member:
    doc_id: str
    cluster: str
    kind: str
    owner: str | None
    content_hash: str
    sig: Signature | None


_COLS = "doc_id, cluster, kind, owner, content_hash, shingles, sig"


def _member(row) -> _Member:
    sig = Signature(row[6], row[5]) if row[6] is not None else None
    return _Member(row[0], row[1], row[2], row[3], row[4], sig)


def _get(con: sqlite3.Connection, doc_id: str) -> _Member | None:
    row = con.execute(f"SELECT {_COLS} FROM story_members WHERE doc_id = ?", (doc_id,)).fetchone()
    return _member(row) if row else None


def _insert(con, doc_id: str, cluster: str, kind: str, owner: str | None, article: Article,
            sig: Signature | None, seen: str) -> None:
    date = article.date
    con.execute(
        "INSERT OR REPLACE INTO story_members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (doc_id, cluster, kind, owner, article.content_hash, article.source,
         date.iso() if date else None, date.start.isoformat() if date else None, seen,
         sig.shingles if sig else 0, sig.values if sig else None),
    )


def add_article(con: sqlite3.Connection, article: Article, sig: Signature | None, seen: str) -> str:
    """Place an article in its story cluster (merging clusters it links); returns the cluster."""
    old = _get(con, article.id)
    if old is not None and old.kind == KIND_NEAR and old.content_hash == article.content_hash:
        return old.cluster  # a replayed batch or a rebuild: nothing changed
    if old is not None:
        remove(con, article.id)
    linked = set()
    if sig is not None:
        keys = band_keys(sig)
        marks = ",".join("?" * len(keys))
        cands = [r[0] for r in con.execute(f"SELECT DISTINCT doc_id FROM lsh_bands WHERE key IN ({marks})", keys)]
        for cand in filter(None, (_get(con, c) for c in cands if c != article.id)):
            if cand.sig is not None and similar(sig, cand.sig):
                linked.add(cand.cluster)
        con.executemany("INSERT OR IGNORE INTO lsh_bands VALUES (?, ?)", [(k, article.id) for k in keys])
    cluster = min(linked | {article.id})
    _insert(con, article.id, cluster, KIND_NEAR, None, article, sig, seen)
    _merge(con, linked | {article.id}, cluster, article.id)
    return cluster


def add_copy(con: sqlite3.Connection, copy: Article, owner: str, seen: str) -> None:
    """Record an exact copy (the indexer's duplicate) in its article's cluster."""
    old = _get(con, copy.id)
    if old is not None and (old.kind, old.owner, old.content_hash) == (KIND_EXACT, owner, copy.content_hash):
        return
    if old is not None:
        remove(con, copy.id)
    row = _get(con, owner)
    _insert(con, copy.id, row.cluster if row else owner, KIND_EXACT, owner, copy, None, seen)


def _merge(con: sqlite3.Connection, clusters: set[str], into: str, article_id: str) -> None:
    """Move the linked clusters into one; copies recorded before their article follow it."""
    for c in sorted(clusters - {into}):
        con.execute("UPDATE story_members SET cluster = ? WHERE cluster = ?", (into, c))
    # indexed look-ups only: a scan per article grew with the corpus (measured)
    con.execute("UPDATE story_members SET cluster = ? WHERE owner = ? AND cluster != ?", (into, article_id, into))


def remove(con: sqlite3.Connection, doc_id: str) -> None:
    """Forget a document (removed, changed or no longer an article); split what it bridged."""
    old = _get(con, doc_id)
    if old is None:
        return
    if old.sig is not None:
        con.executemany("DELETE FROM lsh_bands WHERE key = ? AND doc_id = ?",
                        [(k, doc_id) for k in band_keys(old.sig)])
    con.execute("DELETE FROM story_members WHERE doc_id = ?", (doc_id,))
    if old.kind == KIND_NEAR:
        resplit(con, old.cluster)


def resplit(con: sqlite3.Connection, cluster: str) -> None:
    """Recompute one cluster's components from its members' signatures (small: k² pairs)."""
    rows = [_member(r) for r in con.execute(f"SELECT {_COLS} FROM story_members WHERE cluster = ?", (cluster,))]
    articles = sorted((m for m in rows if m.kind == KIND_NEAR), key=lambda m: m.doc_id)
    parent = {m.doc_id: m.doc_id for m in articles}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, a in enumerate(articles):
        for b in articles[i + 1 :]:
            if a.sig is not None and b.sig is not None and similar(a.sig, b.sig):
                ra, rb = root(a.doc_id), root(b.doc_id)
                parent[max(ra, rb)] = min(ra, rb)
    for m in rows:
        key = m.doc_id if m.kind == KIND_NEAR else m.owner
        new = root(key) if key in parent else (key or m.doc_id)
        if new != m.cluster:
            con.execute("UPDATE story_members SET cluster = ? WHERE doc_id = ?", (new, m.doc_id))


def sweep(con: sqlite3.Connection, live: set[str]) -> int:
    """Forget documents the index no longer holds (left by a killed run); returns how many."""
    stale = [r[0] for r in con.execute("SELECT doc_id FROM story_members") if r[0] not in live]
    for doc_id in stale:
        remove(con, doc_id)
    return len(stale)
