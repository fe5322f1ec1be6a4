"""Standing searches: a saved query with filters, checked against every indexer run.

Input is validated with the search request's own parsers, so a standing search accepts
exactly what a search does; query text that is not valid syntax is stored as its plain
words (as the search reads it) and the response says so.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass

from search.engine import SearchEngine
from search.request import RequestError, SearchRequest, parse_search_request
from common.sqlite_tx import transaction
from watch.store import DuplicateName, Match, now

MAX_NAME = 200
MAX_WATCHES = 10_000
_SYNTAX = re.compile(r'["]|(?<!\S)-|\b(?:title|body|source|tag):|\*(?!\S)')


@dataclass(frozen=True)
class Watch:
    id: int
    name: str
    request: SearchRequest
    syntax_error: str | None
    created: str
    new: int = 0
    total: int = 0

    def to_dict(self) -> dict:
        req = self.request
        return {
            "id": self.id, "name": self.name, "q": req.q,
            "from": req.date_from.iso() if req.date_from else None,
            "to": req.date_to.iso() if req.date_to else None,
            "source": list(req.source), "tag": list(req.tag),
            "new": self.new, "total": self.total, "created": self.created,
            "syntax_error": self.syntax_error,
        }


def parse_name(raw: object, default: str) -> str:
    """A watch name: printable text, 1-200 characters (white space collapsed)."""
    if raw is None or raw == "":
        raw = default
    if not isinstance(raw, str):
        raise RequestError("invalid_parameter", "name must be text", "name")
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise RequestError("invalid_parameter", f"name must be 1 to {MAX_NAME} printable characters", "name")
    return name


def plain_words(q: str) -> str:
    """Query text without its syntax characters: what search reads when the syntax is broken."""
    return " ".join(_SYNTAX.sub(" ", q).split())


def parse_watch(body: dict, engine: SearchEngine) -> tuple[str, SearchRequest, str | None]:
    """(name, request, syntax_error) from a JSON body or a form; RequestError when bad.

    The engine reads the query once, so syntax errors are exactly the search's.
    """
    if not isinstance(body, dict):
        raise RequestError("invalid_body", "send a JSON object with at least q", None)
    unknown = set(body) - {"name", "q", "from", "to", "source", "tag"}
    if unknown:
        raise RequestError("invalid_parameter", f"unknown field {sorted(unknown)[0]}", sorted(unknown)[0])
    args = {k: body[k] for k in ("q", "from", "to", "source", "tag") if body.get(k) is not None}
    req = parse_search_request(args)
    error = engine.search(SearchRequest(q=req.q, size=1, ids=frozenset())).syntax_error if req.q else None
    if error:
        req = SearchRequest(q=plain_words(req.q), date_from=req.date_from, date_to=req.date_to,
                            source=req.source, tag=req.tag)
    name = parse_name(body.get("name"), req.q or "All articles")
    return name, req, error


def _request(row: sqlite3.Row) -> SearchRequest:
    return parse_search_request({"q": row["q"], "from": row["date_from"], "to": row["date_to"],
                                 "source": json.loads(row["source"]), "tag": json.loads(row["tag"])})


def _watch(row: sqlite3.Row) -> Watch:
    keys = row.keys()
    return Watch(row["id"], row["name"], _request(row), row["syntax_error"], row["created"],
                 row["new"] if "new" in keys else 0, row["total"] if "total" in keys else 0)


def create(con: sqlite3.Connection, name: str, req: SearchRequest, syntax_error: str | None) -> Watch:
    """Store a standing search; DuplicateName when the name is taken (any case)."""
    with transaction(con):
        if con.execute("SELECT count(*) FROM watches").fetchone()[0] >= MAX_WATCHES:
            raise RequestError("too_many", f"at most {MAX_WATCHES:,} standing searches", None)
        upto = con.execute("SELECT coalesce(max(rowid), 0) FROM matches").fetchone()[0]
        try:
            cur = con.execute(
                "INSERT INTO watches (name, q, date_from, date_to, source, tag, syntax_error, created, seen_upto) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, req.q, req.date_from.iso() if req.date_from else None,
                 req.date_to.iso() if req.date_to else None, json.dumps(list(req.source)),
                 json.dumps(list(req.tag)), syntax_error, now(), upto))
        except sqlite3.IntegrityError:
            raise DuplicateName(f"a standing search is already called {name!r}") from None
    return get(con, cur.lastrowid)  # type: ignore[return-value]


_LIST = """
SELECT w.*, (SELECT count(*) FROM matches m WHERE m.watch_id = w.id) AS total,
       (SELECT count(*) FROM matches m WHERE m.watch_id = w.id AND m.rowid > w.seen_upto) AS new
FROM watches w
"""


def all_watches(con: sqlite3.Connection) -> list[Watch]:
    """Every standing search with its total and new (since last looked) match counts."""
    return [_watch(r) for r in con.execute(_LIST + " ORDER BY w.name COLLATE NOCASE, w.id")]


def get(con: sqlite3.Connection, watch_id: int) -> Watch | None:
    row = con.execute(_LIST + " WHERE w.id = ?", (watch_id,)).fetchone()
    return _watch(row) if row else None


def rename(con: sqlite3.Connection, watch_id: int, name: str) -> Watch | None:
    try:
        with transaction(con):
            con.execute("UPDATE watches SET name = ? WHERE id = ?", (name, watch_id))
    except sqlite3.IntegrityError:
        raise DuplicateName(f"a standing search is already called {name!r}") from None
    return get(con, watch_id)


def delete(con: sqlite3.Connection, watch_id: int) -> bool:
    with transaction(con):
        return con.execute("DELETE FROM watches WHERE id = ?", (watch_id,)).rowcount > 0


def matches(con: sqlite3.Connection, watch_id: int, limit: int, offset: int = 0) -> list[Match]:
    """Matches newest first seen first (ties: latest recorded first)."""
    rows = con.execute(
        "SELECT article_id, path, title, date, first_seen FROM matches WHERE watch_id = ? "
        "ORDER BY first_seen DESC, rowid DESC LIMIT ? OFFSET ?", (watch_id, limit, offset))
    return [Match(*r) for r in rows]


def new_ids(con: sqlite3.Connection, watch_id: int) -> set[str]:
    """Ids of the matches recorded since the watch was last looked at."""
    rows = con.execute("SELECT m.article_id FROM matches m JOIN watches w ON w.id = m.watch_id "
                       "WHERE w.id = ? AND m.rowid > w.seen_upto", (watch_id,))
    return {r[0] for r in rows}


def mark_seen(con: sqlite3.Connection, watch_id: int) -> None:
    """The user has looked: nothing recorded so far counts as new any more."""
    with transaction(con):
        con.execute("UPDATE watches SET seen_upto = (SELECT coalesce(max(rowid), 0) FROM matches) WHERE id = ?",
                    (watch_id,))
