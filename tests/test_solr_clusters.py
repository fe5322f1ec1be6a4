"""Story clusters on the Solr backend, next to the Whoosh backend on the same corpus: the
provenance corpus (an exact copy of seed 002 from another outlet, a syndicated copy of
seed 003), indexed twice by each sink with an edit in between, on a 2-shard collection
(each story on its story's shard: indexer/solr_routes.py)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from app import create_app
from provenance_corpus import NEAR, build_provenance_corpus, seed
from solr_cluster import index_into_solr, solr_cluster, solr_config  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clients(solr_cluster, tmp_path_factory):  # noqa: F811
    """{"whoosh": client, "solr": client} over the same corpus and the same two runs."""
    collection = solr_cluster.create_collection("stories", shards=2, replicas=2)
    state = tmp_path_factory.mktemp("stories-solr-state")
    corpus, index = build_provenance_corpus(
        tmp_path_factory.mktemp("stories") / "corpus", tmp_path_factory.mktemp("stories-index"),
        after_each=lambda c: index_into_solr(solr_cluster, c, state, collection))
    apps = {"whoosh": create_app({"INDEX_DIR": str(index)}),
            "solr": create_app(solr_config(solr_cluster, collection, state))}
    yield {k: a.test_client() for k, a in apps.items()}
    for a in apps.values():
        a.extensions["search_engine"].close()
    solr_cluster.admin(action="DELETE", name=collection)


def get(client, **args) -> dict:
    return client.get("/api/search?" + urlencode(args)).get_json()


@pytest.mark.parametrize("backend", ["whoosh", "solr"])
def test_exact_copy_is_one_story_first_published_marked(clients, backend):
    top = get(clients[backend], q="hikvision blacklisting")["hits"][0]
    assert top["path"] == seed("002").name
    cluster = top["cluster"]
    kinds = {m["id"]: m["kind"] for m in cluster["members"]}
    assert cluster["size"] == 2 and kinds[top["id"]] == "near" and sorted(kinds.values()) == ["exact", "near"]
    assert cluster["first_published"] == {"id": top["id"], "source": top["source"], "date": top["date"]}
    assert cluster["outlets"] == [top["source"], "Mirror Daily"]


@pytest.mark.parametrize("backend", ["whoosh", "solr"])
def test_syndicated_copy_collapses_into_one_hit(clients, backend):
    collapsed = get(clients[backend], q="megvii xinjiang assertion")
    paths = [h["path"] for h in collapsed["hits"]]
    assert seed("003").name in paths and NEAR not in paths
    hit = collapsed["hits"][paths.index(seed("003").name)]
    assert hit["cluster"]["first_published"]["id"] == hit["id"]
    assert [m["kind"] for m in hit["cluster"]["members"]] == ["near", "near"]
    assert hit["cluster"]["outlets"] == ["Bloomberg", "Example Wire"]
    every = get(clients[backend], q="megvii xinjiang assertion", copies="all")
    assert every["total"] == collapsed["total"] + 1 and NEAR in [h["path"] for h in every["hits"]]
    assert collapsed["facets"]["outlets"].get("2", 0) >= 1
    assert sum(collapsed["facets"]["outlets"].values()) == collapsed["total"]


@pytest.mark.parametrize("backend", ["whoosh", "solr"])
def test_the_copy_wins_when_only_it_matches(clients, backend):
    res = get(clients[backend], q="watchdog drops claim")
    assert [h["path"] for h in res["hits"]][:1] == [NEAR]
    assert res["hits"][0]["cluster"]["size"] == 2


@pytest.mark.parametrize("args", [
    {"q": "megvii"}, {"q": "megvii xinjiang assertion"}, {"q": "hikvision blacklisting"},
    {"q": "watchdog drops claim"}, {"q": ""}, {"q": "megvii", "sort": "newest"},
], ids=str)
def test_both_backends_collapse_the_same_stories(clients, args):
    w, s = (get(clients[b], size=100, **args) for b in ("whoosh", "solr"))
    assert s["total"] == w["total"]
    assert sorted(h["path"] for h in s["hits"]) == sorted(h["path"] for h in w["hits"])
    assert s["facets"]["outlets"] == w["facets"]["outlets"]
    clusters = {b: {h["path"]: h["cluster"] and h["cluster"]["members"] for h in d["hits"]}
                for b, d in (("w", w), ("s", s))}
    assert clusters["s"] == clusters["w"]


def test_article_lists_its_story(clients):
    w, s = clients["whoosh"], clients["solr"]
    hit = get(w, q="megvii xinjiang assertion")["hits"][0]
    wa, sa = (c.get(f"/api/articles/{hit['id']}").get_json() for c in (w, s))
    assert sa["cluster"] == wa["cluster"]
