"""The JSON API for watching the archive, the CSV export and the standing searches' feeds.

Thin views over ``watch/``: parse, call, render. Writes need the operator's token
(web/auth.py). Errors use the one JSON error shape (web/common.py).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from search.engine import SearchEngine
from search.request import RequestError, SearchRequest, parse_page, parse_search_request, parse_size
from watch import export, store, totals, watches, watchlists
from watch.store import DuplicateName
from web import auth
from web.common import error_response

api_bp = Blueprint("watch_api", __name__)
FEED_SIZE = 50


def engine() -> SearchEngine:
    return current_app.extensions["search_engine"]


def db() -> sqlite3.Connection:
    """This request's connection to the watch store (closed at teardown)."""
    if "watch_db" not in g:
        g.watch_db = store.connect(current_app.config["INDEX_DIR"])
    return g.watch_db


@api_bp.teardown_app_request
def close_db(_exc) -> None:
    con = g.pop("watch_db", None)
    if con is not None:
        con.close()


@api_bp.app_errorhandler(sqlite3.Error)
def state_unavailable(exc: sqlite3.Error):
    current_app.logger.error("state.sqlite3: %s", exc)
    return error_response(503, "state_unavailable", "the watch store beside the index cannot be used right now "
                          "(busy, read-only or damaged); try again shortly")


@api_bp.app_errorhandler(DuplicateName)
def duplicate(exc: DuplicateName):
    return error_response(409, "duplicate_name", str(exc), "name")


def _search_args() -> dict[str, list[str]]:
    return {k: request.args.getlist(k) for k in request.args if k not in ("page", "size")}


@api_bp.get("/search.csv")
def search_csv():
    """Every match of the search (page and size are ignored), streamed as CSV."""
    req = parse_search_request(_search_args())
    first = export.first_chunk(engine(), req)  # a 400/503 happens here, before streaming
    resp = Response(export.csv_lines(engine(), req, first), mimetype="text/csv")
    resp.headers["Content-Disposition"] = 'attachment; filename="search.csv"'
    resp.headers["X-Total-Count"] = str(first.total)
    return resp


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise RequestError("invalid_body", "send a JSON object (Content-Type: application/json)", None)
    return body


def found(watch_id: int) -> watches.Watch:
    w = watches.get(db(), watch_id)
    if w is None:
        raise RequestError("not_found", "no standing search with this id", "id")
    return w


@api_bp.errorhandler(RequestError)
def request_error(exc: RequestError):
    status = 404 if exc.code == "not_found" else exc.status
    return error_response(status, exc.code, exc.message, exc.param)


@api_bp.get("/api/watches")
def list_watches():
    return jsonify({"watches": [w.to_dict() for w in watches.all_watches(db())]})


@api_bp.post("/api/watches")
def create_watch():
    auth.check_bearer()
    name, req, error = watches.parse_watch(json_body(), engine())
    w = watches.create(db(), name, req, error)
    resp = jsonify(w.to_dict())
    resp.status_code = 201
    resp.headers["Location"] = url_for("watch_api.get_watch", watch_id=w.id)
    return resp


@api_bp.get("/api/watches/<int:watch_id>")
def get_watch(watch_id: int):
    return jsonify(found(watch_id).to_dict())


@api_bp.patch("/api/watches/<int:watch_id>")
def rename_watch(watch_id: int):
    auth.check_bearer()
    found(watch_id)
    body = json_body()
    name = watches.parse_name(body.get("name"), "")
    return jsonify(watches.rename(db(), watch_id, name).to_dict())  # type: ignore[union-attr]


@api_bp.delete("/api/watches/<int:watch_id>")
def delete_watch(watch_id: int):
    auth.check_bearer()
    if not watches.delete(db(), watch_id):
        raise RequestError("not_found", "no standing search with this id", "id")
    return Response(status=204)


@api_bp.get("/api/watches/<int:watch_id>/matches")
def watch_matches(watch_id: int):
    """Matches newest first seen first; ``new`` marks those since the page was last viewed."""
    w = found(watch_id)
    page, size = parse_page(request.args.get("page")), parse_size(request.args.get("size"))
    new = watches.new_ids(db(), watch_id)
    items = watches.matches(db(), watch_id, size, (page - 1) * size)
    return jsonify({"watch": w.to_dict(), "total": w.total, "new": w.new, "page": page, "size": size,
                    "matches": [m.to_dict() | {"new": m.article_id in new} for m in items]})


@api_bp.get("/watching/<int:watch_id>.atom")
def watch_feed(watch_id: int):
    """The standing search's matches as Atom, newest first seen first."""
    w = watches.get(db(), watch_id)
    if w is None:
        return error_response(404, "not_found", "no standing search with this id", "id")
    return Response(matches_feed(w, watches.matches(db(), watch_id, FEED_SIZE)), mimetype="application/atom+xml")


def _stamp(iso: str) -> datetime:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def matches_feed(w: watches.Watch, items: list[store.Match]) -> bytes:
    """Atom 1.0: one entry per match, updated = when the indexer first saw the article."""
    fg = FeedGenerator()
    fg.id(request.url)
    fg.title(export.safe_xml(f"Standing search: {w.name}"))
    fg.link(href=request.url, rel="self", type="application/atom+xml")
    fg.link(href=f"{request.host_url}watching/{w.id}", rel="alternate", type="text/html")
    fg.author({"name": "News archive search"})
    fg.updated(_stamp(items[0].first_seen) if items else _stamp(w.created))
    for m in reversed(items):  # feedgen prepends entries
        link = f"{request.host_url}articles/{quote(m.article_id, safe='')}"
        fe = fg.add_entry()
        fe.id(link)
        fe.title(export.safe_xml(m.title or m.path or m.article_id))
        fe.link(href=link, rel="alternate", type="text/html")
        fe.updated(_stamp(m.first_seen))
    return fg.atom_str(pretty=True)


# -- watchlists -----------------------------------------------------------------------------

UPLOAD_MAX_BYTES = 2 * 1024 * 1024  # 10,000 rows of names with variants
LIST_PAGE = 100


def allow_upload() -> None:
    """Let this request's body be a whole list (called before anything reads the body)."""
    request.max_content_length = UPLOAD_MAX_BYTES
    request.max_form_memory_size = UPLOAD_MAX_BYTES


def upload_text() -> tuple[str, str | None]:
    """The list's text and a default name: a multipart file, a form field or the raw body."""
    if request.files.get("file") and request.files["file"].filename:
        f = request.files["file"]
        return watchlists.decode(f.read()), f.filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if request.form.get("names"):
        return request.form["names"], None
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise RequestError("empty_list", "the list has no names", "file")
    return watchlists.decode(request.get_data()), None


def create_list_from_request(name_raw: object) -> dict:
    """Parse the upload, validate every row, store the list: 201 body; nothing stored on error."""
    text, default = upload_text()
    eng = engine()
    rows = watchlists.parse_rows(text, lambda q: eng.search(SearchRequest(q=q, size=1, ids=frozenset())).syntax_error)
    name = watchlists.list_name(name_raw, default or f"Watchlist {store.now()[:16].replace('T', ' ')}")
    list_id = watchlists.create(db(), name, rows)
    return {"id": list_id, "name": name, "rows": len(rows)}


def list_found(list_id: int) -> dict:
    wl = watchlists.get_list(db(), list_id)
    if wl is None:
        raise RequestError("not_found", "no watchlist with this id", "id")
    return wl


def list_rows(list_id: int, page: int, size: int) -> list[dict]:
    """Each row's summary over the whole archive (cached per index state, watch/totals.py),
    with its new matches since last viewed."""
    new = watchlists.new_counts(db(), list_id)
    rows = watchlists.rows_of(db(), list_id, size, (page - 1) * size)
    return totals.row_summaries(db(), engine(), list_id, rows, new)


@api_bp.post("/api/watchlists")
def create_watchlist():
    allow_upload()
    auth.check_bearer()
    body = create_list_from_request(request.args.get("name") or request.form.get("name"))
    resp = jsonify(body)
    resp.status_code = 201
    resp.headers["Location"] = url_for("watch_api.get_watchlist", list_id=body["id"])
    return resp


@api_bp.get("/api/watchlists")
def list_watchlists():
    return jsonify({"watchlists": watchlists.all_lists(db())})


@api_bp.get("/api/watchlists/<int:list_id>")
def get_watchlist(list_id: int):
    wl = list_found(list_id)
    page = parse_page(request.args.get("page"))
    size = parse_size(request.args.get("size") or str(LIST_PAGE))
    return jsonify(wl | {"page": page, "size": size, "items": list_rows(list_id, page, size)})


@api_bp.delete("/api/watchlists/<int:list_id>")
def delete_watchlist(list_id: int):
    auth.check_bearer()
    if not watchlists.delete(db(), list_id):
        raise RequestError("not_found", "no watchlist with this id", "id")
    return Response(status=204)


@api_bp.get("/api/watchlists/<int:list_id>.csv")
def watchlist_csv(list_id: int):
    """One line per row, streamed (a row not cached at this index state is two searches)."""
    wl = list_found(list_id)
    rows = watchlists.rows_of(db(), list_id)
    new = watchlists.new_counts(db(), list_id)
    summaries = totals.stream_summaries(current_app.config["INDEX_DIR"], engine(), list_id, rows, new)
    lines = export.watchlist_lines(summaries)
    resp = Response(lines, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="watchlist-{wl["id"]}.csv"'
    return resp
