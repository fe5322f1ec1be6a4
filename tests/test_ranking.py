"""Ranking: the array BM25F against a BM25F computed by hand from Whoosh's own matchers,
phrase scores as Whoosh scores a phrase, and the proximity re-rank changing order only."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import SHARED_DATA, run_indexer
from datasets import write_bbc_corpus
from search.columns import ColumnsCache
from search.engine import SearchEngine
from search.match import match, phrase_docs, term_text
from search.query import parse_query
from search.ranking import DEFAULT
from search.score import bm25f, proximity, rank
from search.view import IndexView

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "bbc").is_dir(), reason="needs ../shared/data/bbc")


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("rank-corpus")
    write_bbc_corpus(corpus, limit=400)
    index_dir = tmp_path_factory.mktemp("rank-index")
    run_indexer(corpus, index_dir, "--quiet")
    engine = SearchEngine(index_dir)
    with engine.searcher() as (s, _state):
        yield IndexView(s, ColumnsCache())
    engine.close()


def by_hand(s, stem: str, d: int, fields=("title", "body"), p=DEFAULT) -> float:
    """BM25F of one stem in one document, from Whoosh's generic matchers (the reference;
    the idf written out: Lucene's over N + idf_m articles, idf_m pseudo-articles without
    the word)."""
    r, n = s.reader(), s.doc_count_all()
    df = max(r.doc_frequency("title", stem), r.doc_frequency("body", stem))
    x = 0.0
    for f, b, w in (("title", p.title_b, p.title_weight), ("body", p.body_b, 1.0)):
        if f not in fields or (f, stem) not in r:
            continue
        m = r.postings(f, stem)
        m.skip_to(d)
        if m.is_active() and m.id() == d:
            tf = m.weight() / s.schema[f].format.field_boost
            x += w * tf / ((1 - b) + b * s.doc_field_length(d, f, 1) / s.avg_field_length(f))
    idf = math.log(1 + (n + p.idf_m - df + 0.5) / (df + 0.5))
    return idf * (p.k1 + 1) * x / (x + p.k1)


@pytest.mark.parametrize("params", [DEFAULT, DEFAULT.with_(idf_m=0.0), DEFAULT.with_(idf_m=400.0, k1=1.2)])
def test_one_word_scores_title_and_body_as_one_bm25f_term(view, params):
    m = match(view, parse_query("economy"), "all")
    scores = bm25f(view, m, m.docs, params)
    stem = term_text("economy")
    in_title = set(view.postings("title", stem).ids.tolist())
    assert in_title & set(m.docs.tolist()), "some match has the word in its title too"
    for d, sc in zip(m.docs.tolist(), scores.tolist()):
        assert sc == pytest.approx(by_hand(view.searcher, stem, d, p=params), rel=1e-9)


def test_phrase_scores_are_its_words_scores_where_it_occurs(view):
    m = match(view, parse_query('"oil prices"'), "all")
    assert len(m.docs) > 2
    scores = bm25f(view, m, m.docs, DEFAULT)
    stems = [term_text("oil"), term_text("prices")]
    for d, sc in zip(m.docs.tolist(), scores.tolist()):
        ref = sum(sum(by_hand(view.searcher, t, d, (f,)) for t in stems)
                  for f in ("title", "body") if d in set(phrase_docs(view, f, stems).tolist()))
        assert sc == pytest.approx(ref, rel=1e-9)


def test_rank_reorders_only_by_proximity(view):
    m = match(view, parse_query("oil prices"), "any")
    base = dict(zip(m.docs.tolist(), bm25f(view, m, m.docs, DEFAULT).tolist()))
    ranked = rank(view, m, m.docs, 10, DEFAULT, view.columns.id_rank)
    share = proximity(view, [d for d, _ in ranked], m.words, DEFAULT)
    assert any(share.values()), "some top hit has the words near each other"
    for d, sc in ranked:
        assert sc == pytest.approx(base[d] * (1 + DEFAULT.prox_boost * share.get(d, 0.0)))
    assert [sc for _d, sc in ranked] == sorted((sc for _d, sc in ranked), reverse=True)


def test_top_k_is_the_head_of_the_full_order(view):
    m = match(view, parse_query("the economy growth"), "any")
    scores = bm25f(view, m, m.docs, DEFAULT.with_(prox_boost=0.0))
    full = sorted(zip(m.docs.tolist(), scores.tolist()), key=lambda p: (-round(p[1], 9), view.columns.ids[p[0]]))
    ranked = rank(view, m, m.docs, 25, DEFAULT.with_(prox_boost=0.0), view.columns.id_rank)
    assert [d for d, _ in ranked] == [d for d, _ in full[:25]]
    assert np.all(np.diff(m.docs) > 0)


def test_a_deeper_page_never_reorders_an_earlier_one(view):
    """The order is one total order whatever the page: reading page after page gives
    every match once (the proximity re-rank covers a fixed head, not one that grows with
    the page asked for; it did, and a hit could repeat or be skipped at a page boundary)."""
    tie = view.columns.id_rank
    for q in ("the government said", "economy growth", "mobile phone market", VERBOSE):
        m = match(view, parse_query(q), "relaxed")
        assert len(m.docs) > 150, "enough matches for pages beyond the re-ranked head"
        full = [d for d, _ in rank(view, m, m.docs, len(m.docs), DEFAULT, tie)]
        assert sorted(full) == m.docs.tolist()
        for need in (10, 99, 100, 101, 150):
            assert [d for d, _ in rank(view, m, m.docs, need, DEFAULT, tie)] == full[:need], (q, need)


VERBOSE = "how the government plans to cut taxes for small firms"
NO_FEEDBACK = DEFAULT.with_(prf_docs=0)


def test_feedback_adds_the_expansion_terms_bm25f_at_their_weights(view):
    """A verbose query's score is its own BM25F plus scale * sum(weight * BM25F) of the
    feedback terms, each computed by hand from Whoosh's matchers (no proximity here)."""
    p = DEFAULT.with_(prox_boost=0.0)
    m = match(view, parse_query(VERBOSE), "any")
    assert len(m.words) >= p.prf_min_words
    expanded = []
    ranked = rank(view, m, m.docs, 20, p, view.columns.id_rank, expanded=expanded)
    (exp,) = expanded
    assert len(exp.terms) == p.prf_terms and sum(w for _t, w in exp.terms) == pytest.approx(1.0)
    assert exp.docs == tuple(d for d, _ in rank(view, m, m.docs, p.prf_docs, NO_FEEDBACK.with_(prox_boost=0.0),
                                                  view.columns.id_rank))
    own = {term_text(w) for w in m.words}
    assert not own & {t for t, _w in exp.terms}, "no query term is added again"
    base = dict(zip(m.docs.tolist(), bm25f(view, m, m.docs, p).tolist()))
    for d, sc in ranked:
        added = exp.scale * sum(w * by_hand(view.searcher, t, d) for t, w in exp.terms)
        assert sc == pytest.approx(base[d] + added, rel=1e-9)
    assert exp.scale == pytest.approx(p.prf_weight * len(own))


def test_feedback_reorders_a_verbose_query_and_leaves_short_ones_alone(view):
    tie = view.columns.id_rank
    m = match(view, parse_query(VERBOSE), "relaxed")
    with_fb = [d for d, _ in rank(view, m, m.docs, len(m.docs), DEFAULT, tie)]
    without = [d for d, _ in rank(view, m, m.docs, len(m.docs), NO_FEEDBACK, tie)]
    assert sorted(with_fb) == sorted(without) == m.docs.tolist(), "the same matches, only reordered"
    assert with_fb[:10] != without[:10]
    short = match(view, parse_query("oil prices rise"), "relaxed")
    assert len(short.words) < DEFAULT.prf_min_words
    expanded = []
    assert rank(view, short, short.docs, 10, DEFAULT, tie, expanded=expanded) == \
        rank(view, short, short.docs, 10, NO_FEEDBACK, tie)
    assert expanded == []
