"""OpenAPI paths and schemas of the watch endpoints (merged into web/openapi.py's document)."""

from __future__ import annotations

_s = {"type": "string"}
_s_null = {"type": ["string", "null"]}
_int0 = {"type": "integer", "minimum": 0}
_date = {"type": ["string", "null"], "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"}
_stamp = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"}
_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_bearer = [{"operatorToken": []}]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(desc: str, schema: dict) -> dict:
    return {"description": desc, "content": {"application/json": {"schema": schema}}}


def _errs(*codes: int) -> dict:
    text = {400: "bad input (named in error.param); nothing changed",
            401: "no Authorization: Bearer header", 403: "wrong token, or writes disabled (read_only)",
            404: "no such id", 409: "the name is taken", 413: "the upload is too large",
            503: "the index is not available"}
    return {str(c): _json(text[c], _ref("Error")) for c in codes}


def _page(name: str, default: int) -> dict:
    return {"name": name, "in": "query", "schema": {"type": "integer", "minimum": 1, "default": default}}


_match = {"type": "object", "required": ["id", "path", "title", "date", "first_seen"],
          "properties": {"id": _s, "path": _s, "title": _s, "date": _date,
                         "first_seen": {**_stamp, "description": "when the indexer first saw the article (UTC)"},
                         "new": {"type": "boolean"}}}

SCHEMAS = {
    "Watch": {
        "type": "object", "required": ["id", "name", "q", "from", "to", "source", "tag", "new", "total"],
        "properties": {
            "id": {"type": "integer"}, "name": _s, "q": _s, "from": _date, "to": _date,
            "source": {"type": "array", "items": _s}, "tag": {"type": "array", "items": _s},
            "new": {**_int0, "description": "matches recorded since its page was last viewed"},
            "total": _int0, "created": _stamp,
            "syntax_error": {**_s_null, "description": "why q was stored as its plain words"},
        },
    },
    "WatchInput": {
        "type": "object", "required": ["q"], "additionalProperties": False,
        "properties": {"name": _s, "q": {"type": "string", "maxLength": 1000}, "from": _s, "to": _s,
                       "source": {"type": ["array", "string"], "items": _s},
                       "tag": {"type": ["array", "string"], "items": _s}},
    },
    "WatchMatches": {
        "type": "object", "required": ["watch", "total", "new", "page", "size", "matches"],
        "properties": {"watch": _ref("Watch"), "total": _int0, "new": _int0, "page": {"type": "integer"},
                       "size": {"type": "integer"}, "matches": {"type": "array", "items": _match}},
    },
    "WatchlistSummary": {
        "type": "object", "required": ["id", "name", "rows", "new"],
        "properties": {"id": {"type": "integer"}, "name": _s, "created": _stamp, "rows": _int0, "new": _int0},
    },
    "WatchlistRow": {
        "type": "object", "required": ["name", "total", "first_date", "last_date", "sources", "new"],
        "properties": {
            "row": {"type": "integer"}, "name": _s, "variants": {"type": "array", "items": _s},
            "fuzzy": {"enum": [0, 1, 2]}, "query": _s, "total": _int0, "first_date": _date, "last_date": _date,
            "sources": {"type": "array", "items": {"type": "object", "required": ["source", "count"],
                                                   "properties": {"source": _s, "count": _int0}}},
            "new": _int0,
            "newest": {"type": "array", "maxItems": 5, "items": {**_match, "properties": {
                **_match["properties"], "first_seen": {"type": "null"}}}},
        },
    },
    "Watchlist": {
        "allOf": [_ref("WatchlistSummary"), {
            "type": "object", "required": ["page", "size", "items"],
            "properties": {"page": {"type": "integer"}, "size": {"type": "integer"},
                           "items": {"type": "array", "items": _ref("WatchlistRow")}}}],
    },
}

SECURITY = {"operatorToken": {"type": "http", "scheme": "bearer",
                              "description": "the operator's token, NEWS_ADMIN_TOKEN"}}


def paths(filters: list[dict]) -> dict:
    """The watch endpoints; ``filters`` are the search's query parameters."""
    return {
        "/search.csv": {"get": {
            "operationId": "searchCsv", "summary": "Every match of a search as CSV (streamed, spreadsheet-safe)",
            "parameters": filters + [{"name": "sort", "in": "query", "schema": {"enum": ["relevance", "newest", "oldest"]}}],
            "responses": {"200": {"description": "id, date, date_precision, source, title, url, path, snippet",
                                  "content": {"text/csv": {"schema": _s}}}, **_errs(400, 503)}}},
        "/api/watches": {
            "get": {"operationId": "listWatches", "summary": "Standing searches with new and total matches",
                    "responses": {"200": _json("standing searches", {
                        "type": "object", "required": ["watches"],
                        "properties": {"watches": {"type": "array", "items": _ref("Watch")}}})}},
            "post": {"operationId": "createWatch", "summary": "Save a search as a standing search", "security": _bearer,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("WatchInput")}}},
                     "responses": {"201": _json("created", _ref("Watch")), **_errs(400, 401, 403, 409)}},
        },
        "/api/watches/{id}": {
            "get": {"operationId": "getWatch", "summary": "One standing search", "parameters": [_id],
                    "responses": {"200": _json("the standing search", _ref("Watch")), **_errs(404)}},
            "patch": {"operationId": "renameWatch", "summary": "Rename a standing search", "security": _bearer,
                      "parameters": [_id],
                      "requestBody": {"required": True, "content": {"application/json": {"schema": {
                          "type": "object", "required": ["name"], "properties": {"name": _s}}}}},
                      "responses": {"200": _json("renamed", _ref("Watch")), **_errs(400, 401, 403, 404, 409)}},
            "delete": {"operationId": "deleteWatch", "summary": "Delete a standing search and its matches",
                       "security": _bearer, "parameters": [_id],
                       "responses": {"204": {"description": "deleted"}, **_errs(401, 403, 404)}},
        },
        "/api/watches/{id}/matches": {"get": {
            "operationId": "watchMatches", "summary": "Matches, newest first seen first",
            "parameters": [_id, _page("page", 1), _page("size", 10)],
            "responses": {"200": _json("matches", _ref("WatchMatches")), **_errs(400, 404)}}},
        "/watching/{id}.atom": {"get": {
            "operationId": "watchFeed", "summary": "Atom feed of a standing search's matches by first seen",
            "parameters": [_id],
            "responses": {"200": {"description": "Atom 1.0", "content": {"application/atom+xml": {"schema": _s}}},
                          **_errs(404)}}},
        "/api/watchlists": {
            "get": {"operationId": "listWatchlists", "summary": "Watchlists with row counts and new matches",
                    "responses": {"200": _json("watchlists", {
                        "type": "object", "required": ["watchlists"],
                        "properties": {"watchlists": {"type": "array", "items": _ref("WatchlistSummary")}}})}},
            "post": {"operationId": "createWatchlist", "security": _bearer,
                     "summary": "Upload a list: CSV with a header (name, variants, fuzzy, query) or one name per line",
                     "parameters": [{"name": "name", "in": "query", "schema": _s}],
                     "requestBody": {"required": True, "content": {
                         "text/csv": {"schema": _s}, "text/plain": {"schema": _s},
                         "multipart/form-data": {"schema": {"type": "object", "properties": {
                             "file": {"type": "string", "format": "binary"}, "name": _s}}}}},
                     "responses": {"201": _json("created", {
                         "type": "object", "required": ["id", "rows"],
                         "properties": {"id": {"type": "integer"}, "name": _s, "rows": {"type": "integer", "minimum": 1}}}),
                         **_errs(400, 401, 403, 409, 413)}},
        },
        "/api/watchlists/{id}": {
            "get": {"operationId": "getWatchlist", "summary": "Per row: totals, dates, sources, new matches",
                    "parameters": [_id, _page("page", 1), _page("size", 100)],
                    "responses": {"200": _json("the watchlist", _ref("Watchlist")), **_errs(400, 404, 503)}},
            "delete": {"operationId": "deleteWatchlist", "summary": "Delete a watchlist", "security": _bearer,
                       "parameters": [_id], "responses": {"204": {"description": "deleted"}, **_errs(401, 403, 404)}},
        },
        "/api/watchlists/{id}.csv": {"get": {
            "operationId": "watchlistCsv", "summary": "The watchlist as CSV, one line per name", "parameters": [_id],
            "responses": {"200": {"description": "row, name, variants, fuzzy, total, first_date, last_date, sources, "
                                                 "new, newest_ids, newest_titles",
                                  "content": {"text/csv": {"schema": _s}}}, **_errs(404)}}},
    }
