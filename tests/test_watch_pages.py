"""The Watching pages with Flask's test client: sign in once, CSRF on every form, escaping."""

from __future__ import annotations

import html
import re
import shutil

import pytest

from app import create_app
from conftest import SEEDS, run_indexer

TOKEN = "page-token-123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    corpus, index = tmp_path_factory.mktemp("p") / "corpus", tmp_path_factory.mktemp("p-index")
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    return index


@pytest.fixture()
def client(index):
    client = create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN}).test_client()
    yield client
    for w in client.get("/api/watches").get_json()["watches"]:
        client.delete(f"/api/watches/{w['id']}", headers={"Authorization": f"Bearer {TOKEN}"})


def text(r) -> str:
    return html.unescape(r.get_data(as_text=True))


def csrf(client, url="/watching") -> str:
    return CSRF.search(client.get(url).get_data(as_text=True)).group(1)


def test_read_only_without_a_token(index):
    client = create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": None}).test_client()
    html = client.get("/watching").get_data(as_text=True)
    assert "Read-only" in html and "NEWS_ADMIN_TOKEN" in html and 'name="token"' not in html
    assert "Read-only" in client.get("/watching/new?q=megvii").get_data(as_text=True)
    r = client.post("/watching/new", data={"q": "megvii", "name": "x", "csrf_token": "x"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "read_only"


def test_results_page_offers_to_watch_the_search(client):
    html = client.get("/search?q=megvii&from=2019&sort=newest").get_data(as_text=True)
    assert 'href="/watching/new?q=megvii&amp;from=2019"' in html


def test_sign_in_once_then_create_rename_delete(client):
    page = client.get("/watching/new?q=megvii&from=2019&source=Biometric+Update").get_data(as_text=True)
    assert 'name="token"' in page and 'value="Biometric Update"' in page
    token = CSRF.search(page).group(1)
    form = {"q": "megvii", "from": "2019", "source": "Biometric Update", "name": "<b>Megvii</b>",
            "csrf_token": token, "token": TOKEN}
    r = client.post("/watching/new", data=form)
    assert r.status_code == 303
    wid = int(r.headers["Location"].rsplit("/", 1)[1])
    w = client.get(f"/api/watches/{wid}").get_json()
    assert (w["name"], w["q"], w["from"], w["source"]) == ("<b>Megvii</b>", "megvii", "2019", ["Biometric Update"])
    html = client.get(f"/watching/{wid}").get_data(as_text=True)
    assert "&lt;b&gt;Megvii&lt;/b&gt;" in html and "<b>Megvii</b>" not in html
    assert "No new matches yet" in html and 'action="/watching/%d/delete"' % wid in html
    # signed in now: the next form does not ask for the token again
    assert 'name="token"' not in client.get("/watching/new?q=huawei").get_data(as_text=True)
    listing = client.get("/watching").get_data(as_text=True)
    assert "Signed in" in listing and f'href="/watching/{wid}"' in listing

    r = client.post(f"/watching/{wid}/rename", data={"name": "Megvii 2019", "csrf_token": token})
    assert r.status_code == 303 and client.get(f"/api/watches/{wid}").get_json()["name"] == "Megvii 2019"
    r = client.post(f"/watching/{wid}/delete", data={"csrf_token": token})
    assert r.status_code == 303 and client.get(f"/api/watches/{wid}").status_code == 404
    assert client.get(f"/watching/{wid}").status_code == 404


def test_forms_without_csrf_are_a_json_400(client):
    for url, data in (("/watching/new", {"q": "megvii", "token": TOKEN}),
                      ("/watching/sign-in", {"token": TOKEN}),
                      ("/watching/1/delete", {})):
        r = client.post(url, data=data)
        assert r.status_code == 400, url
        assert r.get_json()["error"] == {"code": "csrf_missing", "param": "csrf_token",
                                         "message": "the form has no CSRF token: reload the page and try again"}
    csrf(client)
    r = client.post("/watching/new", data={"q": "megvii", "token": TOKEN, "csrf_token": "forged"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf_invalid"
    assert client.get("/api/watches").get_json()["watches"] == []


def test_wrong_token_and_bad_input_change_nothing(client):
    token = csrf(client)
    r = client.post("/watching/sign-in", data={"token": "nope", "csrf_token": token})
    assert r.status_code == 403 and "not the operator's token" in text(r)
    r = client.post("/watching/new", data={"q": "megvii", "name": "m", "token": "nope", "csrf_token": token})
    assert r.status_code == 400 and "not the operator's token" in text(r)
    assert client.post("/watching/sign-in", data={"token": TOKEN, "csrf_token": token}).status_code == 303
    assert client.post("/watching/new", data={"q": "megvii", "name": "m", "csrf_token": token}).status_code == 303
    r = client.post("/watching/new", data={"q": "huawei", "name": "M", "csrf_token": token})
    assert r.status_code == 400 and "already called" in text(r)
    r = client.post("/watching/new", data={"q": "huawei", "from": "2019-13", "name": "h", "csrf_token": token})
    assert r.status_code == 400
    assert [w["name"] for w in client.get("/api/watches").get_json()["watches"]] == ["m"]
    # a session from another token is not signed in
    other = create_app({"INDEX_DIR": client.application.config["INDEX_DIR"], "ADMIN_TOKEN": "other"}).test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    assert 'name="token"' in other.get("/watching").get_data(as_text=True)
