"""The JSON API through the real Flask app on a real index: statuses and one error shape,
on both backends (Whoosh, and the same corpus in a local SolrCloud)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from app import create_app
from search_fixtures import search_index  # noqa: F401  (session fixture)
from solr_cluster import solr_cluster, solr_search_config  # noqa: F401  (session fixtures)

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module", params=["whoosh", "solr"])
def client(request, search_index):  # noqa: F811
    config = {"INDEX_DIR": str(search_index), "TESTING": False}
    if request.param == "solr":
        config = {**request.getfixturevalue("solr_search_config"), "TESTING": False}
    app = create_app(config)
    yield app.test_client()
    app.extensions["search_engine"].close()


def assert_error(resp, status, code, param=None):
    assert resp.status_code == status
    assert resp.is_json
    assert resp.get_json() == {"error": {"code": code, "message": resp.get_json()["error"]["message"], "param": param}}
    assert "Traceback" not in resp.get_data(as_text=True)


def test_search_shape(client):
    r = client.get("/api/search?q=megvii&size=2")
    assert r.status_code == 200
    d = r.get_json()
    assert list(d)[:9] == ["query", "total", "page", "size", "sort", "took_ms", "hits", "facets", "suggestion"]
    assert d["total"] == 5 and len(d["hits"]) == 2
    hit = d["hits"][0]
    assert set(hit) >= {"id", "path", "title", "url", "source", "date", "date_precision", "tags", "score", "snippet"}


def test_repeatable_filters_and_suggestion(client):
    d = client.get("/api/search?q=megvi").get_json()
    assert d["total"] == 0 and d["suggestion"] == "megvii"
    d = client.get("/api/search?q=&tag=nothing-like-this").get_json()
    assert d["total"] == 0


@pytest.mark.parametrize(
    "query,param,code",
    [
        ("from=2019-13-45", "from", "invalid_date"),
        ("to=2019-02-30", "to", "invalid_date"),
        ("from=2019-07&to=2019-06", "from", "invalid_date_range"),
        ("size=-1", "size", "invalid_parameter"),
        ("size=101", "size", "out_of_range"),
        ("page=abc", "page", "invalid_parameter"),
        ("page=0", "page", "out_of_range"),
        ("sort=foo", "sort", "invalid_sort"),
        ("q=" + "x" * 1001, "q", "query_too_long"),
        ("q=a&q=b", "q", "repeated_parameter"),
    ],
)
def test_bad_parameters_are_400(client, query, param, code):
    assert_error(client.get("/api/search?" + query), 400, code, param)
    if param != "q" or code != "repeated_parameter":
        assert_error(client.get("/search.atom?" + query), 400, code, param)


@pytest.mark.parametrize("path", ["/api/articles/nope", "/api/articles/..%2F..%2Fetc%2Fpasswd",
                                  "/api/articles/../../etc/passwd", "/api/articles/%00"])
def test_unknown_article_is_404(client, path):
    assert_error(client.get(path), 404, "not_found", "id")


def test_unknown_api_path_and_method(client):
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    r = client.post("/api/search")
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_article_json_keeps_text_as_text(client):
    hit = client.get("/api/search?q=zanzibar").get_json()["hits"][0]
    assert "&lt;script&gt;" in hit["snippet"] and "<script>" not in hit["snippet"]
    d = client.get(f"/api/articles/{hit['id']}?q=clove").get_json()
    assert '<script>alert("owned")</script>' in d["text"]
    assert "<mark>clove</mark>" in d["text_html"] and "<script>" not in d["text_html"]
    assert d["path"] == hit["path"]


def test_healthz_and_stats(client):
    assert client.get("/healthz").get_json()["status"] == "ok"
    s = client.get("/api/stats").get_json()
    assert s["documents"] == 6 and s["duplicates"] == 2 and s["index_size_bytes"] > 0


def test_atom_feed_is_valid_and_links_to_articles(client):
    r = client.get("/search.atom?q=megvii")
    assert r.status_code == 200 and r.mimetype == "application/atom+xml"
    root = ET.fromstring(r.data)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{required}") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 5
    for e in entries:
        assert e.find(f"{ATOM}id") is not None and e.find(f"{ATOM}updated") is not None
        assert "/articles/" in e.find(f"{ATOM}link").get("href")
    # newest first
    dates = [e.find(f"{ATOM}updated").text for e in entries]
    assert dates == sorted(dates, reverse=True)


def test_placeholder_home_escapes_query(client):
    r = client.get('/?q="><script>x</script>')
    assert r.status_code == 200 and "<script>x" not in r.get_data(as_text=True)


def test_missing_index_is_503_json(tmp_path):
    c = create_app({"INDEX_DIR": str(tmp_path / "none")}).test_client()
    for path in ("/api/search?q=x", "/healthz", "/api/stats", "/api/articles/x", "/search.atom"):
        assert_error(c.get(path), 503, "index_unavailable")


def test_internal_errors_never_leak(search_index, monkeypatch):  # noqa: F811
    app = create_app({"INDEX_DIR": str(search_index)})

    def boom(*_a, **_k):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app.extensions["search_engine"], "search", boom)
    r = app.test_client().get("/api/search?q=x")
    assert_error(r, 500, "internal_error")
    assert "secret" not in r.get_data(as_text=True)


@pytest.mark.parametrize("q", ["\x18×å", "clove\x06harvest", "\ufffe"])
def test_atom_feed_survives_control_characters(client, q):
    """Found by bench/api_fuzz.py: XML cannot carry these; the feed drops them instead of a 500."""
    r = client.get("/search.atom?" + urlencode({"q": q}))
    assert r.status_code == 200
    ET.fromstring(r.data)


@pytest.mark.parametrize("path", ["/api/articles/%2Fsearch.atom", "/api/articles/..%2F..%2Fetc%2Fpasswd",
                                  "/api/articles/../app.py", "/api/articles/%00", "/api/articles/" + "a" * 300])
def test_odd_article_ids_are_json_404s(client, path):
    """Found by bench/api_fuzz.py: a leading slash in an id used to redirect (308)."""
    r = client.get(path)
    assert r.status_code == 404
    assert set(r.get_json()["error"]) == {"code", "message", "param"}


def test_request_limits(client):
    """Bodies are refused (every route is a GET); q, size and page are bounded."""
    r = client.post("/api/search", data=b"x" * 100_000)
    assert r.status_code in (405, 413)
    assert set(r.get_json()["error"]) == {"code", "message", "param"}
    assert client.get("/api/search?q=" + "a" * 1001).get_json()["error"]["param"] == "q"
    assert client.get("/api/search?size=101").get_json()["error"]["param"] == "size"
    assert client.get("/api/search?page=0").get_json()["error"]["param"] == "page"
