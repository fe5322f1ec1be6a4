"""Watchlists: parsing uploads (table-driven), matching names on a real index, new matches
after a real indexer run, CSV download, and bad lists that change nothing."""

from __future__ import annotations

import csv
import io
import shutil

import pytest

from app import create_app
from conftest import SEEDS, run_indexer
from search.request import RequestError
from watch.watchlists import MAX_ROWS, decode, parse_rows, row_query

TOKEN = "list-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("text,expected", [
    ("Megvii\n\nHuawei\n", [("Megvii", (), 0, '"Megvii"'), ("Huawei", (), 0, '"Huawei"')]),
    ("name,variants,fuzzy\nMegvii,Kuangshi; Face++,1\n",
     [("Megvii", ("Kuangshi", "Face++"), 1, 'Megvii~1 OR Kuangshi~1 OR Face++~1')]),
    ("Name,Query\nRights groups,\"\"\"human rights\"\" -china\"\n",
     [("Rights groups", (), 0, '"human rights" -china')]),
    ("name,query\n,\"\"\"unclosed\"\n", [("\"unclosed", (), 0, "unclosed")]),
    ("Müller\n", [("Müller", (), 0, '"Müller"')]),  # analysis folds accents: one spelling
    ('Xi "Jinping"\n', [('Xi "Jinping"', (), 0, '"Xi Jinping"')]),
])
def test_parse_rows(text, expected):
    broken = lambda q: "unclosed quote" if q.count('"') % 2 else None  # noqa: E731 (the engine's answer here)
    assert [(r.name, r.variants, r.fuzzy, r.q) for r in parse_rows(text, broken)] == expected


@pytest.mark.parametrize("text,code", [
    ("", "empty_list"), ("\n \n", "empty_list"), ("name,variants\n", "empty_list"),
    ("\n".join(f"name {i}" for i in range(MAX_ROWS + 1)), "too_many_rows"),
    ("Megvii\nmegvii\n", "duplicate_row"),
    ("Müller\nMuller\n", "duplicate_row"),  # one search once accents are folded
    ("name,fuzzy\nMegvii,3\n", "invalid_row"),
    ("name,colour\nMegvii,red\n", "invalid_header"),
    ("x" * 201, "invalid_row"),
])
def test_bad_lists(text, code):
    with pytest.raises(RequestError) as err:
        parse_rows(text)
    assert err.value.code == code


def test_decode():
    assert decode("\ufeffMegvii\n".encode()) == "Megvii\n"
    for data in ("Müller".encode("latin-1"), b"\x00\x01binary"):
        with pytest.raises(RequestError) as err:
            decode(data)
        assert err.value.code == "invalid_encoding"


def test_row_query_variants_need_listing():
    assert row_query("Kuangshi", (), 0) == '"Kuangshi"'
    assert row_query("MEGVII", ("megvii",), 0) == '"MEGVII"'


@pytest.fixture()
def site(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    return corpus, index, create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN}).test_client()


LIST = ("name,variants,fuzzy\nMEGVII,,\nKuangshi,,\nKuangshi Technology,Megvíí,\nMegvi,,1\n"
        "Megvi exact,,\nHuman Rights Watch,,\n")


@pytest.mark.slow
def test_watchlist_rows_new_matches_and_csv(site):
    corpus, index, client = site
    r = client.post("/api/watchlists?name=Companies", data=LIST, headers=AUTH | {"Content-Type": "text/csv"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["rows"] == 6 and body["name"] == "Companies"
    got = client.get(f"/api/watchlists/{body['id']}").get_json()
    rows = {x["name"]: x for x in got["items"]}
    megvii = client.get("/api/search?q=megvii&sort=oldest&size=100").get_json()
    assert rows["MEGVII"]["total"] == megvii["total"] == 5
    assert rows["MEGVII"]["first_date"] == megvii["hits"][0]["date"]
    assert rows["MEGVII"]["last_date"] == megvii["hits"][-1]["date"]
    assert rows["MEGVII"]["sources"][0]["count"] == max(megvii["facets"]["source"].values())
    newest = client.get("/api/search?q=megvii&sort=newest&size=5").get_json()["hits"]
    assert [m["id"] for m in rows["MEGVII"]["newest"]] == [h["id"] for h in newest]
    assert rows["Kuangshi"]["total"] == 0  # a variant counts only when the row gives it
    assert rows["Kuangshi Technology"]["total"] == 5  # via the variant, accents folded
    assert (rows["Megvi"]["total"], rows["Megvi exact"]["total"]) == (5, 0)  # fuzzy 1 vs none
    hrw = client.get('/api/search?q="human rights watch"').get_json()["total"]
    assert rows["Human Rights Watch"]["total"] == hrw > 0
    assert all(x["new"] == 0 for x in got["items"])

    (corpus / "new.txt").write_text(
        "Megvii files for listing\n\nThe Beijing company Megvii filed again for a listing in Shanghai, "
        "people familiar with the matter said on Tuesday.\n", "utf-8")
    run_indexer(corpus, index, "--quiet")
    got = client.get(f"/api/watchlists/{body['id']}").get_json()
    new = {x["name"]: x["new"] for x in got["items"]}
    assert new == {"MEGVII": 1, "Kuangshi": 0, "Kuangshi Technology": 1, "Megvi": 1, "Megvi exact": 0,
                   "Human Rights Watch": 0}
    assert client.get("/api/watchlists").get_json()["watchlists"][0]["new"] == 3

    r = client.get(f"/api/watchlists/{body['id']}.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [t["name"] for t in table] == ["MEGVII", "Kuangshi", "Kuangshi Technology", "Megvi", "Megvi exact",
                                          "Human Rights Watch"]
    assert table[0]["total"] == "6" and table[0]["new"] == "1"
    # the page marks them seen
    assert "Kuangshi Technology" in client.get(f"/watchlists/{body['id']}").get_data(as_text=True)
    assert client.get("/api/watchlists").get_json()["watchlists"][0]["new"] == 0


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    index = tmp_path_factory.mktemp("wl-index")
    run_indexer(SEEDS, index, "--quiet")
    return create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN}).test_client()


@pytest.mark.parametrize("kwargs,status,code", [
    ({"data": "Megvii\n"}, 401, "unauthorized"),
    ({"data": "Megvii\n", "headers": {"Authorization": "Bearer nope"}}, 403, "forbidden"),
    ({"data": "", "headers": AUTH}, 400, "empty_list"),
    ({"data": "Müller\n".encode("latin-1"), "headers": AUTH}, 400, "invalid_encoding"),
    ({"data": "\n".join(f"n{i}" for i in range(MAX_ROWS + 1)), "headers": AUTH}, 400, "too_many_rows"),
    ({"data": b"x" * (3 * 1024 * 1024), "headers": AUTH}, 413, "http_error"),
    ({"data": {"file": (io.BytesIO(b""), "empty.csv")}, "headers": AUTH}, 400, "empty_list"),
])
def test_bad_uploads_change_nothing(client, kwargs, status, code):
    r = client.post("/api/watchlists", **kwargs)
    assert r.status_code == status
    assert r.get_json()["error"]["code"] == code
    assert client.get("/api/watchlists").get_json() == {"watchlists": []}


def test_multipart_upload_duplicate_name_and_delete(client):
    data = {"file": (io.BytesIO("name\nMegvii\nHuawei\n".encode()), "suppliers.csv")}
    r = client.post("/api/watchlists", data=data, headers=AUTH)
    assert r.status_code == 201 and r.get_json()["name"] == "suppliers" and r.get_json()["rows"] == 2
    again = {"file": (io.BytesIO(b"Megvii\n"), "SUPPLIERS.txt")}
    r2 = client.post("/api/watchlists", data=again, headers=AUTH)
    assert r2.status_code == 409 and r2.get_json()["error"]["code"] == "duplicate_name"
    list_id = r.get_json()["id"]
    assert client.delete(f"/api/watchlists/{list_id}", headers=AUTH).status_code == 204
    assert client.get(f"/api/watchlists/{list_id}").status_code == 404
    assert client.get(f"/api/watchlists/{list_id}.csv").status_code == 404
