"""Real responses, errors included, validate against the served OpenAPI document (on both
backends: the Whoosh index and the same corpus in a local SolrCloud)."""

from __future__ import annotations

import jsonschema
import pytest

from app import create_app
from search_fixtures import search_index  # noqa: F401  (session fixture)
from solr_cluster import solr_cluster, solr_search_config  # noqa: F401  (session fixtures)


@pytest.fixture(scope="module", params=["whoosh", "solr"])
def client(request, search_index):  # noqa: F811
    config = {"INDEX_DIR": str(search_index)}
    if request.param == "solr":
        config = request.getfixturevalue("solr_search_config")
    app = create_app(config)
    yield app.test_client()
    app.extensions["search_engine"].close()


@pytest.fixture(scope="module")
def spec(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    return doc


def validate(spec, path, status, body):
    op = spec["paths"][path]["get"]
    schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
    wrapped = schema
    if "$ref" in schema:  # resolve against the document's own components
        wrapped = {**spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], "components": spec["components"]}
    jsonschema.Draft202012Validator(wrapped).validate(body)


CASES = [
    ("/api/search", "/api/search?q=megvii", 200),
    ("/api/search", '/api/search?q=megvii+blacklisting+"facial+recognition"+xinjiang&explain=true', 200),
    ("/api/search", "/api/search?q=megvii+cleared+to+sell+surveillance+app+after+rights+report&explain=true", 200),
    ("/api/search", "/api/search?q=megvii&explain=perhaps", 400),
    ("/api/search", "/api/search?q=", 200),
    ("/api/search", "/api/search?q=megvi+survelance&from=2019&sort=newest&size=1&page=2", 200),
    ("/api/search", '/api/search?q="unclosed', 200),
    ("/api/search", "/api/search?size=0", 400),
    ("/api/search", "/api/search?from=2019-13-45", 400),
    ("/api/articles/{id}", "/api/articles/nope", 404),
    ("/api/stats", "/api/stats", 200),
    ("/healthz", "/healthz", 200),
    ("/search.atom", "/search.atom?sort=foo", 400),
]


@pytest.mark.parametrize("path,url,status", CASES)
def test_responses_match_spec(client, spec, path, url, status):
    r = client.get(url)
    assert r.status_code == status
    validate(spec, path, status, r.get_json())


def test_article_matches_spec(client, spec):
    hit = client.get("/api/search?q=Face%2B%2B").get_json()["hits"][0]
    r = client.get(f"/api/articles/{hit['id']}?q=megvii")
    validate(spec, "/api/articles/{id}", 200, r.get_json())


def test_spec_is_valid_openapi_shape(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert op["responses"], (path, method)
    jsonschema.Draft202012Validator.check_schema(spec["components"]["schemas"]["SearchResponse"])
