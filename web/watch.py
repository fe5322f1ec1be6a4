"""Routes for watching the archive: CSV export of a search (more to come).

Thin views over ``watch/``: parse the request with ``search.request``, call the library,
render. Errors under these paths use the one JSON error shape (web/api.py's handlers).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from search.engine import SearchEngine
from search.request import parse_search_request
from watch import export

api_bp = Blueprint("watch_api", __name__)


def engine() -> SearchEngine:
    return current_app.extensions["search_engine"]


def _args() -> dict[str, list[str]]:
    return {k: request.args.getlist(k) for k in request.args if k not in ("page", "size")}


@api_bp.get("/search.csv")
def search_csv():
    """Every match of the search (page and size are ignored), streamed as CSV."""
    req = parse_search_request(_args())
    first = export.first_chunk(engine(), req)  # a 400/503 happens here, before streaming
    resp = Response(export.csv_lines(engine(), req, first), mimetype="text/csv")
    resp.headers["Content-Disposition"] = 'attachment; filename="search.csv"'
    resp.headers["X-Total-Count"] = str(first.total)
    return resp
