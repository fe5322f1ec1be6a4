"""Ranking: the BM25F scoring, its block-max safety, and the proximity test."""

from __future__ import annotations

import pytest
from whoosh import index as windex

from common.layout import current_version
from conftest import run_indexer
from datasets import write_bbc_corpus
from search import ranking
from search.docset import PostingsCache, docs
from search.query import parse_query
from search.ranking import DEFAULT, _near, _scores, build_query, rank, bm25_idf, term_text


@pytest.fixture(scope="module")
def bbc_searcher(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("rank-corpus")
    write_bbc_corpus(corpus, limit=400)
    index_dir = tmp_path_factory.mktemp("rank-index")
    run_indexer(corpus, index_dir, "--quiet")
    ix = windex.open_dir(str(current_version(index_dir)))
    with ix.searcher(weighting=DEFAULT.weighting()) as s:
        yield s


def _by_hand(s, stem: str, d: int) -> float:
    """BM25F of one word in one document, computed from the raw postings."""
    p = DEFAULT
    r = s.reader()
    n = s.doc_count_all()
    df = max(r.doc_frequency("title", stem), r.doc_frequency("body", stem))
    x = 0.0
    for f, b, w in (("title", p.title_b, p.title_weight), ("body", p.body_b, 1.0)):
        if (f, stem) not in r:
            continue
        m = r.postings(f, stem)
        m.skip_to(d)
        if not m.is_active() or m.id() != d:
            continue
        tf = m.weight() / s.schema[f].format.field_boost
        norm = (1 - b) + b * s.doc_field_length(d, f, 1) / s.avg_field_length(f)
        x += w * tf / norm
    return bm25_idf(n, df) * (p.k1 + 1) * x / (x + p.k1)


def test_one_word_scores_title_and_body_as_one_bm25f_term(bbc_searcher):
    s = bbc_searcher
    stem = term_text("election")
    built = build_query(parse_query("election"), s.reader(), "any", DEFAULT)
    results = s.search(built.match, limit=None)
    in_title = set(s.reader().postings("title", stem).all_ids())
    assert in_title & {h.docnum for h in list(results)[:30]}, "some top hit has the word in its title too"
    for hit in list(results)[:30]:
        assert hit.score == pytest.approx(_by_hand(s, stem, hit.docnum), rel=1e-9)


@pytest.mark.parametrize("q,mode", [
    ("election labour", "any"), ("election labour", "all"), ("film award ceremony", "any"),
    ("mobile phone market growth", "any"), ("the economy", "any"), ("chelsea", "all"),
])
def test_block_max_top_n_equals_exhaustive_ranking(bbc_searcher, q, mode):
    s = bbc_searcher
    built = build_query(parse_query(q), s.reader(), mode, DEFAULT)
    full = [(round(h.score, 9), h.docnum) for h in s.search(built.match, limit=None)]
    top = [(round(h.score, 9), h.docnum) for h in s.search(built.match, limit=10)]
    full.sort(key=lambda p: (-p[0], p[1]))
    assert [sc for sc, _ in top] == [sc for sc, _ in full[:10]]


def test_rank_reorders_only_by_proximity(bbc_searcher):
    s = bbc_searcher
    built = build_query(parse_query("prime minister"), s.reader(), "any", DEFAULT)
    base = {h.docnum: h.score for h in s.search(built.match, limit=100)}
    ranked = rank(s, built, 10, None, DEFAULT)
    for d, sc in ranked:
        assert sc == pytest.approx(base[d]) or sc == pytest.approx(base[d] * (1 + DEFAULT.prox_boost))


@pytest.mark.parametrize("pa,pb,slop,ordered,expected", [
    ([1], [2], 1, True, True),
    ([2], [1], 1, True, False),
    ([2], [1], 1, False, True),
    ([1], [10], 8, False, False),
    ([1], [9], 8, False, True),
    ([5, 40], [31], 8, True, False),
    ([5, 40], [31], 9, False, True),
    ([3], [3], 8, False, False),  # the same position (a hyphen part) is not "near"
    ([1, 2, 3, 100], [50, 104], 4, True, True),
])
def test_near(pa, pb, slop, ordered, expected):
    assert _near(pa, pb, slop, ordered) is expected


@pytest.mark.parametrize("q,mode", [
    ("election labour", "any"), ("election labour", "all"), ("film award ceremony", "any"),
    ("mobile phone -apple", "all"), ("title:election vote", "all"), ("econom*", "all"),
    ("the economy", "any"),
])
def test_match_set_scoring_equals_whoosh_scoring(bbc_searcher, q, mode):
    """The scores computed from the request's postings are Whoosh's own."""
    s = bbc_searcher
    built = build_query(parse_query(q), s.reader(), mode, DEFAULT)
    cache = PostingsCache(s)
    cand = docs(s, built.match, cache)
    ours = _scores(built.match, cache, {}, DEFAULT, cand)
    whoosh = {h.docnum: h.score for h in s.search(built.match, limit=None)}
    assert ours.keys() == whoosh.keys() == cand
    for d, sc in whoosh.items():
        assert ours[d] == pytest.approx(sc, rel=1e-9)


def test_rank_same_with_and_without_whoosh_collector(bbc_searcher, monkeypatch):
    s = bbc_searcher
    built = build_query(parse_query("prime minister election"), s.reader(), "any", DEFAULT)
    fast = rank(s, built, 20, None, DEFAULT)

    def unsupported(*_a, **_k):
        raise ranking._Unsupported

    monkeypatch.setattr(ranking, "_scores", unsupported)
    slow = rank(s, built, 20, None, DEFAULT)
    def order(top):
        return [(round(sc, 9), d) for d, sc in sorted(top, key=lambda p: (-round(p[1], 9), p[0]))]

    assert order(fast) == order(slow)


@pytest.mark.parametrize("field,word", [("body", "the"), ("body", "election"), ("title", "election"), ("body", "zzzz")])
def test_whole_posting_list_read_equals_matcher_walk(bbc_searcher, field, word):
    s = bbc_searcher
    stem = term_text(word)
    p = PostingsCache(s).get(field, stem)
    ids, weights, values = [], [], []
    if (field, stem) in s.reader():
        m = s.reader().postings(field, stem)
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            values.append(m.value())
            m.next()
    assert (p.ids, list(p.weights), list(p.values)) == (ids, weights, values)
