"""The JSON API, health check, stats, Atom feed and OpenAPI document.

Views are thin: parse the request (``search.request``), call the engine, render the
response object. Every error under /api (and /healthz, /search.atom) is the one JSON
shape ``{"error": {"code", "message", "param"}}``; no traceback ever reaches a client.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from common.layout import IndexUnavailable
from search.engine import SearchBusy
from search.request import RequestError, SearchRequest, parse_article_q, parse_search_request, parse_version_index
from web.common import (BUSY_RETRY_AFTER_S, RETRY_AFTER_S, base_url, engine, error_response, http_error_json,
                        request_args, wants_json)
from web.feed import atom_feed
from web.openapi import OPENAPI

bp = Blueprint("api", __name__)
log = logging.getLogger(__name__)


@bp.get("/api/search")
def api_search():
    req = parse_search_request(request_args())
    return jsonify(engine().search(req).to_dict())


@bp.get("/api/articles/<path:doc_id>")
def api_article(doc_id: str):
    art = engine().article(doc_id, q=parse_article_q(request_args()))
    if art is None:
        return error_response(404, "not_found", "no article with this id", "id")
    return jsonify(art.to_dict())


@bp.get("/api/articles/<path:doc_id>/diff")
def api_article_diff(doc_id: str):
    old, new = parse_version_index(request.args.get("from"), "from"), parse_version_index(request.args.get("to"), "to")
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
    req = parse_search_request(request_args())
    feed_req = SearchRequest(
        q=req.q, date_from=req.date_from, date_to=req.date_to, sort="newest",
        page=1, size=min(req.size, 50) if "size" in request.args else 20,
        source=req.source, tag=req.tag,
        copies=req.copies, changed=req.changed, headline_changed=req.headline_changed,
    )
    res = engine().search(feed_req)
    base = base_url()
    xml = atom_feed(
        res,
        self_url=base + request.full_path.lstrip("/").rstrip("?"),
        site_url=base,
        article_url=lambda doc_id: f"{base}articles/{quote(doc_id, safe='')}",
    )
    return Response(xml, mimetype="application/atom+xml")


@bp.app_errorhandler(RequestError)
def handle_request_error(exc: RequestError):
    return error_response(exc.status, exc.code, exc.message, exc.param)


@bp.app_errorhandler(IndexUnavailable)
def handle_unavailable(exc: IndexUnavailable):
    log.error("index unavailable: %s", exc)
    return error_response(503, "index_unavailable", "the search index is not available yet; try again shortly",
                          retry_after=RETRY_AFTER_S)


@bp.app_errorhandler(SearchBusy)
def handle_busy(exc: SearchBusy):
    return error_response(503, "busy", str(exc), "q", retry_after=BUSY_RETRY_AFTER_S)


@bp.app_errorhandler(HTTPException)
def handle_http(exc: HTTPException):
    return http_error_json(exc) if wants_json() else exc


@bp.app_errorhandler(Exception)
def handle_unexpected(exc: Exception):
    log.exception("unhandled error on %s", request.path)
    if wants_json():
        return error_response(500, "internal_error", "internal error; it has been logged")
    return Response("<!doctype html><title>Error</title><p>Internal error.</p>", status=500, mimetype="text/html")
