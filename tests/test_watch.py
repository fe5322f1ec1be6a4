"""Standing searches on real indexer runs: a watch reports exactly the articles a run added
or changed that match it, with the time the indexer first saw them; writes need the token."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from app import create_app
from conftest import ROOT, SEEDS, run_indexer

TOKEN = "s3cret-operator-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ZANZIBAR = "Zanzibar clove harvest\n\nThe clove harvest in Zanzibar fell sharply this season, growers said.\n"
OTHER = "Tea prices in Kenya\n\nTea auction prices in Mombasa rose for a third week, brokers said.\n"


def stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def watch_cli(index, *extra) -> dict:
    proc = subprocess.run([sys.executable, "-m", "watch", "--index", str(index), "--json", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture()
def site(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    app = create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN})
    return corpus, index, app.test_client()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One index for the tests that only create and delete watches (each cleans up)."""
    corpus, index = tmp_path_factory.mktemp("w") / "corpus", tmp_path_factory.mktemp("w-index")
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    client = create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN}).test_client()
    yield client
    for w in client.get("/api/watches").get_json()["watches"]:
        client.delete(f"/api/watches/{w['id']}", headers=AUTH)


@pytest.fixture()
def client(shared):
    yield shared
    for w in shared.get("/api/watches").get_json()["watches"]:
        assert shared.delete(f"/api/watches/{w['id']}", headers=AUTH).status_code == 204


def api_ids(client, q) -> set[str]:
    return {h["id"] for h in client.get(f"/api/search?q={q}&size=100").get_json()["hits"]}


@pytest.mark.slow
def test_watch_reports_exactly_new_matches_with_first_seen(site):
    corpus, index, client = site
    r = client.post("/api/watches", json={"name": "Cloves", "q": "zanzibar clove"}, headers=AUTH)
    assert r.status_code == 201, r.get_json()
    wid = r.get_json()["id"]
    assert r.headers["Location"].endswith(f"/api/watches/{wid}")
    megvii = client.post("/api/watches", json={"q": "megvii", "from": "2019"}, headers=AUTH).get_json()
    assert megvii["name"] == "megvii" and megvii["from"] == "2019"

    before = stamp()
    (corpus / "new").mkdir()
    (corpus / "new" / "zanzibar.txt").write_text(ZANZIBAR, "utf-8")
    (corpus / "new" / "tea.txt").write_text(OTHER, "utf-8")
    run_indexer(corpus, index, "--quiet")
    after = stamp()

    new_id = api_ids(client, "zanzibar")
    assert len(new_id) == 1
    listed = {w["id"]: w for w in client.get("/api/watches").get_json()["watches"]}
    assert (listed[wid]["new"], listed[wid]["total"]) == (1, 1)
    assert (listed[megvii["id"]]["new"], listed[megvii["id"]]["total"]) == (0, 0)  # seeds predate the watch
    body = client.get(f"/api/watches/{wid}/matches").get_json()
    [m] = body["matches"]
    assert m["id"] in new_id and m["path"] == "new/zanzibar.txt" and m["new"] is True
    assert m["title"] == "Zanzibar clove harvest"
    assert before <= m["first_seen"] <= after

    # a run that adds nothing evaluates nothing
    run_indexer(corpus, index, "--quiet")
    assert watch_cli(index) == {"journal_rows": 0, "articles": 0, "searches": 0, "matches": 0,
                                "seconds": pytest.approx(0, abs=5)}

    # a changed article is evaluated again; it keeps the time it was first seen
    seed = sorted(corpus.glob("001_*.txt"))[0]
    seed_id = next(h["id"] for h in client.get("/api/search?size=100").get_json()["hits"]
                   if h["path"] == seed.name)
    text = seed.read_text("utf-8")
    cut = text.index(". ", 400) + 2
    seed.write_text(text[:cut] + "Zanzibar clove traders watched the case closely. " + text[cut:], "utf-8")
    run_indexer(corpus, index, "--quiet")
    matches = client.get(f"/api/watches/{wid}/matches").get_json()["matches"]
    assert [x["id"] for x in matches] == [m["id"], seed_id]  # newest first seen first
    assert matches[1]["first_seen"] <= before

    # a rebuild re-journals every article, but nothing it writes is new
    run_indexer(corpus, index, "--rebuild", "--quiet")
    assert client.get(f"/api/watches/{wid}").get_json()["total"] == 2


@pytest.mark.slow
def test_watch_matches_feed_and_seen_marking(site):
    corpus, index, client = site
    wid = client.post("/api/watches", json={"q": "clove"}, headers=AUTH).get_json()["id"]
    (corpus / "z.txt").write_text(ZANZIBAR.replace("Zanzibar clove", "Zanzibar <b>&clove\x01</b>"), "utf-8")
    run_indexer(corpus, index, "--quiet")
    feed = client.get(f"/watching/{wid}.atom")
    assert feed.status_code == 200 and feed.mimetype == "application/atom+xml"
    assert b"<entry>" in feed.data and b"&lt;b&gt;&amp;clove" in feed.data and b"\x01" not in feed.data
    assert client.get("/watching/999.atom").status_code == 404


@pytest.mark.parametrize("headers,status,code", [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Bearer wrong"}, 403, "forbidden"),
    ({"Authorization": f"Basic {TOKEN}"}, 401, "unauthorized"),
])
def test_api_writes_need_the_token(client, headers, status, code):
    wid = client.post("/api/watches", json={"q": "megvii"}, headers=AUTH).get_json()["id"]
    for r in (client.post("/api/watches", json={"q": "x"}, headers=headers),
              client.delete(f"/api/watches/{wid}", headers=headers),
              client.patch(f"/api/watches/{wid}", json={"name": "y"}, headers=headers)):
        assert r.status_code == status
        assert r.get_json()["error"]["code"] == code
    assert [w["name"] for w in client.get("/api/watches").get_json()["watches"]] == ["megvii"]


def test_without_a_token_it_is_read_only(seed_index):
    client = create_app({"INDEX_DIR": str(seed_index), "ADMIN_TOKEN": None}).test_client()
    r = client.post("/api/watches", json={"q": "megvii"}, headers=AUTH)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only"
    assert client.get("/api/watches").get_json() == {"watches": []}


@pytest.mark.parametrize("body,status,param", [
    ({"q": "megvii", "from": "2019-13"}, 400, "from"),
    ({"q": "megvii", "from": "2020", "to": "2019"}, 400, "from"),
    ({"q": "x" * 1001}, 400, "q"),
    ({"q": "megvii", "colour": "red"}, 400, "colour"),
    ({"q": "megvii", "name": ""}, 201, None),
    ({"q": "megvii", "name": "a\x00b"}, 400, "name"),
    ({"q": "megvii", "name": 5}, 400, "name"),
    ({"q": "megvii", "source": ["Reuters"] * 2 + ["x" * 201]}, 400, "source"),
    (["q"], 400, None),
])
def test_bad_watch_input_changes_nothing(client, body, status, param):
    r = client.post("/api/watches", json=body, headers=AUTH)
    assert r.status_code == status, r.get_json()
    if status >= 400:
        assert r.get_json()["error"]["param"] == param
        assert client.get("/api/watches").get_json()["watches"] == []


def test_duplicate_names_broken_syntax_rename_delete(client):
    first = client.post("/api/watches", json={"name": "Face", "q": '"face++ megvii'}, headers=AUTH)
    assert first.status_code == 201
    assert first.get_json()["q"] == "face++ megvii"  # stored as the plain words
    assert "quote" in first.get_json()["syntax_error"]
    dup = client.post("/api/watches", json={"name": "FACE", "q": "megvii"}, headers=AUTH)
    assert dup.status_code == 409 and dup.get_json()["error"] == {
        "code": "duplicate_name", "message": "a standing search is already called 'FACE'", "param": "name"}
    wid = first.get_json()["id"]
    other = client.post("/api/watches", json={"name": "Other", "q": "megvii"}, headers=AUTH).get_json()["id"]
    assert client.patch(f"/api/watches/{other}", json={"name": "face"}, headers=AUTH).status_code == 409
    assert client.patch(f"/api/watches/{wid}", json={"name": "Renamed"}, headers=AUTH).get_json()["name"] == "Renamed"
    assert client.post("/api/watches", data="q=x", headers=AUTH).status_code == 400  # not JSON
    assert client.delete(f"/api/watches/{wid}", headers=AUTH).status_code == 204
    assert client.delete(f"/api/watches/{wid}", headers=AUTH).status_code == 404
    assert client.get(f"/api/watches/{wid}/matches").status_code == 404
    assert client.get("/api/watches/abc").status_code == 404
    assert [w["name"] for w in client.get("/api/watches").get_json()["watches"]] == ["Other"]


def test_damaged_state_file_is_a_503_not_a_500(tmp_path, seed_index):
    index = tmp_path / "index"
    shutil.copytree(seed_index, index, symlinks=True)
    (index / "state.sqlite3").write_bytes(b"this is not a database" * 100)
    client = create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN}).test_client()
    r = client.get("/api/watches")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "state_unavailable"
    page = client.get("/watching")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert client.get("/api/search?q=megvii").status_code == 200  # searching is unaffected


@pytest.mark.parametrize("args", [
    {"q": "megvii"}, {"q": "megvii", "from": "2019-06"}, {"q": '"human rights"'}, {"q": ""},
    {"q": "megvii huawei"}, {"q": "surveil*", "source": "Biometric Update"},
])
def test_match_ids_equals_the_search_and_honours_ids(seed_index, args):
    from search.engine import SearchEngine
    from search.request import parse_search_request

    engine = SearchEngine(seed_index)
    req = parse_search_request({**args, "size": "100"})
    res = engine.search(req)
    # A standing search alerts on articles with all its words: the search's hits that
    # lack none (the search itself ranks partial matches after them).
    expected = {h.id for h in res.hits if not h.missing_words}
    some = frozenset(sorted(expected)[:2])
    assert engine.match_ids([req, replace(req, ids=some), replace(req, ids=frozenset())]) == [expected, some, set()]
