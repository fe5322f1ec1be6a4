"""Searches on a real index of the seeds (+2 exact copies of seed 000, +1 hostile page),
on both backends: the Whoosh index and the same corpus indexed into a local SolrCloud."""

from __future__ import annotations

import pytest

from search.backend import open_backend
from search.request import SearchRequest, parse_search_request
from search_fixtures import search_index  # noqa: F401  (session fixture)
from solr_cluster import solr_cluster, solr_search_config  # noqa: F401  (session fixtures)


@pytest.fixture(scope="module", params=["whoosh", "solr"])
def engine(request, search_index):  # noqa: F811
    if request.param == "solr":
        eng = open_backend(request.getfixturevalue("solr_search_config"))
    else:
        eng = open_backend({"INDEX_DIR": str(search_index)})
    yield eng
    eng.close()


def run(engine, **args):
    return engine.search(parse_search_request({k: v for k, v in args.items()}))


def seeds_of(res) -> list[str]:
    return sorted(h.path[:3] for h in res.hits)


def test_face_plus_plus_is_a_word_not_face(engine):
    res = run(engine, q="Face++")
    assert seeds_of(res) == ["000", "001", "003", "004"]
    assert "<mark>Face++</mark>" in " ".join(h.snippet for h in res.hits)
    assert len(run(engine, q="face").hits) < len(run(engine, q="megvii").hits) + 1


def test_phrase_only_one_article_has(engine):
    res = run(engine, q='"reverse engineered"')
    assert seeds_of(res) == ["001"]
    assert "<mark>reverse engineered</mark>" in res.hits[0].snippet


def test_all_words_first_then_partial_matches(engine):
    both = run(engine, q="megvii inoperable")
    assert both.fallback is None
    assert [h.path[:3] for h in both.hits[:3]] and sorted(h.path[:3] for h in both.hits[:3]) == ["000", "003", "004"]
    assert all(h.missing_words == [] for h in both.hits[:3])
    assert sorted(h.path[:3] for h in both.hits[3:]) == ["001", "002"]
    assert all(h.missing_words == ["inoperable"] for h in both.hits[3:])
    assert both.total == 5 and both.matching["all_words_total"] == 3
    assert both.matching["relaxed"] == ["megvii", "inoperable"] and both.matching["required"] == []
    anyw = run(engine, q="inoperable zanzibar")
    assert anyw.fallback == "any_words" and anyw.matching["all_words_total"] == 0
    assert set(seeds_of(anyw)) == {"000", "003", "004", "zz_"}


def test_exclusion_or_title_prefix(engine):
    assert seeds_of(run(engine, q="megvii -inoperable")) == ["001", "002"]
    assert seeds_of(run(engine, q='"meiya pico" OR zanzibar')) == ["002", "004", "zz_"]
    titles = run(engine, q="title:blacklisting")
    assert seeds_of(titles) == ["002"]
    assert seeds_of(run(engine, q="zanzib*")) == ["zz_"]


@pytest.mark.parametrize("q", ['"unclosed quote megvii', "megvii -", "title:", "title: megvii"])
def test_broken_syntax_falls_back_to_plain_words(engine, q):
    res = run(engine, q=q)
    assert res.syntax_error
    assert res.to_dict()["syntax_error"] == res.syntax_error


def test_library_restrictions_all_words_and_ids(engine):
    """watch/'s library-only options, on both backends: every word required; only given ids."""
    strict = engine.search(SearchRequest(q="megvii inoperable", all_words=True))
    assert strict.total == 3 and strict.fallback is None and all(not h.missing_words for h in strict.hits)
    assert strict.matching["required"] == ["megvii", "inoperable"] and strict.matching["relaxed"] == []
    loose = run(engine, q="megvii inoperable")
    partial = frozenset(h.id for h in loose.hits if h.missing_words)
    assert len(partial) == 2
    assert {h.id for h in engine.search(SearchRequest(q="megvii inoperable", ids=partial)).hits} == partial
    assert engine.search(SearchRequest(q="megvii", ids=frozenset())).total == 0
    everyone = frozenset(h.id for h in loose.hits)
    assert engine.match_ids([SearchRequest(q="megvii inoperable", ids=everyone),
                             SearchRequest(q="megvii", ids=partial)]) == [{h.id for h in strict.hits}, set(partial)]


EXPLAIN_KEYS = {"words", "clauses", "bm25f", "relaxation", "proximity", "score"}
FIELD_KEYS = {"tf", "weight", "length", "avg_length", "b", "length_norm", "x"}


def test_explain_breaks_each_score_down_in_one_shape(engine):
    """Both backends: each ranked hit's score as word parts per field plus other clauses,
    adding up to the hit's score (Solr's from its own explanation, Whoosh's from BM25F)."""
    res = run(engine, q='megvii blacklisting "facial recognition"', explain="true")
    assert res.hits
    for h in res.hits:
        e = h.explain
        assert EXPLAIN_KEYS <= set(e) and e["score"] == pytest.approx(h.score, abs=2e-4)
        assert sum(w["score"] for w in e["words"]) + sum(c["score"] for c in e["clauses"]) == \
            pytest.approx(e["bm25f"], abs=3e-4)
        assert {w["term"] for w in e["words"]} <= {"megvii", "blacklist"} and e["words"]
        for w in e["words"]:
            assert w["idf"] > 0 and w["fields"] and set(w["fields"]) <= {"title", "body"}
            for f in w["fields"].values():
                assert FIELD_KEYS <= set(f) and f["tf"] >= 1
                assert f["x"] == pytest.approx(f["weight"] * f["tf"] / f["length_norm"], rel=1e-3)
        assert e["clauses"] and 'body:"facial recognit"' in e["clauses"][0]["clause"]  # the phrase (stems)
        assert set(e["proximity"]) == {"share", "slop", "boost", "factor", "applied"}
    assert "explain" in res.to_dict()["hits"][0]
    assert all(h.explain is None for h in run(engine, q="megvii", sort="newest", explain="true").hits)


def test_explain_says_which_hits_lack_a_word(engine):
    res = run(engine, q="megvii inoperable", explain="true")
    for h in res.hits:
        r = h.explain["relaxation"]
        assert r["missing_words"] == h.missing_words
        assert r["all_words"] == (not h.missing_words) and r["ranked_first"] == (not h.missing_words)
        assert {w["term"] for w in h.explain["words"]} == ({"megvii"} if h.missing_words else {"megvii", "inoper"})


def test_all_stopword_query_finds_something(engine):
    res = run(engine, q="the who")
    assert res.total > 0 and res.ignored_words == []
    assert run(engine, q="the megvii").ignored_words == ["the"]


@pytest.mark.parametrize(
    "q,suggestion", [("megvi", "megvii"), ("survelance", "surveillance"), ("megvi survelance", "megvii surveillance")]
)
def test_did_you_mean(engine, q, suggestion):
    res = run(engine, q=q)
    assert res.suggestion == suggestion
    assert run(engine, q=suggestion).total > 0


def test_no_suggestion_for_known_words(engine):
    assert run(engine, q="megvii").suggestion is None


@pytest.mark.parametrize(
    "frm,to,expected",
    [
        ("2019-06", "2019-06", ["000", "003", "004"]),  # 003 is year-only: 2019 overlaps June
        ("2019-06-06", "2019-06-06", ["000", "003"]),
        ("2019-05", "2019-05", ["001", "002", "003"]),
        ("2019-06-07", None, ["003", "004"]),
        (None, "2019-05-31", ["001", "002", "003"]),
        ("2019", "2019", ["000", "001", "002", "003", "004"]),
        ("2020", None, []),
    ],
)
def test_date_filters_overlap_at_each_precision(engine, frm, to, expected):
    args = {"q": "megvii"}
    if frm:
        args["from"] = frm
    if to:
        args["to"] = to
    res = run(engine, **args)
    assert seeds_of(res) == expected


def test_undated_articles_hidden_and_counted(engine):
    res = run(engine, q="", **{"from": "2019"})
    assert res.undated_hidden >= 1  # the hostile page has no date
    assert all(h.date for h in res.hits)


def test_sort_newest_oldest_and_browse(engine):
    newest = [h.path[:3] for h in run(engine, q="megvii", sort="newest").hits]
    assert newest == ["004", "000", "001", "002", "003"] or newest[:2] == ["004", "000"]
    oldest = [h.date for h in run(engine, q="megvii", sort="oldest").hits]
    assert oldest[0] is not None and oldest == sorted(oldest, key=lambda d: (d[:4], d))
    browse = run(engine, q="")
    assert browse.total == 6 and browse.hits[0].path.startswith("004")
    assert browse.hits[-1].date is None  # undated last


def test_relevance_ties_are_stable(engine):
    a = [h.id for h in run(engine, q="megvii").hits]
    b = [h.id for h in run(engine, q="megvii").hits]
    assert a == b


def test_pagination(engine):
    full = [h.id for h in run(engine, q="megvii", size="10").hits]
    pages = [h.id for p in (1, 2, 3) for h in run(engine, q="megvii", size="2", page=str(p)).hits]
    assert pages == full
    past = run(engine, q="megvii", size="2", page="50")
    assert past.hits == [] and past.total == len(full)


def test_facets_count_all_matches(engine):
    res = run(engine, q="megvii", size="1")
    assert len(res.hits) == 1
    assert res.facets["year"] == {"2019": 5}
    assert sum(res.facets["month"].values()) == 4  # 003 is year-only
    assert res.facets["month"]["2019-06"] == 2


def test_tag_facets_show_tags_as_written_and_filter_in_any_case(engine):
    res = run(engine, q="megvii")
    written = {t for h in res.hits for t in h.tags}
    assert "China" in written
    assert set(res.facets["tag"]) <= written  # labels as the articles write them
    assert res.facets["tag"]["China"] >= 1 and "china" not in res.facets["tag"]
    ids = {h.id for h in run(engine, q="megvii", tag="China").hits}
    assert ids and ids == {h.id for h in run(engine, q="megvii", tag="china").hits}


def test_exact_duplicates_collapse(engine):
    res = run(engine, q="inoperable")
    paths = [h.path for h in res.hits]
    assert not any("copies/" in p for p in paths)
    hit = next(h for h in res.hits if h.path.startswith("000"))
    assert len(hit.duplicates) == 2
    assert engine.article(hit.duplicates[0]).id == hit.id


def test_snippets_escape_html(engine):
    res = run(engine, q="zanzibar")
    snip = res.hits[0].snippet
    assert "<script>" not in snip and "&lt;script&gt;" in snip
    assert "<mark>Zanzibar</mark>" in snip


def test_title_only_match_gets_opening_lines(engine):
    res = run(engine, q="title:blacklisting")
    assert "<mark>" not in res.hits[0].snippet and res.hits[0].snippet


def test_article_with_highlights_and_related(engine):
    hit = run(engine, q="zanzibar").hits[0]
    art = engine.article(hit.id, q="clove")
    assert '<script>alert("owned")</script>' in art.text
    assert "<script>" not in str(art.text_html) and "<mark>clove</mark>" in str(art.text_html)
    seed = engine.article(run(engine, q="Face++").hits[0].id)
    assert 0 < len(seed.related) <= 5 and seed.id not in [r.id for r in seed.related]


@pytest.mark.parametrize("bad", ["nope", "../../etc/passwd", "", "x" * 600, "a\nb"])
def test_unknown_or_malformed_article_ids(engine, bad):
    assert engine.article(bad) is None


def test_every_response_carries_index_state(engine):
    d = run(engine, q="megvii").to_dict()
    # Whoosh names its version folder and commit generation; Solr its collection.
    assert d["index"]["version"] and d["took_ms"] >= 0
    assert d["index"]["generation"] is not None or d["index"]["version"].startswith("solr:")
    assert engine.stats()["documents"] == 6
    assert engine.health()["status"] == "ok"


@pytest.mark.parametrize("text", ['a<b>&"x\'y', "Zürich — 中国 <script>alert(1)</script>", "", "&amp;", "’ ‘ “ ”"])
def test_snippet_escaping_is_markupsafes(text):
    from markupsafe import escape as markupsafe_escape

    from search.highlight import escape

    assert escape(text) == str(markupsafe_escape(text))
