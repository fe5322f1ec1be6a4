"""Article versions: every cleaned text an article has had, kept in ``state.sqlite3``.

A version is recorded when an article's cleaned text (title + body, by content hash)
is new for its *story*: the article's address (its URL, normalised) when it has one,
else its id, so a re-scraped page saved under a new file name adds a version to the
story it belongs to instead of starting another. Rows are written in the indexer's
batch transaction, committed *before* the Whoosh commit of the same batch; the rule
below makes a replay (a run killed between the two, a ``--rebuild``) record nothing
twice, so a kill never loses a version nor duplicates one:

- a file already seen in this story records its text when it differs from the last
  text that file had (so an edit and a later revert are both kept);
- a file new to the story records its text only when no file of the story had it.
"""

from __future__ import annotations

import sqlite3
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from common.documents import Article

OWNER = "versions"
MIGRATIONS = [
    """
    CREATE TABLE versions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        story TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        date TEXT,
        seen TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX versions_by_story ON versions (story, seq);
    CREATE TABLE version_docs (doc_id TEXT PRIMARY KEY, story TEXT NOT NULL) WITHOUT ROWID;
    """,
    # the Solr sink looks up the articles of the stories a batch touched (edit_state)
    "CREATE INDEX version_docs_by_story ON version_docs (story)",
]


@dataclass(frozen=True)
class Version:
    """One recorded text of a story (``body`` is the cleaned text)."""

    seq: int
    doc_id: str
    content_hash: str
    title: str
    date: str | None
    seen: str
    body: str


def story_key(article: Article) -> str:
    """The story an article's text belongs to: its address without scheme, www or slash."""
    if article.url:
        parts = urlsplit(article.url.strip())
        host = (parts.hostname or "").lower().removeprefix("www.")
        if host:
            path = parts.path.rstrip("/") or "/"
            query = f"?{parts.query}" if parts.query else ""
            return f"url:{host}{path}{query}"
    return f"id:{article.id}"


def record(con: sqlite3.Connection, article: Article, seen: str) -> bool:
    """Record the article's text as a version if it is new (see the module rule)."""
    story = story_key(article)
    con.execute("INSERT OR REPLACE INTO version_docs VALUES (?, ?)", (article.id, story))
    last_own = con.execute(
        "SELECT content_hash FROM versions WHERE story = ? AND doc_id = ? ORDER BY seq DESC LIMIT 1",
        (story, article.id),
    ).fetchone()
    if last_own is not None:
        if last_own[0] == article.content_hash:
            return False
    elif con.execute("SELECT 1 FROM versions WHERE story = ? AND content_hash = ?",
                     (story, article.content_hash)).fetchone():
        return False
    con.execute(
        "INSERT INTO versions (story, doc_id, content_hash, title, date, seen, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (story, article.id, article.content_hash, article.title,
         article.date.iso() if article.date else None, seen, zlib.compress(article.body.encode("utf-8"), 1)),
    )
    return True


def versions_of(con: sqlite3.Connection, doc_id: str) -> list[Version]:
    """The versions of the story an article belongs to, oldest first (empty if none)."""
    row = con.execute("SELECT story FROM version_docs WHERE doc_id = ?", (doc_id,)).fetchone()
    if row is None:
        return []
    rows = con.execute(
        "SELECT seq, doc_id, content_hash, title, date, seen, body FROM versions WHERE story = ? ORDER BY seq",
        (row[0],),
    )
    return [Version(*r[:6], zlib.decompress(r[6]).decode("utf-8")) for r in rows]


def changed_docs(con: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """(articles whose story has more than one version, those whose headline changed)."""
    changed: set[str] = set()
    headline: set[str] = set()
    # Stories with more than one version come from the (story, seq) index alone; titles
    # are read only for those few, so a 200k archive is not read body by body.
    rows = con.execute(
        "WITH multi AS (SELECT story FROM versions GROUP BY story HAVING COUNT(*) > 1)"
        " SELECT d.doc_id, (SELECT COUNT(DISTINCT title) FROM versions v WHERE v.story = d.story)"
        " FROM version_docs d WHERE d.story IN multi"
    )
    for doc_id, titles in rows:
        changed.add(doc_id)
        if titles > 1:
            headline.add(doc_id)
    return changed, headline


def edit_state(con: sqlite3.Connection, doc_ids: list[str]) -> dict[str, tuple[bool, bool]]:
    """(changed, headline_changed) of every article sharing a story with ``doc_ids``: the
    rule of ``changed_docs``, for only the stories a batch touched (the Solr sink)."""
    out: dict[str, tuple[bool, bool]] = {}
    for i in range(0, len(doc_ids), 500):
        part = doc_ids[i : i + 500]
        rows = con.execute(
            f"WITH s AS (SELECT DISTINCT story FROM version_docs WHERE doc_id IN ({','.join('?' * len(part))})),"
            " v AS (SELECT story, COUNT(*) AS n, COUNT(DISTINCT title) AS titles FROM versions"
            "       WHERE story IN (SELECT story FROM s) GROUP BY story)"
            " SELECT d.doc_id, coalesce(v.n, 0) > 1, coalesce(v.titles, 0) > 1 FROM s"
            " JOIN version_docs d ON d.story = s.story LEFT JOIN v ON v.story = s.story",
            part,
        )
        out.update((doc_id, (bool(n), bool(titles))) for doc_id, n, titles in rows)
    return out
