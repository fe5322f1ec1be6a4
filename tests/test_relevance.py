"""Relevance as a reader gets it: real indexes built by the indexer, queried with defaults.

The order a reader expects on the seeds, scores above 0 that tell articles apart, the
minimum-should-match relaxation (all the words first, then partial matches) and the
explain breakdown adding up to each hit's score.
"""

from __future__ import annotations

import json
import math

import pytest

from conftest import run_indexer
from datasets import write_bbc_corpus
from search.engine import SearchEngine
from search.ranking import DEFAULT, bm25_idf
from search.request import SearchRequest


@pytest.fixture(scope="module")
def seeds(seed_index):
    eng = SearchEngine(seed_index)
    yield eng
    eng.close()


def search(engine, q: str, **kw):
    return engine.search(SearchRequest(q=q, **kw))


def seed_order(res) -> list[str]:
    return [h.path[:3] for h in res.hits]


# What a reader expects first: the seed whose subject the query names.
@pytest.mark.parametrize("q,first", [
    ("blacklisting", "002"),
    ("blacklist Hikvision", "002"),
    ("Hikvision Dahua Iflytek", "002"),
    ("rights group corrects report", "003"),
    ("xinjiang police correction", "003"),
    ("IPO delay", "000"),
    ("megvii cleared surveillance app", "000"),
    ("unlock phones", "004"),
    ("facial recognition payments", "004"),
    ("reverse engineered app", "001"),
])
def test_the_article_about_the_query_ranks_first(seeds, q, first):
    assert seed_order(search(seeds, q))[0] == first


def test_scores_are_above_zero_and_tell_articles_apart(seeds):
    """Every seed mentions Megvii (df > N/2): the old idf made every score 0.0."""
    res = search(seeds, "megvii")
    assert res.total == 5
    scores = [h.score for h in res.hits]
    assert all(s > 0 for s in scores)
    assert len(set(scores)) == len(scores)
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("m", [0.0, DEFAULT.idf_m])
@pytest.mark.parametrize("n,df", [(5, 5), (5, 3), (1000, 999), (1000, 1), (1, 1)])
def test_idf_is_positive_for_any_document_frequency(n, df, m):
    assert bm25_idf(n, df, m) > 0
    assert bm25_idf(n, df, m) == pytest.approx(math.log(1 + (n + m - df + 0.5) / (df + 0.5)))


def test_idf_smoothing_keeps_a_small_folders_common_words_and_leaves_a_big_one_alone():
    """In a 40-article folder about one subject, the subject word (in every article) keeps
    a real share of a one-article word's idf; in a Reuters-sized one no idf moves by more
    than m / N."""
    m = DEFAULT.idf_m
    assert bm25_idf(40, 40, m) / bm25_idf(40, 1, m) > 0.15 > 30 * bm25_idf(40, 40) / bm25_idf(40, 1)
    for df in (1, 100, 10_000, 20_000):
        assert 0 < bm25_idf(20_000, df, m) - bm25_idf(20_000, df) <= m / 20_000


def test_the_engine_ranks_with_the_smoothed_idf(seeds):
    """Explain's idf is the engine's: every seed has "megvii" (df = N)."""
    n = seeds.stats()["documents"]
    words = search(seeds, "megvii", explain=True).hits[0].explain["words"]
    assert words[0]["idf"] == pytest.approx(bm25_idf(n, n, DEFAULT.idf_m), abs=1e-4)


def test_all_words_first_then_partial_matches_with_what_they_lack(seeds):
    res = search(seeds, "blacklisting xinjiang")
    assert res.matching["relaxed"] == ["blacklisting", "xinjiang"]
    full = [h for h in res.hits if not h.missing_words]
    assert res.matching["all_words_total"] == len(full) >= 1
    assert res.hits[: len(full)] == full  # all-words hits lead, whatever their score
    for h in res.hits[len(full):]:
        assert h.missing_words in (["blacklisting"], ["xinjiang"])
    assert res.fallback is None


def test_no_article_with_all_words_still_gives_the_best_partial_matches(seeds):
    res = search(seeds, "blacklisting zzzqqq")
    assert res.fallback == "any_words" and res.matching["all_words_total"] == 0
    assert seed_order(res)[0] == "002"
    assert all(h.missing_words == ["zzzqqq"] for h in res.hits)


def test_phrases_fields_and_exclusions_stay_required(seeds):
    res = search(seeds, '"facial recognition" megvii zzzqqq -blacklisting')
    assert res.matching["required"] == ['"facial recognition"']
    assert res.matching["excluded"] == ["blacklisting"]
    with_phrase = set(seed_order(search(seeds, '"facial recognition"')))
    excluded = set(seed_order(search(seeds, "blacklisting")))
    assert excluded & with_phrase and with_phrase - excluded
    assert set(seed_order(res)) == with_phrase - excluded
    assert search(seeds, "title:blacklisting xinjiang").matching["required"] == ["title:blacklisting"]
    assert seed_order(search(seeds, "title:blacklisting xinjiang")) == ["002"]


def test_explain_adds_up_to_each_score(seeds):
    res = search(seeds, 'megvii blacklisting "facial recognition"', explain=True)
    assert res.hits
    for h in res.hits:
        e = h.explain
        assert e["score"] == pytest.approx(h.score, abs=2e-4)
        assert sum(w["score"] for w in e["words"]) + sum(c["score"] for c in e["clauses"]) == \
            pytest.approx(e["bm25f"], abs=2e-4)
        for w in e["words"]:
            assert w["idf"] > 0 and w["fields"]
            for f in w["fields"].values():
                assert f["x"] == pytest.approx(f["weight"] * f["tf"] / f["length_norm"], rel=1e-3)
        assert e["relaxation"]["missing_words"] == h.missing_words
    assert any(c["clause"].startswith("(title:\"facial") for c in res.hits[0].explain["clauses"])
    assert json.loads(json.dumps(res.to_dict()))["hits"][0]["explain"]["words"]


def test_explain_is_off_by_default_and_absent_for_date_order(seeds):
    assert "explain" not in search(seeds, "megvii").to_dict()["hits"][0]
    assert "explain" not in search(seeds, "megvii", sort="newest", explain=True).to_dict()["hits"][0]


@pytest.fixture(scope="module")
def bbc(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("relevance-bbc")
    write_bbc_corpus(corpus, limit=300)
    index = tmp_path_factory.mktemp("relevance-bbc-index")
    run_indexer(corpus, index, "--quiet")
    eng = SearchEngine(index)
    yield eng
    eng.close()


@pytest.mark.parametrize("q", ["election labour tax", "mobile phone market", "film box office"])
def test_relaxation_on_news(bbc, q):
    """Short news queries: every all-words match leads; the list goes on with partial ones."""
    res = search(bbc, q, size=100)
    n_all = res.matching["all_words_total"]
    assert n_all >= 1 and res.total > n_all
    flags = [not h.missing_words for h in res.hits]
    assert flags == sorted(flags, reverse=True)
    assert sum(flags) == min(n_all, len(res.hits))
    assert res.total == search(bbc, " OR ".join(q.split())).total  # partial matches: any word


def test_long_pasted_sentence_ranks_by_score_alone(bbc):
    q = "the government said on monday that the new tax on petrol would raise prices for drivers"
    res = search(bbc, q, size=20)
    assert res.total > 20 and res.matching["relaxed"]
    scores = [h.score for h in res.hits]
    assert scores == sorted(scores, reverse=True)


def test_hyphenated_query_word_matches_its_parts(seeds):
    """"re-education" is indexed whole and as parts; the query finds it and its parts."""
    whole = {h.path[:3] for h in search(seeds, '"re-education"', size=10).hits}
    parts = {h.path[:3] for h in search(seeds, "education", size=10).hits}
    found = {h.path[:3] for h in search(seeds, "re-education", size=10).hits}
    assert whole and whole <= found and parts <= found


def test_explain_lists_the_feedback_terms_of_a_verbose_query(seeds):
    """A query of prf_min_words words or more is expanded: explain lists each feedback
    term's weight and BM25F part, and the parts still add up to the hit's score."""
    q = "megvii cleared to sell surveillance app after rights report"
    res = search(seeds, q, explain=True)
    assert res.hits
    seen = set()
    for h in res.hits:
        e = h.explain
        fed = e["expansion"]
        assert fed and fed["from_docs"] == min(DEFAULT.prf_docs, res.total)
        for t in fed["terms"]:
            assert t["added"] == pytest.approx(fed["scale"] * t["weight"] * t["score"], rel=2e-3)
            assert t["term"] in fed["all_terms"]
        seen.update(t["term"] for t in fed["terms"])
        assert sum(t["added"] for t in fed["terms"]) == pytest.approx(fed["score"], abs=5e-4)
        coord = e["relaxation"]["coord_factor"]
        assert e["score"] == pytest.approx((e["bm25f"] * coord + fed["score"]) * e["proximity"]["factor"], abs=5e-4)
        assert e["score"] == pytest.approx(h.score, abs=2e-4)
    assert seen, "some hit holds a feedback term"
    assert search(seeds, "megvii blacklisting", explain=True).hits[0].explain["expansion"] is None
