"""Article versions, diffs and the version filters on the Solr backend, next to the Whoosh
backend on the same corpus and runs: the provenance corpus (seed 003 and a hostile page
edited between two runs of each sink), then a third run after the page of seed 004 is
saved again under a new file name with a new headline: a version of a story whose first
article Solr already holds (the sink's atomic update). A 2-shard collection; version
filters are compared with ``copies=all`` (Solr collapses stories per shard: README)."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import urlencode

import pytest

from app import create_app
from common.layout import STATE_DB
from indexer.pipeline import doc_id_for
from conftest import SEEDS, run_indexer
from provenance_corpus import HOSTILE, add_manifest, build_provenance_corpus, seed
from solr_cluster import index_into_solr, solr_cluster, solr_config  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow

RESCRAPE = "rescrape/004-again.txt"
OLD_LEAD, NEW_LEAD = "Verifying your identity through facial recognition", "Checking your identity with a face scan"


def rescrape(corpus) -> None:
    """Seed 004's page saved again under another name (same address), its lead rewritten."""
    (corpus / RESCRAPE).parent.mkdir()
    text = seed("004").read_text("utf-8")
    assert OLD_LEAD in text
    (corpus / RESCRAPE).write_text(text.replace(OLD_LEAD, NEW_LEAD), "utf-8")
    url = next(json.loads(line)["url"] for line in (SEEDS / "manifest.jsonl").read_text("utf-8").splitlines()
               if json.loads(line)["file"] == seed("004").name)
    add_manifest(corpus, [{"file": RESCRAPE, "url": url}])


@pytest.fixture(scope="module")
def clients(solr_cluster, tmp_path_factory):  # noqa: F811
    """{"whoosh": client, "solr": client} after the same three runs of each sink."""
    collection = solr_cluster.create_collection("versions")
    state = tmp_path_factory.mktemp("versions-solr-state")
    corpus, index = build_provenance_corpus(
        tmp_path_factory.mktemp("versions") / "corpus", tmp_path_factory.mktemp("versions-index"),
        after_each=lambda c: index_into_solr(solr_cluster, c, state, collection))
    rescrape(corpus)
    run_indexer(corpus, index, "--quiet")
    # A sink run that records the new version, then cannot reach Solr: nothing confirmed.
    failed = run_indexer(corpus, state, "--quiet", "--sink", "solr", "--solr-url", "http://127.0.0.1:9/solr",
                         "--solr-collection", collection, check=False)
    with sqlite3.connect(state / STATE_DB) as con:
        recorded = con.execute("SELECT COUNT(*) FROM versions WHERE doc_id = ?", (doc_id_for(RESCRAPE),)).fetchone()[0]
    index_into_solr(solr_cluster, corpus, state, collection)
    apps = {"whoosh": create_app({"INDEX_DIR": str(index)}),
            "solr": create_app(solr_config(solr_cluster, collection, state))}
    yield {k: a.test_client() for k, a in apps.items()} | {"failed_run": (failed.returncode, recorded)}
    for a in apps.values():
        a.extensions["search_engine"].close()
    solr_cluster.admin(action="DELETE", name=collection)


def get(client, **args) -> dict:
    r = client.get("/api/search?" + urlencode(args))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def ids_of(client, path: str) -> str:
    return next(h["id"] for h in get(client, size=100, copies="all")["hits"] if h["path"] == path)


@pytest.mark.parametrize("backend", ["whoosh", "solr"])
def test_edited_article_has_two_versions_and_a_diff(clients, backend):
    c = clients[backend]
    doc_id = ids_of(c, seed("003").name)
    art = c.get(f"/api/articles/{doc_id}").get_json()
    assert [v["title"] for v in art["versions"]] == [
        "Rights Group Corrects Report Linking Megvii to Xinjiang Police", "Rights Group Retracts Megvii Claim"]
    html = c.get(f"/api/articles/{doc_id}/diff?from=0&to=1").get_json()["html"]
    assert "<del>withdrawn</del>" in html and "<ins>withdrew</ins>" in html
    assert "<del>Corrects Report Linking</del><ins>Retracts</ins>" in html
    page = c.get(f"/articles/{doc_id}").get_data(as_text=True)
    assert "2 versions" in page and "<ins>withdrew</ins>" in page


@pytest.mark.parametrize("path", [seed("003").name, HOSTILE, seed("004").name, RESCRAPE, seed("000").name])
def test_versions_and_diffs_equal_on_both_backends(clients, path):
    w, s = clients["whoosh"], clients["solr"]
    doc_id = ids_of(w, path)
    assert ids_of(s, path) == doc_id
    wa, sa = (c.get(f"/api/articles/{doc_id}").get_json()["versions"] for c in (w, s))
    assert [{k: v for k, v in x.items() if k != "seen"} for x in sa] == \
        [{k: v for k, v in x.items() if k != "seen"} for x in wa]
    for old, new in [(0, len(wa) - 1), (len(wa) - 1, 0)]:
        wd, sd = (c.get(f"/api/articles/{doc_id}/diff?from={old}&to={new}").get_json() for c in (w, s))
        assert sd == wd


@pytest.mark.parametrize("args", [
    {"changed": "true"}, {"headline_changed": "true"}, {"changed": "true", "q": "megvii"},
    {"changed": "true", "headline_changed": "true", "q": "facial recognition"}, {"q": "megvii"}, {},
], ids=str)
def test_version_filters_find_the_same_ids(clients, args):
    w, s = (get(clients[b], size=100, copies="all", **args) for b in ("whoosh", "solr"))
    assert s["total"] == w["total"]
    assert sorted(h["id"] for h in s["hits"]) == sorted(h["id"] for h in w["hits"])
    assert s["facets"]["edits"] == w["facets"]["edits"]


def test_a_version_under_another_file_marks_the_article_sent_earlier(clients):
    """Seed 004 was not sent again in the third run: only the sink's atomic update marks it,
    sent by the run after one that recorded the version but could not reach Solr."""
    assert clients["failed_run"] == (1, 1)
    expected = sorted([seed("003").name, HOSTILE, seed("004").name, RESCRAPE])
    for backend in ("whoosh", "solr"):
        changed = get(clients[backend], size=100, copies="all", changed="true")
        assert sorted(h["path"] for h in changed["hits"]) == expected
        headline = get(clients[backend], size=100, copies="all", headline_changed="true")
        assert sorted(h["path"] for h in headline["hits"]) == sorted([seed("003").name, seed("004").name, RESCRAPE])
        assert changed["facets"]["edits"] == {"changed": 4, "headline_changed": 3}


def test_default_search_collapses_and_filters_on_solr(clients):
    res = get(clients["solr"], q='"quietly withdrew"', changed="true")
    assert [h["path"] for h in res["hits"]] == [seed("003").name]
    assert res["facets"]["edits"] == {"changed": 1, "headline_changed": 1}


@pytest.mark.parametrize("query,param", [("from=0&to=2", "to"), ("from=5&to=0", "from"), ("to=1", "from")])
def test_bad_diff_indexes_are_400_on_solr(clients, query, param):
    doc_id = ids_of(clients["solr"], seed("003").name)
    r = clients["solr"].get(f"/api/articles/{doc_id}/diff?{query}")
    assert r.status_code == 400 and r.get_json()["error"]["param"] == param
    page = clients["solr"].get(f"/articles/{doc_id}/diff?{query}")
    assert page.status_code == 400 and "text/html" in page.content_type


def test_diff_of_unknown_article_is_404_on_solr(clients):
    r = clients["solr"].get("/api/articles/nope/diff?from=0&to=1")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_csv_and_atom_filter_changed_articles_alike(clients):
    """The CSV export and the feed are built on search: the same changed articles on both backends."""
    out = {}
    for backend in ("whoosh", "solr"):
        c = clients[backend]
        csv = c.get("/search.csv?changed=true&copies=all")
        assert csv.status_code == 200
        rows = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()[1:]
        feed = c.get("/search.atom?changed=true&copies=all")
        assert feed.status_code == 200
        out[backend] = (sorted(r.split(",")[0] for r in rows), feed.get_data(as_text=True).count("<entry>"),
                        csv.headers["X-Total-Count"])
    assert out["solr"] == out["whoosh"]
    assert len(out["solr"][0]) == 4 and out["solr"][1:] == (4, "4")
