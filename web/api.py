"""The JSON API, health check, stats, Atom feed and OpenAPI document.

Views are thin: parse the request (``search.request``), call the engine, render the
response object. Every error under /api (and /healthz, /search.atom) is the one JSON
shape ``{"error": {"code", "message", "param"}}``; no traceback ever reaches a client.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from common.layout import IndexUnavailable
from search.engine import SearchEngine
from search.request import RequestError, SearchRequest, parse_search_request
from web.feed import atom_feed
from web.openapi import OPENAPI

bp = Blueprint("api", __name__)
log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/healthz", "/search.atom", "/search.csv")


def engine() -> SearchEngine:
    """The app's engine (created by create_app, opened lazily per call)."""
    return current_app.extensions["search_engine"]


def error_response(status: int, code: str, message: str, param: str | None = None) -> Response:
    resp = jsonify({"error": {"code": code, "message": message, "param": param}})
    resp.status_code = status
    return resp


def _args() -> dict[str, list[str]]:
    return {k: request.args.getlist(k) for k in request.args}


@bp.get("/api/search")
def api_search():
    req = parse_search_request(_args())
    return jsonify(engine().search(req).to_dict())


@bp.get("/api/articles/<path:doc_id>")
def api_article(doc_id: str):
    q = request.args.get("q") or None
    if q is not None and len(q) > 1000:
        raise RequestError("query_too_long", "q is longer than 1000 characters", "q")
    art = engine().article(doc_id, q=q)
    if art is None:
        return error_response(404, "not_found", "no article with this id", "id")
    return jsonify(art.to_dict())


@bp.get("/api/articles/<path:doc_id>/diff")
def api_article_diff(doc_id: str):
    old, new = version_index(request.args.get("from"), "from"), version_index(request.args.get("to"), "to")
    try:
        html = engine().diff(doc_id, old, new)
    except IndexError as exc:
        n = exc.args[0]
        detail = f"from 0 to {n - 1}" if n else "this article has no recorded versions"
        raise RequestError("out_of_range", f"from and to must be indexes into the article's versions ({detail})",
                           "from" if old >= n else "to") from None
    if html is None:
        return error_response(404, "not_found", "no article with this id", "id")
    return jsonify({"html": html, "from": old, "to": new})


def version_index(raw: str | None, name: str) -> int:
    """A 0-based index into an article's versions."""
    if raw is None or not raw.strip():
        raise RequestError("missing_parameter", f"{name} is required (an index into the article's versions)", name)
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise RequestError("invalid_parameter", f"{name} must be a whole number from 0", name)
    return int(text)


@bp.get("/healthz")
def healthz():
    return jsonify(engine().health())


@bp.get("/api/stats")
def api_stats():
    return jsonify(engine().stats())


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(OPENAPI)


@bp.get("/search.atom")
def search_atom():
    req = parse_search_request(_args())
    feed_req = SearchRequest(
        q=req.q, date_from=req.date_from, date_to=req.date_to, sort="newest",
        page=1, size=min(req.size, 50) if "size" in request.args else 20,
        source=req.source, tag=req.tag,
        copies=req.copies, changed=req.changed, headline_changed=req.headline_changed,
    )
    res = engine().search(feed_req)
    xml = atom_feed(
        res,
        self_url=request.url,
        site_url=url_for("html.index", _external=True),
        article_url=lambda doc_id: f"{request.host_url}articles/{quote(doc_id, safe='')}",
    )
    return Response(xml, mimetype="application/atom+xml")


def wants_json() -> bool:
    """True for paths that answer errors in the JSON error shape (the API, health, feed)."""
    return request.path.startswith(JSON_PREFIXES)


@bp.app_errorhandler(RequestError)
def handle_request_error(exc: RequestError):
    return error_response(exc.status, exc.code, exc.message, exc.param)


@bp.app_errorhandler(IndexUnavailable)
def handle_unavailable(exc: IndexUnavailable):
    log.error("index unavailable: %s", exc)
    return error_response(503, "index_unavailable", "the search index is not available yet; try again shortly")


@bp.app_errorhandler(HTTPException)
def handle_http(exc: HTTPException):
    if not wants_json():
        return exc
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code or 500, "http_error")
    resp = error_response(exc.code or 500, code, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp


@bp.app_errorhandler(Exception)
def handle_unexpected(exc: Exception):
    log.exception("unhandled error on %s", request.path)
    if wants_json():
        return error_response(500, "internal_error", "internal error; it has been logged")
    return Response("<!doctype html><title>Error</title><p>Internal error.</p>", status=500, mimetype="text/html")
