"""Watchlist totals cached per index state (watch/totals.py): a read at the same index
state searches nothing; a real indexer run that adds or removes a matching article
changes the state, and the next read shows the new totals."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from app import create_app
from common.layout import STATE_DB
from conftest import SEEDS, run_indexer
from search.engine import SearchEngine

TOKEN = "cache-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW_STORY = ("Megvii files for listing\n\nThe Beijing company Megvii filed again for a listing in Shanghai, "
             "people familiar with the matter said on Tuesday.\n")


@pytest.fixture()
def site(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    return corpus, index, create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN}).test_client()


def stored(index) -> dict[int, tuple[str, dict]]:
    """The cached rows as the store holds them: {row: (index state, totals)}."""
    con = sqlite3.connect(index / STATE_DB)
    try:
        return {row: (state, json.loads(t)) for row, state, t in con.execute("SELECT row, index_state, totals FROM row_totals")}
    finally:
        con.close()


def plant(index, row: int, total: int) -> None:
    """Overwrite one cached total, so a read that serves the cache shows it."""
    con = sqlite3.connect(index / STATE_DB)
    try:
        with con:
            con.execute("UPDATE row_totals SET totals = json_set(totals, '$.total', ?) WHERE row = ?", (total, row))
    finally:
        con.close()


def live_state(index) -> str:
    engine = SearchEngine(index)
    try:
        state = engine.index_state()
        return f"{state.version}:{state.generation}"
    finally:
        engine.close()


def totals_of(client, list_id: int) -> dict[str, int]:
    return {x["name"]: x["total"] for x in client.get(f"/api/watchlists/{list_id}").get_json()["items"]}


@pytest.mark.slow
def test_totals_cached_until_a_run_changes_the_index(site):
    corpus, index, client = site
    r = client.post("/api/watchlists", data=b"Megvii\nHuman Rights Watch\nHuawei\n", headers=AUTH)
    list_id = r.get_json()["id"]
    first = totals_of(client, list_id)
    assert first["Megvii"] == 5 and first["Human Rights Watch"] > 0
    state = live_state(index)
    assert {row: s for row, (s, _t) in stored(index).items()} == {1: state, 2: state, 3: state}
    assert stored(index)[1][1]["total"] == 5

    plant(index, 1, 999)  # served from the cache: no search would find 999
    assert totals_of(client, list_id)["Megvii"] == 999
    csv_text = client.get(f"/api/watchlists/{list_id}.csv").get_data(as_text=True)
    assert ",999," in csv_text

    run_indexer(corpus, index, "--quiet")  # nothing changed: no commit, the cache stays
    assert live_state(index) == state and totals_of(client, list_id)["Megvii"] == 999

    (corpus / "new.txt").write_text(NEW_STORY, "utf-8")
    run_indexer(corpus, index, "--quiet")
    after = totals_of(client, list_id)
    assert after == first | {"Megvii": 6}
    new_state = live_state(index)
    assert new_state != state and {s for s, _t in stored(index).values()} == {new_state}
    assert client.get(f"/api/watchlists/{list_id}").get_json()["items"][0]["new"] == 1  # not cached

    (corpus / "new.txt").unlink()  # a removal is a commit too (the journal only lists additions)
    run_indexer(corpus, index, "--quiet")
    assert totals_of(client, list_id) == first


@pytest.mark.slow
def test_a_page_caches_its_rows_and_deleting_drops_them(site):
    _corpus, index, client = site
    list_id = client.post("/api/watchlists", data=b"Megvii\nHikvision\n", headers=AUTH).get_json()["id"]
    page = client.get(f"/api/watchlists/{list_id}?size=1&page=2").get_json()["items"]
    assert [x["name"] for x in page] == ["Hikvision"] and page[0]["total"] > 0
    assert list(stored(index)) == [2]  # only the rows read are searched and kept
    assert totals_of(client, list_id)["Megvii"] == 5 and sorted(stored(index)) == [1, 2]
    assert client.delete(f"/api/watchlists/{list_id}", headers=AUTH).status_code == 204
    assert stored(index) == {}
