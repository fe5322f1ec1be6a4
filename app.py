"""The Flask app: ``create_app(config)`` builds it; ``python app.py`` serves it with waitress.

Nothing is opened at import time: the engine opens the index lazily per request, so an
app can be created before the first index exists (requests then answer 503).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

from common import analysis
from common.layout import current_version
from search.backend import BackendConfigError, open_backend
from web.server import MAX_BODY

ROOT = Path(__file__).resolve().parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app; config keys INDEX_DIR (required to search), CORPUS_DIR, BASE_URL,
    SEARCH_BACKEND, SEARCH_BUDGET_S and HEAVY_SLOTS (see README, Serving)."""
    app = Flask(__name__)
    # "//" in a path is an odd id, not a typo to redirect: answer 404, never a 308.
    app.url_map.merge_slashes = False
    app.config.update(INDEX_DIR=os.environ.get("INDEX_DIR", str(ROOT / "var" / "index")),
                      CORPUS_DIR=os.environ.get("CORPUS_DIR"), BASE_URL=os.environ.get("BASE_URL"),
                      ADMIN_TOKEN=os.environ.get("NEWS_ADMIN_TOKEN") or None,
                      SEARCH_BACKEND=os.environ.get("SEARCH_BACKEND", "whoosh"),
                      SOLR_URL=os.environ.get("SOLR_URL"), SOLR_COLLECTION=os.environ.get("SOLR_COLLECTION"))
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY)
    app.config.update(config or {})
    app.json.sort_keys = False  # keep the documented field order
    app.json.ensure_ascii = False
    app.extensions["search_engine"] = open_backend(app.config)

    from web.api import bp as api_bp
    from web.html import bp as html_bp
    from web import auth
    from web.watch import api_bp as watch_api_bp
    from web.watch_pages import pages_bp as watch_pages_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(html_bp)  # HTML pages and their error pages (web/html.py)
    app.register_blueprint(watch_api_bp)  # CSV export, standing searches, watchlists (web/watch.py)
    app.register_blueprint(watch_pages_bp)  # Watching pages (web/watch_pages.py)
    auth.setup(app)  # the operator's token, session cookie and CSRF for writes (web/auth.py)

    # --- HTML front end: security headers on every response, HTML and JSON (web/security.py)
    from web.security import security_headers

    app.after_request(security_headers)
    return app


def ensure_index(index_dir: str, corpus_dir: str | None) -> None:
    """Build a first index of CORPUS_DIR with the indexer CLI when none exists."""
    if current_version(Path(index_dir)) is not None or not corpus_dir:
        return
    logging.info("no index in %s: indexing %s first", index_dir, corpus_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "--corpus", corpus_dir, "--index", index_dir, "--quiet"],
        cwd=ROOT,
    )
    if proc.returncode not in (0, 75):
        raise SystemExit(f"first indexing failed (exit {proc.returncode}); fix it and rerun `make index`")


def main(argv: list[str] | None = None) -> None:
    """`python app.py [--host H] [--port P] [--threads N] [--processes N] [--debug]`: waitress, or Flask's server with --debug."""
    p = argparse.ArgumentParser(description="Serve the news archive search site and JSON API.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--threads", type=int, default=8, help="threads per server process")
    p.add_argument("--processes", type=int, default=1,
                   help="server processes accepting on the port (one per core in production)")
    p.add_argument("--debug", action="store_true", help="Flask's development server (never in production)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app()
    except BackendConfigError as exc:
        raise SystemExit(f"app.py: {exc}") from None
    # Absolute links (the feed) name this address unless BASE_URL says where the public
    # finds the site; never the Host header a client sends.
    host = f"[{args.host}]" if ":" in args.host else args.host
    app.config["BASE_URL"] = app.config["BASE_URL"] or f"http://{host}:{args.port}/"
    ensure_index(app.config["INDEX_DIR"], app.config["CORPUS_DIR"])
    if args.debug:
        app.run(host=args.host, port=args.port, debug=True)
        return
    from web.server import serve

    analysis.warm_up()
    engine = app.extensions["search_engine"]
    engine.warm()
    serve(app, host=args.host, port=args.port, threads=args.threads, processes=max(1, args.processes),
          on_start=engine.keep_warm)


if __name__ == "__main__":
    main()
