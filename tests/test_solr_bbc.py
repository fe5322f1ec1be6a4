"""Both backends on the BBC set (2,225 articles, exact copies among them), through the real
app: the same matches (ids, titles, dates), the same totals and facets; rankings may differ.

Every copy (copies=all) and the API's defaults (story clusters collapsed) on the usual
2-shard collection: every member of a story sits on its story's shard
(indexer/solr_routes.py), so each story shows once, as on Whoosh."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import pytest

from app import create_app
from search.request import parse_search_request
from conftest import SHARED_DATA, run_indexer
from datasets import write_bbc_corpus
from solr_cluster import index_into_solr, solr_cluster, solr_config  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow

QUERIES = [
    {"q": "economy"},
    {"q": "economy growth"},  # relaxed: all-words matches first, then either word
    {"q": "blair election campaign -brown"},
    {"q": "mobile broadband wireless internet"},  # 4 words: one tier, by score
    {"q": "econom* growth"},  # a prefix stays required, the word is relaxed
    {"q": "football manager"},
    {"q": '"prime minister"'},
    {"q": "blair -election"},
    {"q": "mobile OR broadband"},
    {"q": "oil price", "sort": "newest"},
    {"q": "film award", "sort": "oldest"},
    {"q": "econom*"},
    {"q": "title:chelsea"},
    {"q": "zzqx unknownword"},
]


@pytest.fixture(scope="module")
def clients(solr_cluster, tmp_path_factory):  # noqa: F811
    """(whoosh, solr on 2 shards) clients over the same BBC corpus, each built by the real indexer."""
    if not (SHARED_DATA / "bbc" / "docs.jsonl.gz").exists():
        pytest.skip("../shared/data/bbc is missing")
    corpus = tmp_path_factory.mktemp("bbc-both") / "bbc"
    write_bbc_corpus(corpus)
    index = tmp_path_factory.mktemp("bbc-whoosh")
    run_indexer(corpus, index, "--quiet")
    apps = [create_app({"INDEX_DIR": str(index)})]
    state = tmp_path_factory.mktemp("bbc-solr-state")
    collection = solr_cluster.create_collection("bbc", shards=2)
    index_into_solr(solr_cluster, corpus, state, collection)
    apps.append(create_app(solr_config(solr_cluster, collection, state)))
    yield [a.test_client() for a in apps]
    for a in apps:
        a.extensions["search_engine"].close()


SHARED_FACETS = ("year", "month", "source", "tag")
MAX_MATCHES = 1000


def page_json(client, args: dict) -> dict:
    """One page of results as the API's JSON."""
    return client.get("/api/search?" + urlencode(args)).get_json()


def every_match(client, args: dict) -> tuple[dict, dict[tuple, tuple]]:
    """(first page as the API's JSON, what every match is). The matches are read in one
    library call (size is bounded only in the API): pages of a relevance order that the
    Whoosh backend's proximity re-rank computes per depth can repeat or skip a hit at a
    page boundary.

    Every copy: id -> (path, title, date, precision, duplicates, missing words). Collapsed:
    story (its members' ids) -> (size, outlets). Which member stands for a story may
    differ: among undated members (all of BBC) the first recorded wins, and each backend's
    indexer recorded them in its own run, in its own order."""
    first = page_json(client, {**args, "size": 100})
    engine = client.application.extensions["search_engine"]
    req = replace(parse_search_request({k: [str(v)] for k, v in args.items()}), size=MAX_MATCHES)
    hits = engine.search(req).hits
    if req.copies == "all":
        return first, {(h.id,): (h.path, h.title, h.date, h.date_precision, tuple(h.duplicates),
                                 tuple(h.missing_words)) for h in hits}
    return first, {story(h): (h.cluster["size"], tuple(sorted(h.cluster["outlets"]))) if h.cluster else (1, ())
                   for h in hits}


def story(hit) -> tuple[str, ...]:
    """A hit's story: its cluster's member ids, or the hit alone."""
    return tuple(sorted(m["id"] for m in hit.cluster["members"])) if hit.cluster else (hit.id,)


@pytest.mark.parametrize("copies", ["all", "collapse"])
@pytest.mark.parametrize("args", QUERIES, ids=[str(a) for a in QUERIES])
def test_same_matches_totals_and_facets(clients, args, copies):
    whoosh, solr = clients
    args = args if copies == "collapse" else {**args, "copies": copies}  # collapse: the default
    (w, w_found), (s, s_found) = (every_match(c, args) for c in (whoosh, solr))
    assert s["total"] == w["total"] and len(w_found) == min(w["total"], MAX_MATCHES)
    assert s_found == w_found  # the same articles (ids, paths, titles, dates, copies, missing words) or stories
    assert s["matching"] == w["matching"] and s["fallback"] == w["fallback"]  # the same relaxation
    assert {k: s["facets"][k] for k in SHARED_FACETS} == {k: w["facets"][k] for k in SHARED_FACETS}
    if copies == "collapse":
        assert s["facets"]["outlets"] == w["facets"]["outlets"]
    for d in (w, s):  # all-words matches first (up to 3 relaxed words), on both
        partial = [bool(h["missing_words"]) for h in d["hits"]]
        if len(d["matching"]["relaxed"]) <= 3 and args.get("sort") is None:
            assert partial == sorted(partial)
    if args.get("sort") in ("newest", "oldest") and copies == "all":
        assert [h["id"] for h in s["hits"]] == [h["id"] for h in w["hits"]]  # dates order, ids break ties


def test_same_article_and_stats(clients):
    w, s = clients
    hit = w.get("/api/search?q=economy").get_json()["hits"][0]
    wa, sa = (c.get(f"/api/articles/{hit['id']}?q=economy").get_json() for c in (w, s))
    for key in ("id", "path", "title", "date", "text", "duplicates"):
        assert sa[key] == wa[key], key
    members = [sorted(m["id"] for m in (a["cluster"] or {}).get("members", [])) for a in (wa, sa)]
    assert members[0] == members[1]
    assert "<mark>" in sa["text_html"] and len(sa["related"]) > 0
    ws, ss = (c.get("/api/stats").get_json() for c in (w, s))
    for key in ("documents", "duplicates", "skipped_files", "undated"):
        assert ss[key] == ws[key], key


def test_every_story_shows_once_on_two_shards(clients):
    """The whole archive, collapsed: no story twice (26 of 2,056 showed twice when documents
    were routed by id), the same stories as Whoosh, and each story's members on one shard."""
    whoosh, solr = clients
    stories = {}
    for name, client in (("whoosh", whoosh), ("solr", solr)):
        engine = client.application.extensions["search_engine"]
        hits = engine.search(replace(parse_search_request({}), size=5000)).hits
        stories[name] = [story(h) for h in hits]
    assert len(set(stories["solr"])) == len(stories["solr"]) == solr.get("/api/search").get_json()["total"]
    assert sorted(stories["solr"]) == sorted(stories["whoosh"])
    assert sum(len(s) > 1 for s in stories["solr"]) > 20  # BBC has real multi-member stories
    sc = solr.application.extensions["search_engine"].client
    shard_of = {}
    for shard in ("shard1", "shard2"):
        data = sc.get("select", [("q", "*:*"), ("fq", "kind:(article OR duplicate)"), ("shards", shard),
                                 ("fl", "id,cluster"), ("rows", "10000")])
        for d in data["response"]["docs"]:
            assert d["id"] not in shard_of
            shard_of[d["id"]] = (d["cluster"], shard)
    assert len({(c, s) for c, s in shard_of.values()}) == len({c for c, _ in shard_of.values()})
