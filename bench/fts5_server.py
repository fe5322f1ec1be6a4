"""The HTTP peers: minimal Flask endpoints over SQLite FTS5 (bm25 + snippet).

    python bench/fts5_server.py --db FILE --port N [--like-app]

Served by the same waitress set-up as `python app.py` (``web.server.serve``: threads and
``--processes``), so the two differ only in the search engine behind the endpoint.

Without ``--like-app`` (the load and heavy-query benches): table ``docs(title, body)``,
plain words ORed, top 10 and a count. With ``--like-app`` (bench/search_speed.py): table
``t`` as that bench builds it, and the work our ``/api/search`` does by default: the top
10 with every word first (FTS5 AND, filled up from the OR matches when fewer than 10,
as our minimum-should-match ranks all-words matches first), escaped ``snippet()``s, the
total of the OR matches and their year, month and source facets by one GROUP BY, in
the same JSON shape.
"""

from __future__ import annotations

import argparse
import html
import re
import time
import sqlite3
import sys
import threading
from pathlib import Path

from flask import Flask, jsonify, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from web.server import serve  # noqa: E402

_local = threading.local()


def fts_query(q: str) -> str:
    """Plain words ORed (as the load test's topics); quoted phrases, when present, ANDed
    as FTS5 phrases (the heavy-query bench's peer)."""
    phrases = [p.split() for p in re.findall(r'"([^"]*)"', q)]
    phrases = [p for p in phrases if p]
    if phrases:
        return " AND ".join('"' + " ".join(w.replace('"', "") for w in p) + '"' for p in phrases)
    return " OR ".join('"' + w.replace('"', "") + '"' for w in q.split() if w.strip('"'))


def words_query(q: str, op: str) -> str:
    """Each word of q as an FTS5 string, joined by op ("AND" or "OR")."""
    return f" {op} ".join('"' + w.replace('"', "") + '"' for w in q.split() if w.strip('"'))


_TOP = ("SELECT id, path, title, source, date, tags, bm25(t), "
        "snippet(t, 2, char(1), char(2), '…', 16) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?")
_FACETS = "SELECT year, month, source, count(*) FROM t WHERE t MATCH ? GROUP BY year, month, source"


def _snippet(raw: str) -> str:
    """FTS5's snippet with the document text escaped (ours escapes it too)."""
    return html.escape(raw).replace("\x01", "<mark>").replace("\x02", "</mark>")


def _hit(row) -> dict:
    date = row[4] or None
    return {"id": row[0], "path": row[1], "title": row[2], "url": None, "source": row[3] or None,
            "date": date, "date_precision": "day" if date else None,
            "tags": [t for t in (row[5] or "").split(",") if t], "score": round(-row[6], 4),
            "snippet": _snippet(row[7])}


def app_search(con: sqlite3.Connection, q: str) -> dict:
    """Top 10 (all words first), total and facets over the any-word matches: our default work."""
    t0 = time.perf_counter()
    any_words, all_words = words_query(q, "OR"), words_query(q, "AND")
    rows = con.execute(_TOP, (all_words, 10)).fetchall() if all_words else []
    if len(rows) < 10 and any_words != all_words:
        seen = {r[0] for r in rows}
        rows += [r for r in con.execute(_TOP, (any_words, 10 + len(rows))) if r[0] not in seen][: 10 - len(rows)]
    facets: dict[str, dict[str, int]] = {"year": {}, "month": {}, "source": {}}
    total = 0
    for year, month, source, n in (con.execute(_FACETS, (any_words,)) if any_words else ()):
        total += n
        for name, value in (("year", year), ("month", month), ("source", source)):
            if value:
                facets[name][value] = facets[name].get(value, 0) + n
    facets = {k: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in facets.items()}
    return {"query": q, "total": total, "page": 1, "size": 10,
            "took_ms": round((time.perf_counter() - t0) * 1000, 2),
            "hits": [_hit(r) for r in rows], "facets": facets, "suggestion": None}


def create_app(db_path: str, like_app: bool = False) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False  # as app.py
    app.json.ensure_ascii = False

    def db() -> sqlite3.Connection:
        """This thread's read-only connection to db_path (one per thread and database)."""
        cons = _local.__dict__.setdefault("cons", {})
        if db_path not in cons:
            cons[db_path] = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        return cons[db_path]

    @app.get("/api/search")
    def search():
        q = request.args.get("q", "")
        if like_app:
            return jsonify(app_search(db(), q))
        terms = fts_query(q)
        if not terms:
            return jsonify({"query": q, "total": 0, "hits": []})
        rows = db().execute(
            "SELECT rowid, title, snippet(docs, 1, '<mark>', '</mark>', '…', 24), bm25(docs, 2.0, 1.0) "
            "FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 2.0, 1.0) LIMIT 10",
            (terms,),
        ).fetchall()
        total = db().execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (terms,)).fetchone()[0]
        hits = [{"id": r[0], "title": r[1], "snippet": r[2], "score": -r[3]} for r in rows]
        return jsonify({"query": q, "total": total, "hits": hits})

    @app.get("/api/articles/<int:rowid>")
    def article(rowid: int):
        row = db().execute("SELECT title, body FROM docs WHERE rowid = ?", (rowid,)).fetchone()
        return jsonify({"id": rowid, "title": row[0], "text": row[1]}) if row else ("", 404)

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--processes", type=int, default=1, help="forked server processes, as app.py --processes")
    ap.add_argument("--like-app", action="store_true", help="search_speed's table and our /api/search's work")
    args = ap.parse_args()
    serve(create_app(args.db, args.like_app), host="127.0.0.1", port=args.port, threads=args.threads,
          processes=args.processes)


if __name__ == "__main__":
    main()
