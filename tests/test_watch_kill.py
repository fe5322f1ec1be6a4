"""Kills during indexing and during evaluation lose no match and record none twice."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SEEDS, SHARED_DATA, run_indexer
from datasets import write_bbc_corpus
from search.engine import SearchEngine
from search.request import SearchRequest
from watch import store, watches

WORDS = ("government election market music film football economy bank oil prices minister "
         "company profits shares chelsea arsenal tax labour court police game mobile phone "
         "internet software record sales china europe budget").split()


def queries() -> list[str]:
    rnd = random.Random(3)
    pairs = sorted({" ".join(rnd.sample(WORDS, 2)) for _ in range(40)})
    return WORDS + pairs + ['"prime minister"', "tax OR budget", "film -music"]


def killed(cmd: list[str], after_s: float) -> bool:
    """Run cmd and SIGKILL it (and its workers) after ``after_s``; False when it finished first."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        proc.wait(timeout=after_s)
        assert proc.returncode == 0
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.2)  # the workers' exit releases the index lock
        return True


def matches_table(index) -> list[tuple]:
    with sqlite3.connect(index / "state.sqlite3") as con:
        return sorted(con.execute("SELECT watch_id, article_id, first_seen FROM matches"))


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "bbc").is_dir(), reason="needs ../shared/data/bbc")
def test_kills_lose_no_match_and_record_none_twice(tmp_path):
    corpus, index, ref = tmp_path / "corpus", tmp_path / "index", tmp_path / "ref"
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    con = store.connect(index)
    engine = SearchEngine(index)
    for q in queries():
        name, req, error = watches.parse_watch({"q": q}, engine)
        watches.create(con, name, req, error)
    con.close()

    write_bbc_corpus(corpus / "bbc", limit=400)
    indexer = [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index),
               "--batch-size", "40", "--no-watch", "--quiet"]
    rnd = random.Random(7)
    kills = sum(killed(indexer, rnd.uniform(1.0, 4.0)) for _ in range(3))
    run_indexer(corpus, index, "--no-watch", "--quiet")
    shutil.copytree(index, ref, symlinks=True)

    # the reference: one uninterrupted evaluation of the same state
    subprocess.run([sys.executable, "-m", "watch", "--index", str(ref)], cwd=ROOT, check=True,
                   capture_output=True)
    watcher = [sys.executable, "-m", "watch", "--index", str(index), "--chunk", "25"]
    for _ in range(6):
        kills += killed(watcher, rnd.uniform(0.8, 3.0))
    subprocess.run(watcher, check=True, cwd=ROOT, capture_output=True)
    assert kills >= 3

    got, want = matches_table(index), matches_table(ref)
    assert len(got) == len({(w, a) for w, a, _ in got})  # nothing twice
    assert [(w, a) for w, a, _ in got] == [(w, a) for w, a, _ in want]
    with sqlite3.connect(index / "state.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM journal").fetchone()[0] == 0

    # and nothing lost: each watch holds exactly the new articles its search matches
    engine = SearchEngine(index)
    everything = engine.search(SearchRequest(q="", size=100, source=(), copies="all")).hits
    seeds = {h.id for h in everything if "/" not in h.path}
    new = frozenset(h.id for h in _all_hits(engine) if h.path.startswith("bbc/"))
    assert len(new) > 350
    con = store.connect(index)
    for w in watches.all_watches(con):
        res = engine.search(SearchRequest(q=w.request.q, ids=new, size=len(new), sort="newest"))
        expected = {h.id for h in res.hits if not h.missing_words}  # all the words (see test_watch)
        assert {a for wid, a, _ in got if wid == w.id} == expected, w.request.q
        assert not expected & seeds
    assert sum(1 for _ in got) > 100
    con.close()


def _all_hits(engine: SearchEngine):
    return engine.search(SearchRequest(q="", size=10_000, copies="all")).hits  # every copy: watch sees each
