"""What both web blueprints share: the engine, request arguments and the JSON error shape.

The HTML blueprint renders its own error pages but answers the API's paths (and URLs
that match no route under them) in the JSON shape; both take these helpers from here
instead of importing each other.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from search.backend import SearchBackend

# Paths whose errors are answered in the JSON error shape (the API, health, feed).
JSON_PREFIXES = ("/api/", "/healthz", "/search.atom", "/search.csv")
MACHINE_SUFFIXES = (".atom", ".csv")
RETRY_AFTER_S = 30  # the index is missing or damaged: a rebuild takes a while
BUSY_RETRY_AFTER_S = 2
DEFAULT_BASE_URL = "http://localhost/"  # when BASE_URL is not configured  # every heavy-search slot is taken: they free up within the budget


def engine() -> SearchBackend:
    """The app's engine (created by create_app, opened lazily per call)."""
    return current_app.extensions["search_engine"]


def request_args() -> dict[str, list[str]]:
    """The query string with every value of every name (repeats are checked by parsers)."""
    return {k: request.args.getlist(k) for k in request.args}


def base_url() -> str:
    """The site's public address, ending in "/", for absolute links (the Atom feed).

    Never taken from the request's Host header, which any client can forge: from the
    BASE_URL setting (``python app.py`` defaults it to the address it listens on).
    """
    return (current_app.config.get("BASE_URL") or DEFAULT_BASE_URL).rstrip("/") + "/"


def wants_json() -> bool:
    """True for paths that answer errors in the JSON error shape."""
    # Feeds and CSV are read by programs, which parse the JSON error, not a page.
    return request.path.startswith(JSON_PREFIXES) or request.path.endswith(MACHINE_SUFFIXES)


def error_response(status: int, code: str, message: str, param: str | None = None,
                   retry_after: int | None = None) -> Response:
    """The one JSON error shape: {"error": {"code", "message", "param"}}."""
    resp = jsonify({"error": {"code": code, "message": message, "param": param}})
    resp.status_code = status
    if retry_after is not None:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def http_error_json(exc: HTTPException) -> Response:
    """A werkzeug HTTP error (404, 405, 413...) in the JSON shape, keeping its Allow header."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code or 500, "http_error")
    resp = error_response(exc.code or 500, code, exc.description or exc.name)
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp
