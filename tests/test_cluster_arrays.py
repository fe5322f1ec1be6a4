"""Story collapse, outlet facets and cluster listings, computed as arrays over document
numbers (search/clusters.py), equal a plain per-document reference written from the
state file's rows, on the syndication set indexed by the real indexer (60 stories, each
with copies, and same-topic distractors), for many match sets and preferred subsets."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from cluster_eval import SYNDICATION, load_syndication, write_labelled_corpus
from common.layout import STATE_DB
from conftest import run_indexer
from search import clusters
from search.engine import SearchEngine
from search.provenance import ProvenanceState

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not SYNDICATION.exists(), reason="needs tests/data/syndication.jsonl.gz")]


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster-arrays")
    rows = load_syndication()
    write_labelled_corpus(tmp / "corpus", rows)
    run_indexer(tmp / "corpus", tmp / "index", "--quiet")
    eng = SearchEngine(tmp / "index")
    with eng.view() as (v, _state):
        cols = v.columns
    dc = clusters.DocClusterCache().get(ProvenanceState(tmp / "index").view(), cols)
    yield tmp / "index", cols, dc
    eng.close()


def _reference(index, cols):
    """cluster -> held members (id, source) earliest first, as the old per-document code did."""
    con = sqlite3.connect(index / STATE_DB)
    rows = con.execute("SELECT cluster, doc_id, source, date_key, seen FROM story_members").fetchall()
    con.close()
    by_cluster: dict[str, list] = {}
    for c, doc_id, source, date_key, seen in rows:
        by_cluster.setdefault(c, []).append((date_key is None, date_key or "", seen, doc_id, source))
    held = {cols.ids[d] for d in np.flatnonzero(cols.articles)} | {c for cs in cols.duplicates.values() for c in cs}
    out = {}
    for c, ms in by_cluster.items():
        kept = [(m[3], m[4]) for m in sorted(ms) if m[3] in held]
        if len(kept) > 1:
            out[c] = kept
    return out


def _collapse(ref, ids, matched, prefer):
    cluster_of = {i: c for c, ms in ref.items() for i, _ in ms}
    rank = {i: n for ms in ref.values() for n, (i, _) in enumerate(ms)}
    best: dict[str, int] = {}
    for d in matched:
        c = cluster_of.get(ids[d])
        if c is None:
            continue
        key = (d not in prefer, rank[ids[d]])
        if c not in best or key < (best[c] not in prefer, rank[ids[best[c]]]):
            best[c] = d
    dropped = {d for d in matched if cluster_of.get(ids[d]) is not None} - set(best.values())
    return [d for d in matched if d not in dropped]


def test_the_set_has_clusters_with_several_outlets(mapped):
    index, cols, dc = mapped
    ref = _reference(index, cols)
    assert len(ref) >= 50
    assert int((dc.cluster >= 0).sum()) == sum(len([1 for i, _ in ms if i in set(cols.ids)]) for ms in ref.values())


def test_collapse_and_facets_equal_the_reference_on_random_match_sets(mapped):
    index, cols, dc = mapped
    ref = _reference(index, cols)
    outlets_of = {i: len({(s or "").strip().lower() for _, s in ms} - {""}) for ms in ref.values() for i, _ in ms}
    articles = np.flatnonzero(cols.articles)
    rnd = random.Random(7)
    for _ in range(200):
        matched = np.array(sorted(rnd.sample(articles.tolist(), rnd.randint(1, len(articles)))), dtype=np.int64)
        prefer = set(rnd.sample(matched.tolist(), rnd.randint(0, len(matched))))
        got = clusters.apply(dc, cols.ids, matched, prefer=np.array(sorted(prefer), dtype=np.int64))
        want = _collapse(ref, cols.ids, matched.tolist(), prefer)
        assert got.tolist() == want
        facet: dict[str, int] = {}
        for d in got.tolist():
            n = str(max(1, outlets_of.get(cols.ids[d], 1)))
            facet[n] = facet.get(n, 0) + 1
        assert clusters.outlet_facet(dc, got) == dict(sorted(facet.items(), key=lambda kv: int(kv[0])))


def test_cluster_listing_of_every_article_is_its_held_members_in_order(mapped):
    index, cols, dc = mapped
    ref = _reference(index, cols)
    cluster_of = {i: c for c, ms in ref.items() for i, _ in ms}
    for d in np.flatnonzero(cols.articles).tolist():
        doc_id = cols.ids[d]
        got = clusters.cluster_dict(dc, doc_id)
        if doc_id not in cluster_of:
            assert got is None
            continue
        assert [m["id"] for m in got["members"]] == [i for i, _ in ref[cluster_of[doc_id]]]
        assert got["first_published"]["id"] == ref[cluster_of[doc_id]][0][0]


def test_after_a_run_many_threads_read_the_state_file_once(mapped, monkeypatch):
    index, _cols, _dc = mapped
    from search import provenance

    state = ProvenanceState(index)
    first = state.view()
    reads = []
    real = provenance._read
    def slow_read(con):  # a big archive's state file takes a second or more to read
        reads.append(1)
        time.sleep(0.3)
        return real(con)

    monkeypatch.setattr(provenance, "_read", slow_read)
    os.utime(index / STATE_DB)  # what a run's commit does to the stamp
    with ThreadPoolExecutor(8) as pool:
        views = list(pool.map(lambda _: state.view(), range(16)))
    assert len(reads) == 1
    assert all(v is views[0] for v in views) and views[0] is not first
    assert views[0].ids == first.ids


def test_a_run_that_removed_its_write_ahead_log_is_read_once(mapped, monkeypatch):
    """The indexer deletes state.sqlite3-wal when it closes; the server's first read-only
    connection creates an empty one. That must not look like a second change."""
    index, _cols, _dc = mapped
    from search import provenance

    wal = index / (STATE_DB + "-wal")
    wal.unlink(missing_ok=True)
    os.utime(index / STATE_DB)  # a run committed and closed
    state = ProvenanceState(index)
    reads = []
    real = provenance._read
    monkeypatch.setattr(provenance, "_read", lambda con: reads.append(1) or real(con))
    first = state.view()
    assert wal.exists()  # our own read-only connection made it
    assert state.view() is first and state.view() is first
    assert len(reads) == 1
