"""Real responses of the watch endpoints (errors included) validate against the served
OpenAPI document."""

from __future__ import annotations

import io

import jsonschema
import pytest

from app import create_app
from conftest import SEEDS, run_indexer

TOKEN = "spec-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    index = tmp_path_factory.mktemp("spec-index")
    run_indexer(SEEDS, index, "--quiet")
    return create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN}).test_client()


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/api/openapi.json").get_json()


def check(spec, path, method, r, status):
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    op = spec["paths"][path][method]
    resp = op["responses"][str(status)]
    if "content" not in resp:
        assert not r.data
        return
    media = r.mimetype
    assert media in resp["content"], (path, media)
    if media == "application/json":
        schema = {**resp["content"][media]["schema"], "components": spec["components"]}
        jsonschema.Draft202012Validator(schema).validate(r.get_json())


def test_watch_endpoints_match_the_spec(client, spec):
    r = client.post("/api/watches", json={"name": "M", "q": "megvii", "from": "2019"}, headers=AUTH)
    check(spec, "/api/watches", "post", r, 201)
    wid = r.get_json()["id"]
    check(spec, "/api/watches", "post", client.post("/api/watches", json={"name": "m", "q": "x"}, headers=AUTH), 409)
    check(spec, "/api/watches", "post", client.post("/api/watches", json={"q": "x"}), 401)
    check(spec, "/api/watches", "post", client.post("/api/watches", json={"q": "x"}, headers={"Authorization": "Bearer no"}), 403)
    check(spec, "/api/watches", "post", client.post("/api/watches", json={"q": "x", "to": "2019-99"}, headers=AUTH), 400)
    check(spec, "/api/watches", "get", client.get("/api/watches"), 200)
    check(spec, "/api/watches/{id}", "get", client.get(f"/api/watches/{wid}"), 200)
    check(spec, "/api/watches/{id}", "get", client.get("/api/watches/999"), 404)
    check(spec, "/api/watches/{id}", "patch", client.patch(f"/api/watches/{wid}", json={"name": "N"}, headers=AUTH), 200)
    check(spec, "/api/watches/{id}/matches", "get", client.get(f"/api/watches/{wid}/matches"), 200)
    check(spec, "/api/watches/{id}/matches", "get", client.get(f"/api/watches/{wid}/matches?size=0"), 400)
    check(spec, "/watching/{id}.atom", "get", client.get(f"/watching/{wid}.atom"), 200)
    check(spec, "/watching/{id}.atom", "get", client.get("/watching/999.atom"), 404)
    # An id that is not a number matches no route: still the JSON shape a feed reader gets.
    check(spec, "/watching/{id}.atom", "get", client.get("/watching/M.atom"), 404)
    check(spec, "/api/watches/{id}", "delete", client.delete(f"/api/watches/{wid}", headers=AUTH), 204)
    check(spec, "/api/watches/{id}", "delete", client.delete(f"/api/watches/{wid}", headers=AUTH), 404)


def test_watchlist_and_csv_endpoints_match_the_spec(client, spec):
    r = client.post("/api/watchlists?name=L", data="name,variants\nMegvii,Kuangshi\nHuawei,\n",
                    headers=AUTH | {"Content-Type": "text/csv"})
    check(spec, "/api/watchlists", "post", r, 201)
    lid = r.get_json()["id"]
    up = {"file": (io.BytesIO(b"Megvii\n"), "l.txt")}
    check(spec, "/api/watchlists", "post", client.post("/api/watchlists?name=l", data=up, headers=AUTH), 409)
    check(spec, "/api/watchlists", "post", client.post("/api/watchlists", data=b"\xff\xfe", headers=AUTH), 400)
    check(spec, "/api/watchlists", "post", client.post("/api/watchlists", data=b"x" * 3_000_000, headers=AUTH), 413)
    check(spec, "/api/watchlists", "get", client.get("/api/watchlists"), 200)
    check(spec, "/api/watchlists/{id}", "get", client.get(f"/api/watchlists/{lid}"), 200)
    check(spec, "/api/watchlists/{id}.csv", "get", client.get(f"/api/watchlists/{lid}.csv"), 200)
    check(spec, "/api/watchlists/{id}.csv", "get", client.get("/api/watchlists/999.csv"), 404)
    check(spec, "/search.csv", "get", client.get("/search.csv?q=megvii"), 200)
    check(spec, "/search.csv", "get", client.get("/search.csv?sort=x"), 400)
    check(spec, "/api/watchlists/{id}", "delete", client.delete(f"/api/watchlists/{lid}", headers=AUTH), 204)
    check(spec, "/api/watchlists/{id}", "get", client.get(f"/api/watchlists/{lid}"), 404)


def test_every_watch_path_is_documented(client, spec):
    documented = set(spec["paths"])
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint.startswith("watch_api."):
            path = rule.rule.replace("<int:watch_id>", "{id}").replace("<int:list_id>", "{id}")
            assert path in documented, path
    jsonschema.Draft202012Validator.check_schema({"$defs": spec["components"]["schemas"]})
