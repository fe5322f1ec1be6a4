"""The hand-written OpenAPI 3.1 description of the JSON API (tests validate real responses)."""

from __future__ import annotations

_str_or_null = {"type": ["string", "null"]}
_index_state = {
    "type": "object",
    "required": ["version", "generation", "last_run"],
    "properties": {
        "version": _str_or_null,
        "generation": {"type": ["integer", "null"]},
        "last_run": {"type": ["object", "null"], "description": "summary of the last completed indexer run"},
    },
}
_date_props = {
    "date": {**_str_or_null, "description": "written at its precision: 2019, 2019-05 or 2019-06-06",
             "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"},
    "date_precision": {"enum": ["year", "month", "day", None]},
}
_date_param = {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"}
_counts = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}
_member = {
    "type": "object", "required": ["id", "source", "date", "kind"],
    "properties": {"id": {"type": "string"}, "source": _str_or_null, "date": _str_or_null,
                   "kind": {"enum": ["exact", "near"], "description": "exact: same cleaned text; near: an edited copy"}},
}
_cluster = {
    "type": ["object", "null"],
    "description": "the story's copies (syndicated, re-headlined, trimmed); null when it has none",
    "required": ["size", "first_published", "outlets", "members"],
    "properties": {
        "size": {"type": "integer", "minimum": 2},
        "first_published": {"type": "object", "required": ["id", "source", "date"],
                            "properties": {"id": {"type": "string"}, "source": _str_or_null, "date": _str_or_null},
                            "description": "the earliest-dated member (undated last, then first seen)"},
        "outlets": {"type": "array", "items": {"type": "string"}},
        "members": {"type": "array", "items": _member, "minItems": 2},
    },
}
_version = {
    "type": "object", "required": ["seen", "title", "date", "content_hash"],
    "properties": {"seen": {"type": "string", "description": "when the indexer first saw this text (UTC)"},
                   "title": {"type": "string"}, "date": _str_or_null, "content_hash": {"type": "string"},
                   "id": {"type": "string", "description": "the file (article id) that carried this text"}},
}


def _param(name: str, desc: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": desc, "schema": schema}


def _err(desc: str) -> dict:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


_filters = [
    _param("q", "query text (words, \"phrases\", -word, OR, title:, source:, tag:, prefix*); empty lists every article newest first",
           {"type": "string", "maxLength": 1000}),
    _param("from", "earliest date (YYYY, YYYY-MM or YYYY-MM-DD); matches by overlap", _date_param),
    _param("to", "latest date (YYYY, YYYY-MM or YYYY-MM-DD); matches by overlap", _date_param),
    _param("source", "only these sources (repeatable or comma-separated)", {"type": "array", "items": {"type": "string"}}),
    _param("tag", "only these tags (repeatable or comma-separated)", {"type": "array", "items": {"type": "string"}}),
    _param("changed", "only articles with more than one version", {"type": "boolean", "default": False}),
    _param("headline_changed", "only articles whose headline changed between versions",
           {"type": "boolean", "default": False}),
    _param("copies", "collapse: one hit per story cluster; all: every copy its own hit",
           {"enum": ["collapse", "all"], "default": "collapse"}),
]

OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "News archive search API",
        "version": "1.0.0",
        "description": "Search a news archive indexed with Whoosh. Every error is "
        '{"error": {"code", "message", "param"}}.',
    },
    "paths": {
        "/api/search": {
            "get": {
                "operationId": "search",
                "summary": "Ranked, highlighted, filtered, faceted search",
                "parameters": _filters + [
                    _param("sort", "order of hits", {"enum": ["relevance", "newest", "oldest"], "default": "relevance"}),
                    _param("page", "1-based page", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}),
                    _param("size", "hits per page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}),
                    _param("explain", "true: each ranked hit carries `explain`, its score broken down",
                           {"type": "boolean", "default": False}),
                ],
                "responses": {
                    "200": {"description": "a page of results",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResponse"}}}},
                    "400": _err("a bad parameter (named in error.param)"),
                    "503": _err("the index is not available"),
                },
            }
        },
        "/api/articles/{id}": {
            "get": {
                "operationId": "article",
                "summary": "One whole article, its copies and related articles",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    _param("q", "words to highlight in text_html", {"type": "string", "maxLength": 1000}),
                ],
                "responses": {
                    "200": {"description": "the article",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Article"}}}},
                    "400": _err("a bad parameter"),
                    "404": _err("no article with this id"),
                    "503": _err("the index is not available"),
                },
            }
        },
        "/api/articles/{id}/diff": {
            "get": {
                "operationId": "articleDiff",
                "summary": "Word diff between two of an article's versions",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    _param("from", "index into the article's versions", {"type": "integer", "minimum": 0}, True),
                    _param("to", "index into the article's versions", {"type": "integer", "minimum": 0}, True),
                ],
                "responses": {
                    "200": {"description": "the diff", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["html"],
                        "properties": {"html": {"type": "string", "description": "escaped text, removed words in <del>, added in <ins>"},
                                       "from": {"type": "integer"}, "to": {"type": "integer"}}}}}},
                    "400": _err("from or to missing, not a number, or not an index into versions"),
                    "404": _err("no article with this id"),
                    "503": _err("the index is not available"),
                },
            }
        },
        "/api/stats": {
            "get": {
                "operationId": "stats",
                "summary": "Document counts, index size, last indexer run",
                "responses": {
                    "200": {"description": "statistics",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}}},
                    "503": _err("the index is not available"),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Is the index readable",
                "responses": {
                    "200": {"description": "healthy",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                    "503": _err("the index is not available"),
                },
            }
        },
        "/search.atom": {
            "get": {
                "operationId": "feed",
                "summary": "Atom feed of the newest matches",
                "parameters": _filters,
                "responses": {
                    "200": {"description": "Atom 1.0", "content": {"application/atom+xml": {"schema": {"type": "string"}}}},
                    "400": _err("a bad parameter"),
                    "503": _err("the index is not available"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {"operationId": "openapi", "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}
        },
    },
    "components": {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "additionalProperties": False,
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message", "param"],
                        "additionalProperties": False,
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "param": _str_or_null,
                        },
                    }
                },
            },
            "Hit": {
                "type": "object",
                "required": ["id", "path", "title", "url", "source", "date", "date_precision", "tags", "score", "snippet", "duplicates"],
                "properties": {
                    "id": {"type": "string"},
                    "path": {"type": "string"},
                    "title": {"type": "string"},
                    "url": _str_or_null,
                    "source": _str_or_null,
                    **_date_props,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "score": {"type": ["number", "null"], "description": "null when sorted by date"},
                    "snippet": {"type": "string", "description": "HTML: escaped text, matches in <mark>"},
                    "duplicates": {"type": "array", "items": {"type": "string"}, "description": "ids of exact copies"},
                    "missing_words": {"type": "array", "items": {"type": "string"},
                                      "description": "query words this hit lacks (a partial match, ranked after "
                                                     "the hits with all the words)"},
                    "explain": {"$ref": "#/components/schemas/Explain"},
                    "cluster": _cluster,
                },
            },
            "Explain": {
                "type": "object",
                "description": "score = (bm25f * relaxation.coord_factor + expansion.score) * proximity.factor",
                "required": ["words", "clauses", "bm25f", "relaxation", "proximity", "score"],
                "properties": {
                    "words": {"type": "array", "items": {
                        "type": "object", "required": ["term", "idf", "fields", "x", "score"],
                        "description": "one word's BM25F part: score = idf * (k1 + 1) * x / (x + k1), "
                                       "x = sum over fields of weight * tf / length_norm",
                        "properties": {
                            "term": {"type": "string", "description": "the indexed (stemmed) term"},
                            "idf": {"type": "number", "exclusiveMinimum": 0},
                            "fields": {"type": "object", "additionalProperties": {
                                "type": "object",
                                "required": ["tf", "weight", "length", "avg_length", "b", "length_norm", "x"],
                                "properties": {k: {"type": "number"} for k in
                                               ("tf", "weight", "length", "avg_length", "b", "length_norm", "x")}}},
                            "x": {"type": "number"},
                            "score": {"type": "number"},
                        }}},
                    "clauses": {"type": "array", "items": {
                        "type": "object", "required": ["clause", "score"],
                        "description": "phrases, prefixes and fielded words, scored as a whole",
                        "properties": {"clause": {"type": "string"}, "score": {"type": "number"}}}},
                    "bm25f": {"type": "number"},
                    "relaxation": {"type": "object",
                                   "required": ["all_words", "ranked_first", "coord_factor", "missing_words"],
                                   "properties": {"all_words": {"type": "boolean"}, "ranked_first": {"type": "boolean"},
                                                  "coord_factor": {"type": "number"},
                                                  "missing_words": {"type": "array", "items": {"type": "string"}}}},
                    "expansion": {
                        "type": ["object", "null"],
                        "description": "pseudo-relevance feedback of a verbose query (null when none): terms "
                                       "of the first pass's top from_docs articles; each adds scale * weight * "
                                       "its BM25F in this hit (a term of all_terms the hit lacks adds nothing)",
                        "required": ["from_docs", "scale", "terms", "all_terms", "score"],
                        "properties": {
                            "from_docs": {"type": "integer"}, "scale": {"type": "number"},
                            "all_terms": {"type": "array", "items": {"type": "string"}},
                            "score": {"type": "number"},
                            "terms": {"type": "array", "items": {
                                "type": "object", "required": ["term", "idf", "fields", "x", "score", "weight", "added"],
                                "properties": {"term": {"type": "string"}, "idf": {"type": "number"},
                                               "fields": {"type": "object"}, "x": {"type": "number"},
                                               "score": {"type": "number"}, "weight": {"type": "number"},
                                               "added": {"type": "number"}}}},
                        }},
                    "proximity": {"type": "object", "required": ["share", "slop", "boost", "factor", "applied"],
                                  "description": "share of adjacent query-word pairs within slop positions",
                                  "properties": {"share": {"type": "number"}, "slop": {"type": "integer"},
                                                 "boost": {"type": "number"}, "factor": {"type": "number"},
                                                 "applied": {"type": "boolean"}}},
                    "score": {"type": "number"},
                },
            },
            "SearchResponse": {
                "type": "object",
                "required": ["query", "total", "page", "size", "took_ms", "hits", "facets", "suggestion",
                             "fallback", "syntax_error", "undated_hidden", "index"],
                "properties": {
                    "query": {"type": "string"},
                    "total": {"type": "integer", "minimum": 0},
                    "page": {"type": "integer", "minimum": 1},
                    "size": {"type": "integer", "minimum": 1, "maximum": 100},
                    "sort": {"enum": ["relevance", "newest", "oldest"]},
                    "took_ms": {"type": "number", "minimum": 0},
                    "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}, "maxItems": 100},
                    "facets": {
                        "type": "object",
                        "required": ["year", "month", "source", "tag"],
                        "properties": {"year": _counts, "month": _counts, "source": _counts, "tag": _counts,
                                       "outlets": {**_counts, "description": "stories by number of outlets that published them"},
                                       "edits": {**_counts, "description": "matches changed after first seen (changed) "
                                                 "and with a changed headline (headline_changed)"}},
                    },
                    "suggestion": {**_str_or_null, "description": "did-you-mean query, ready to search"},
                    "fallback": {"enum": ["any_words", None],
                                 "description": "any_words: no article had all words; partial matches shown"},
                    "syntax_error": {**_str_or_null, "description": "why the query was read as plain words"},
                    "undated_hidden": {"type": "integer", "minimum": 0},
                    "ignored_words": {"type": "array", "items": {"type": "string"}},
                    "deadline_exceeded": {"type": "boolean", "description": "true when phrase matching ran "
                                          "out of time and phrases matched every article with all their words"},
                    "matching": {
                        "type": "object",
                        "description": "how the words were matched: hits with all the relaxed words rank first, "
                                       "then partial matches (minimum-should-match)",
                        "required": ["required", "relaxed", "min_relaxed_words", "all_words_total", "excluded"],
                        "properties": {
                            "required": {"type": "array", "items": {"type": "string"},
                                         "description": "words, phrases and clauses every hit has"},
                            "relaxed": {"type": "array", "items": {"type": "string"},
                                        "description": "words a partial match may lack"},
                            "min_relaxed_words": {"type": "integer", "minimum": 0,
                                                  "description": "the fewest relaxed words a hit has"},
                            "all_words_total": {"type": ["integer", "null"], "minimum": 0,
                                                "description": "matches with every relaxed word (null: none relaxed)"},
                            "excluded": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "index": _index_state,
                },
            },
            "Article": {
                "type": "object",
                "required": ["id", "path", "title", "url", "source", "date", "date_precision", "tags", "text",
                             "text_html", "duplicates", "related", "index"],
                "properties": {
                    "id": {"type": "string"},
                    "path": {"type": "string"},
                    "title": {"type": "string"},
                    "url": _str_or_null,
                    "source": _str_or_null,
                    "author": _str_or_null,
                    **_date_props,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "text": {"type": "string", "description": "plain text (not HTML)"},
                    "text_html": {"type": "string", "description": "escaped text, q words in <mark>"},
                    "duplicates": {"type": "array", "items": {"type": "string"}},
                    "related": {
                        "type": "array", "maxItems": 5,
                        "items": {"type": "object", "required": ["id", "title", "date", "source"],
                                  "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                                 "date": _str_or_null, "source": _str_or_null}},
                    },
                    "versions": {"type": "array", "items": _version,
                                 "description": "every text seen, oldest first, the current last (read from the "
                                                "indexer's state folder, INDEX_DIR, on both backends)"},
                    "cluster": _cluster,
                    "took_ms": {"type": "number"},
                    "index": _index_state,
                },
            },
            "Stats": {
                "type": "object",
                "required": ["documents", "duplicates", "index_size_bytes", "last_run", "index"],
                "properties": {
                    "documents": {"type": "integer", "minimum": 0},
                    "duplicates": {"type": "integer", "minimum": 0},
                    "undated": {"type": "integer", "minimum": 0},
                    "segments": {"type": "integer", "minimum": 0},
                    "index_size_bytes": {"type": "integer", "minimum": 0},
                    "last_run": {"type": ["object", "null"]},
                    "index": _index_state,
                },
            },
            "Health": {
                "type": "object",
                "required": ["status", "documents", "index"],
                "properties": {
                    "status": {"const": "ok"},
                    "documents": {"type": "integer"},
                    "took_ms": {"type": "number"},
                    "index": _index_state,
                },
            },
        }
    },
}

# The watch endpoints (standing searches, watchlists, CSV export) live in their own module.
from web import openapi_watch  # noqa: E402

OPENAPI["paths"].update(openapi_watch.paths(_filters))
OPENAPI["components"]["schemas"].update(openapi_watch.SCHEMAS)
OPENAPI["components"]["securitySchemes"] = openapi_watch.SECURITY
