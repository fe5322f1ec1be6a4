"""SIGKILL at random moments (a small, seeded kill loop) and at the worst moment on purpose.

The full loop, 50+ kills over the whole BBC set, is `python bench/kill_loop.py`.
"""

from __future__ import annotations

import shutil

import pytest

from kill_harness import KillLoop, load_bbc, snapshot
from common.layout import open_live_index
from conftest import SEEDS, SHARED_DATA
from indexer import run as indexer_run
from indexer.run import RunOptions, run_indexer


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "bbc").is_dir(), reason="needs ../shared/data/bbc")
def test_small_kill_loop_loses_nothing(tmp_path):
    """8 kills: first build (3, each resuming the last), incremental (2), --rebuild (2), incremental (1)."""
    loop = KillLoop(tmp_path, load_bbc(500), seed=11, max_kill_s=3.0, log=lambda _msg: None)
    loop.full_build_round(kills=3, complete=False)
    loop.incremental_round(kills=2)
    loop.rebuild_round(kills=2, complete=False)
    loop.incremental_round(kills=1)
    n_docs, n_diff = loop.final_check()
    f = loop.figures
    assert f.problems == [] and f.lost == 0
    assert f.versions_lost == 0 and f.versions_twice == 0 and loop.shown  # versions were checked
    assert f.kills + f.finished_before_kill == 8 and f.kills >= 4
    assert n_docs == len(loop.corpus_files()) and n_diff == 0


@pytest.mark.slow
def test_run_killed_before_promotion_promotes_on_next_run(tmp_path, monkeypatch):
    """A run dies after committing an article's removal but before promoting its copy.

    Bug found by the kill loop: the next run saw nothing changed and left the copy as a
    duplicate of an article that no longer exists, so its text was gone from search.
    """
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    shutil.copy(corpus / "002_51ab61055f3fe5d9.txt", corpus / "zz-copy.txt")
    index = tmp_path / "index"
    run_indexer(RunOptions(corpus, index, workers=1))
    assert snapshot(index)["zz-copy.txt"][1] == "duplicate"

    (corpus / "002_51ab61055f3fe5d9.txt").unlink()

    def killed(self, pool):
        raise KeyboardInterrupt  # stands in for SIGKILL at this exact point

    with monkeypatch.context() as m:
        m.setattr(indexer_run._Writer, "_promote_orphans", killed)
        with pytest.raises(KeyboardInterrupt):
            run_indexer(RunOptions(corpus, index, workers=1))
    assert "002_51ab61055f3fe5d9.txt" not in snapshot(index)  # the removal was committed

    summary = run_indexer(RunOptions(corpus, index, workers=1))
    assert (summary.added, summary.removed, summary.updated) == (0, 0, 0)
    ix = open_live_index(index)
    with ix.searcher() as s:
        (doc,) = [d for d in s.all_stored_fields() if d["path"] == "zz-copy.txt"]
        assert doc["kind"] == "article" and "Hikvision" in doc["body"]
