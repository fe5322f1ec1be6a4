"""The load test's peer: a minimal Flask endpoint over SQLite FTS5 (bm25 + snippet).

    python bench/fts5_server.py --db FILE --port N

Served by waitress with the same thread count as `python app.py`, so the two differ
only in the search engine behind the endpoint.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading

from flask import Flask, jsonify, request
from waitress import serve

_local = threading.local()


def create_app(db_path: str) -> Flask:
    app = Flask(__name__)

    def db() -> sqlite3.Connection:
        if not hasattr(_local, "con"):
            _local.con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        return _local.con

    @app.get("/api/search")
    def search():
        q = request.args.get("q", "")
        terms = " OR ".join('"' + w.replace('"', "") + '"' for w in q.split() if w.strip('"'))
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

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    serve(create_app(args.db), host="127.0.0.1", port=args.port, threads=args.threads, _quiet=True)


if __name__ == "__main__":
    main()
