"""The array search core against plain references on a real multi-segment index.

The references use only Whoosh's generic API (its query objects and matchers, which our
codec also serves): matches, BM25F by hand, facets counted from stored fields. The index
is built by the real indexer from BBC articles, then updated (files removed and changed)
so that it has several segments and deleted documents.
"""

from __future__ import annotations

from collections import Counter
from math import log

import numpy as np
import pytest
from whoosh import query as wq

from common.analysis import stem
from conftest import SHARED_DATA, run_indexer
from datasets import write_bbc_corpus
from search.columns import ColumnsCache
from search.engine import SearchEngine
from search.match import match
from search.query import parse_query
from search.ranking import DEFAULT
from search.request import SearchRequest
from search.score import bm25f, near_docs
from search.view import IndexView

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "bbc").is_dir(), reason="needs ../shared/data/bbc")

QUERIES = [
    ("oil prices", "all"), ("oil prices", "any"), ("economy growth japan", "any"), ("bank -dollar", "all"),
    ("title:economy shares", "all"), ("profit*", "all"), ('"interest rates"', "all"), ("yukos OR worldcom", "all"),
    ("-oil", "all"), ("the economy", "any"), ("zzzzqx", "all"), ('"chief executive" -bank', "all"),
    ("title:oil*", "all"), ('body:"stock market"', "all"),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("core-corpus")
    write_bbc_corpus(corpus, limit=300)
    index = tmp_path_factory.mktemp("core-index")
    run_indexer(corpus, index, "--quiet", "--batch-size", "100")
    files = sorted(corpus.rglob("*.txt"))
    for p in files[::15]:
        p.unlink()
    for p in files[1::20]:
        p.write_text(p.read_text("utf-8") + "\nA late correction about the election.\n", "utf-8")
    run_indexer(corpus, index, "--quiet", "--batch-size", "7")
    eng = SearchEngine(index)
    yield eng
    eng.close()


@pytest.fixture
def view(engine):
    with engine.searcher() as (s, _state):
        yield IndexView(s, ColumnsCache())


def whoosh_clause(c):
    fields = (c.field,) if c.field else ("title", "body")
    if c.kind == "filter":
        return wq.Term("source_key" if c.field == "source" else "tags", c.words[0])
    if c.kind == "word":
        subs = [wq.Term(f, stem(c.words[0])) for f in fields]
    elif c.kind == "phrase":
        subs = [wq.Phrase(f, [stem(w) for w in c.words]) for f in fields]
    else:
        subs = [wq.Prefix(f, c.words[0]) for f in fields]
    return wq.Or(subs)


def reference_docs(s, q: str, mode: str) -> set[int]:
    parsed = parse_query(q)
    docs = lambda query: set(s.docs_for_query(query))  # noqa: E731
    articles = docs(wq.Term("kind", "article"))
    if parsed.is_empty:
        return articles
    groups = parsed.positive_groups
    plain = [g for g in groups if len(g) == 1 and g[0].is_plain_word]
    required = [g for g in groups if g not in plain] if mode == "any" else groups
    sets = [set().union(*(docs(whoosh_clause(c)) for c in g)) for g in required]
    if mode == "any" and plain:
        sets.append(set().union(*(docs(whoosh_clause(g[0])) for g in plain)))
    out = set.intersection(*sets) if sets else set(articles)
    for c in parsed.negative_clauses:
        out -= docs(whoosh_clause(c))
    return out & articles


def reference_bm25f(s, word: str, d: int, fields=("title", "body")) -> float:
    """Plain BM25F of one word in one document, from Whoosh's generic matchers."""
    p, r, t = DEFAULT, s.reader(), stem(word)
    df = max(r.doc_frequency("title", t), r.doc_frequency("body", t))
    n = s.doc_count_all()
    x = 0.0
    for f, b, w in (("title", p.title_b, p.title_weight), ("body", p.body_b, 1.0)):
        if f not in fields or (f, t) not in r:
            continue
        m = r.postings(f, t)
        m.skip_to(d)
        if m.is_active() and m.id() == d:
            norm = (1 - b) + b * s.doc_field_length(d, f, 1) / s.avg_field_length(f)
            x += w * (m.weight() / s.schema[f].format.field_boost) / norm
    idf = log(1 + (n + p.idf_m - df + 0.5) / (df + 0.5))  # Lucene's, over N + idf_m articles
    return idf * (p.k1 + 1) * x / (x + p.k1)


def test_index_has_segments_and_deletions(view):
    assert len(view.leaves) > 1
    assert not view.columns.alive.all()


@pytest.mark.parametrize("q,mode", QUERIES)
def test_matches_equal_whoosh_queries(view, q, mode):
    ours = match(view, parse_query(q), mode).docs
    assert np.all(np.diff(ours) > 0)
    assert (len(ours) > 0) == (q != "zzzzqx")
    assert set(ours.tolist()) == reference_docs(view.searcher, q, mode)


@pytest.mark.parametrize("q", ["election", "election labour", "title:economy growth", "mobile phone market growth",
                               "body:oil prices", "yukos"])
def test_scores_equal_reference_bm25f(view, q):
    m = match(view, parse_query(q), "any")
    assert len(m.docs) > 3
    scores = bm25f(view, m, m.docs, DEFAULT)
    for d, sc in zip(m.docs.tolist(), scores.tolist()):
        fields = lambda c: (c.field,) if c.field else ("title", "body")  # noqa: E731
        ref = sum(reference_bm25f(view.searcher, c.words[0], d, fields(c)) for c in m.scored)
        assert sc == pytest.approx(ref, rel=1e-9), d


def test_facets_and_filters_count_what_the_stored_fields_say(engine, view):
    res = engine.search(SearchRequest(q="election", size=100))
    docs = match(view, parse_query("election"), "all").docs.tolist()
    stored = [view.searcher.stored_fields(d) for d in docs]
    assert res.total == len(docs)
    assert res.facets["year"] == dict(sorted(Counter(f["date"][:4] for f in stored if f.get("date")).items(),
                                             reverse=True))
    by_source = Counter(f["source"] for f in stored if f.get("source"))
    assert res.facets["source"] == dict(sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))[:20])
    tagged = Counter(t for f in stored for t in (f.get("tags") or "").split(",") if t)
    assert sum(res.facets["tag"].values()) == sum(n for _t, n in tagged.most_common(20))


def test_pages_follow_one_order(engine):
    whole = engine.search(SearchRequest(q="government plans", size=30))
    pages = [engine.search(SearchRequest(q="government plans", size=10, page=p)) for p in (1, 2, 3)]
    assert [h.id for p in pages for h in p.hits] == [h.id for h in whole.hits]
    order = [(bool(h.missing_words), -h.score) for h in whole.hits]  # all words first, then by score
    assert order == sorted(order)
    newest = engine.search(SearchRequest(q="government", sort="newest", size=50))
    dates = [h.date for h in newest.hits if h.date]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("pa,pb,slop,ordered,expected", [
    ([1], [2], 1, True, True),
    ([2], [1], 1, True, False),
    ([2], [1], 1, False, True),
    ([1], [10], 8, False, False),
    ([1], [9], 8, False, True),
    ([5, 40], [31], 8, True, False),
    ([5, 40], [31], 9, False, True),
    ([3], [3], 8, False, False),  # the same position (a hyphen part) is not "near"
    ([3], [3, 4], 1, False, True),
    ([1, 2, 3, 100], [50, 104], 4, True, True),
])
def test_near_docs(pa, pb, slop, ordered, expected):
    def occ(positions, doc):
        return np.full(len(positions), doc, dtype=np.int64), np.array(positions, dtype=np.int64)

    # doc 7 holds the case; doc 6 has b just before a's doc starts, doc 8 has only a
    a = tuple(np.concatenate(x) for x in zip(occ(pa, 7), occ([0], 8)))
    b = tuple(np.concatenate(x) for x in zip(occ([2**31], 6), occ(pb, 7)))
    assert near_docs(a, b, slop, ordered).tolist() == ([7] if expected else [])
