"""The load test's peer: a minimal Flask endpoint over SQLite FTS5 (bm25 + snippet).

    python bench/fts5_server.py --db FILE --port N

Served by the same waitress set-up as `python app.py` (``web.server.serve``: threads and
``--processes``), so the two differ only in the search engine behind the endpoint.
"""

from __future__ import annotations

import argparse
import re
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


def create_app(db_path: str) -> Flask:
    app = Flask(__name__)

    def db() -> sqlite3.Connection:
        if not hasattr(_local, "con"):
            _local.con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        return _local.con

    @app.get("/api/search")
    def search():
        q = request.args.get("q", "")
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
    args = ap.parse_args()
    serve(create_app(args.db), host="127.0.0.1", port=args.port, threads=args.threads, processes=args.processes)


if __name__ == "__main__":
    main()
