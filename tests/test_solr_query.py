"""The Solr backend's pure parts, table-driven (no cluster needed): how a parsed query,
filters and Solr's answers are translated, and the configset's copy of the stopwords."""

from __future__ import annotations

from datetime import datetime

import pytest

from common.dates import PubDate
from common.solr_http import SolrClient, parse_solr_url
from conftest import ROOT
from indexer.solr_sink import solr_time
from search.backend import BackendConfigError, open_backend
from search.query import parse_query
from search.request import SearchRequest
from search.solr import MARK_POST, MARK_PRE, SolrBackend, edits_from, facets_from, spans_from_marked, suggestion_from
from search.solr_clusters import cluster_dicts, collapse_filter
from search.solr_query import edit_filters, escape_term, filter_queries, lucene_query, plan, query_params


@pytest.mark.parametrize("q,expected", [
    ("", "*:*"),
    ("megvii", "+(title:megvii^2 OR body:megvii)"),
    ("megvii inoperable", "+(title:megvii^2 OR body:megvii) +(title:inoperable^2 OR body:inoperable)"),
    ('"reverse engineered"', '+(title:"reverse engineered"^2 OR body:"reverse engineered")'),
    ("megvii -inoperable", "+(title:megvii^2 OR body:megvii) -(title:inoperable^2 OR body:inoperable)"),
    ("title:blacklisting", "+title:blacklisting^2"),
    ("zanzib*", "+(title:zanzib*^2 OR body:zanzib*)"),
    ("Face++", r"+(title:face\+\+^2 OR body:face\+\+)"),
    ("source:Bloomberg", '+source_key:"bloomberg"'),
    ("-megvii", "*:* -(title:megvii^2 OR body:megvii)"),
    ('megvii OR "meiya pico"', '+((title:megvii^2 OR body:megvii) OR (title:"meiya pico"^2 OR body:"meiya pico"))'),
])
def test_lucene_query_from_our_grammar(q, expected):
    assert lucene_query(parse_query(q)) == expected


def test_any_mode_makes_groups_optional_and_keeps_exclusions():
    assert lucene_query(parse_query("inoperable zanzibar -clove"), "any") == (
        "(title:inoperable^2 OR body:inoperable) (title:zanzibar^2 OR body:zanzibar) "
        "-(title:clove^2 OR body:clove)"
    )


M, I, Z = ("(title:megvii^2 OR body:megvii)", "(title:inoperable^2 OR body:inoperable)",
           "(title:zanzibar^2 OR body:zanzibar)")


@pytest.mark.parametrize("q,main,words,need,tier", [
    # search.relax's rule: 2+ relaxable words, or 1 beside a required clause; at least
    # one of them (min_match 0); all-words matches first for up to 3 words
    ("megvii", f"+{M}", [], 0, False),
    ("megvii inoperable", f"{M} {I}", ["megvii", "inoperable"], 1, True),
    ("megvii inoperable -zanzibar", f"{M} {I} -{Z}", ["megvii", "inoperable"], 1, True),
    ("title:blacklisting megvii", f"+title:blacklisting^2 {M}", ["megvii"], 1, True),
    ('"facial recognition" megvii', f'+(title:"facial recognition"^2 OR body:"facial recognition") {M}',
     ["megvii"], 1, True),
    ("megvii OR zanzibar inoperable", f"+({M} OR {Z}) {I}", ["inoperable"], 1, True),
    ("megvii OR zanzibar", f"+({M} OR {Z})", [], 0, False),
    ("bank loan rate megvii", None, ["bank", "loan", "rate", "megvii"], 1, False),
])
def test_relaxation_plan_follows_the_whoosh_rule(q, main, words, need, tier):
    p = plan(parse_query(q))
    if main is not None:
        assert p.q == main
    assert (p.words, p.need, p.tier) == (words, need, tier)


def test_relaxed_query_is_edismax_with_mm_and_a_tier_sort():
    params = dict(query_params(plan(parse_query("megvii inoperable")), "relevance"))
    assert params["defType"] == "edismax" and params["mm"] == "1"
    assert params["aw"] == f"+{M} +{I}"
    assert params["sort"].startswith("if(exists(query($aw)),0,1) asc,score desc")
    assert dict(query_params(plan(parse_query("megvii inoperable")), "newest"))["sort"] == "date_start desc,id asc"
    assert params["w1"] == "+" + I
    strict = dict(query_params(plan(parse_query("megvii inoperable"), all_words=True), "relevance"))
    assert strict["defType"] == "lucene" and strict["q"] == f"+{M} +{I}"


def test_unquoted_token_of_several_words_is_checked_word_by_word():
    p = plan(parse_query("U.N sanctions"))
    assert p.words == ["u n", "sanctions"]
    assert p.word_queries[0] == "+(title:u^2 OR body:u) +(title:n^2 OR body:n)"


@pytest.mark.parametrize("word,escaped", [
    ("u.s.", "u.s."), ("c#", "c#"), ("a:b", r"a\:b"), ("(x)", r"\(x\)"), ("x/y", r"x\/y"),
    ('say"hi', r'say\"hi'), ("a&&b", r"a\&\&b"), ("back\\slash", r"back\\slash"),
])
def test_escape_term(word, escaped):
    assert escape_term(word) == escaped


def test_filter_queries_overlap_at_precision():
    req = SearchRequest(date_from=PubDate.parse("2019-06"), date_to=PubDate.parse("2019-06-06"),
                        source=("Bloomberg",), tag=("China", "AI"))
    assert filter_queries(req) == [
        "kind:article",
        'source_key:("bloomberg")',
        'tag_keys:("china" OR "ai")',
        "{!tag=dt}date_start:[* TO 2019-06-06T23:59:59.999Z] AND date_end:[2019-06-01T00:00:00.000Z TO *]",
    ]
    assert filter_queries(SearchRequest()) == ["kind:article"]
    assert filter_queries(SearchRequest(ids=frozenset({"b2", "a1", "x,y"})))[-1] == "{!terms f=id}a1,b2"
    assert filter_queries(SearchRequest(ids=frozenset()))[-1] == "-*:*"


def test_solr_time_is_millisecond_utc():
    assert solr_time(datetime(2019, 12, 31, 23, 59, 59, 999999)) == "2019-12-31T23:59:59.999Z"
    assert solr_time(PubDate.parse("2019").start) == "2019-01-01T00:00:00.000Z"


@pytest.mark.parametrize("marked,text,spans", [
    (f"The {MARK_PRE}clove{MARK_POST} harvest", "The clove harvest", [(4, 9)]),
    (f"{MARK_PRE}a b{MARK_POST} and {MARK_PRE}c{MARK_POST}", "a b and c", [(0, 3), (8, 9)]),
    ("no marks", "no marks", []),
    (f"{MARK_PRE}x{MARK_POST}", "other text", []),  # not the stored text: no spans, never wrong ones
])
def test_spans_from_marked(marked, text, spans):
    assert spans_from_marked(marked, text) == spans


def test_facets_in_whoosh_order():
    data = {"facet_counts": {"facet_fields": {
        "year": {"2018": 1, "2019": 5}, "month": {"2019-05": 2, "2019-06": 2},
        "source": {"b": 2, "a": 2, "c": 3}, "tags": {},
    }}}
    assert facets_from(data) == {
        "year": {"2019": 5, "2018": 1}, "month": {"2019-06": 2, "2019-05": 2},
        "source": {"c": 3, "a": 2, "b": 2}, "tag": {},
    }


def test_suggestion_keeps_the_users_text():
    parsed = parse_query("Megvi survelance -x")
    data = {"spellcheck": {"suggestions": {
        "megvi": {"numFound": 1, "suggestion": ["megvii"]},
        "survelance": {"numFound": 2, "suggestion": [{"word": "surveillance", "freq": 3}]},
    }}}
    assert suggestion_from(data, parsed) == "megvii surveillance -x"
    assert suggestion_from({"spellcheck": {"suggestions": {}}}, parsed) is None


@pytest.mark.parametrize("value,urls", [
    ("http://h1:8983/solr", ["http://h1:8983/solr"]),
    ("http://h1:8983/solr/, http://h2:8984/solr", ["http://h1:8983/solr", "http://h2:8984/solr"]),
    ("https://search.example/solr", ["https://search.example:443/solr"]),
])
def test_solr_url_lists_nodes(value, urls):
    assert [n.url for n in parse_solr_url(value)] == urls


@pytest.mark.parametrize("config,words", [
    ({"SEARCH_BACKEND": "solr"}, "needs SOLR_URL"),
    ({"SEARCH_BACKEND": "solr", "SOLR_URL": "h1:8983"}, "not an http"),
    ({"SEARCH_BACKEND": "solr", "SOLR_URL": "http://h:1/solr", "SOLR_COLLECTION": "a/b"}, "not a collection name"),
])
def test_bad_solr_config_says_what_is_wrong(config, words):
    with pytest.raises(BackendConfigError, match=words):
        open_backend(config)


def test_solr_is_chosen_by_configuration():
    backend = open_backend({"SEARCH_BACKEND": "Solr", "SOLR_URL": "http://127.0.0.1:9/solr", "SOLR_COLLECTION": "x"})
    assert isinstance(backend, SolrBackend) and backend.client.collection == "x"
    assert isinstance(SolrClient("http://127.0.0.1:9/solr"), SolrClient)


def test_configset_stopwords_are_the_repos():
    assert (ROOT / "solr" / "configset" / "stopwords.txt").read_text("utf-8") == \
        (ROOT / "common" / "stopwords.txt").read_text("utf-8")


def test_unreachable_solr_is_503_json():
    """No node answers: every route gives the one JSON error shape (details only in the log)."""
    from app import create_app

    app = create_app({"SEARCH_BACKEND": "solr", "SOLR_URL": "http://127.0.0.1:9/solr"})
    client = app.test_client()
    for path in ("/api/search?q=x", "/healthz", "/api/stats", "/api/articles/x", "/search.atom"):
        r = client.get(path)
        assert r.status_code == 503, path
        err = r.get_json()["error"]
        assert err["code"] == "index_unavailable" and "127.0.0.1" not in err["message"]
    app.extensions["search_engine"].close()


@pytest.mark.parametrize("argv,words", [
    (["--sink", "solr"], "needs --solr-url"),
    (["--sink", "solr", "--solr-url", "localhost:8983"], "not an http"),
    (["--sink", "solr", "--solr-url", "http://h:1/solr", "--solr-collection", "a/b"], "not a collection name"),
])
def test_indexer_refuses_bad_solr_arguments(argv, words, tmp_path, capsys, monkeypatch):
    from indexer.__main__ import main

    monkeypatch.delenv("SOLR_URL", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["--corpus", str(tmp_path), "--index", str(tmp_path / "state"), *argv])
    assert exc.value.code == 2 and words in capsys.readouterr().err


def test_collapse_prefers_all_words_then_first_published():
    relaxed = plan(parse_query("megvii inoperable"))
    assert collapse_filter(SearchRequest(q="megvii inoperable"), relaxed) == (
        "{!collapse tag=collapse field=cluster nullPolicy=expand "
        "sort='if(exists(query($aw)),0,1) asc,date_start asc,first_seen asc,id asc'}")
    assert collapse_filter(SearchRequest(q="megvii"), plan(parse_query("megvii"))) == (
        "{!collapse tag=collapse field=cluster nullPolicy=expand sort='date_start asc,first_seen asc,id asc'}")
    assert collapse_filter(SearchRequest(q="megvii inoperable", copies="all"), relaxed) is None
    assert collapse_filter(SearchRequest(q="megvii", ids=frozenset({"a"})), relaxed) is None  # watch sees each


def test_cluster_dicts_list_stories_of_two_or_more():
    docs = [{"id": "a", "kind": "article", "source": "Bloomberg", "date": "2019-06-05", "cluster": "a"},
            {"id": "b", "kind": "duplicate", "source": "bloomberg", "date": "2019-06-06", "cluster": "a"},
            {"id": "c", "kind": "article", "source": "Wire", "cluster": "a"},
            {"id": "d", "kind": "article", "source": "Alone", "cluster": "d"}]
    out = cluster_dicts(docs)
    assert list(out) == ["a"]
    assert out["a"]["size"] == 3 and out["a"]["outlets"] == ["Bloomberg", "Wire"]
    assert out["a"]["first_published"] == {"id": "a", "source": "Bloomberg", "date": "2019-06-05"}
    assert [m["kind"] for m in out["a"]["members"]] == ["near", "exact", "near"]


@pytest.mark.parametrize("args,fqs", [
    ({}, []),
    ({"changed": True}, ["changed:true"]),
    ({"headline_changed": True}, ["headline_changed:true"]),
    ({"changed": True, "headline_changed": True}, ["changed:true", "headline_changed:true"]),
], ids=str)
def test_version_filters_are_filter_queries(args, fqs):
    """The fields the sink keeps (indexer/solr_edits.py), filtered like any other field."""
    assert edit_filters(SearchRequest(**args)) == fqs


@pytest.mark.parametrize("queries,edits", [
    ({}, {}),
    ({"changed": 0, "headline_changed": 0, "undated": 3}, {}),
    ({"changed": 4, "headline_changed": 0}, {"changed": 4}),
    ({"changed": 4, "headline_changed": 3}, {"changed": 4, "headline_changed": 3}),
], ids=str)
def test_edits_facet_from_facet_queries(queries, edits):
    """Zero counts are left out, as search.clusters.facets leaves them out on Whoosh."""
    assert edits_from({"facet_counts": {"facet_queries": queries}}) == edits
