"""After a cron run, a server process prepares the new index state in the background
(search/keepwarm.py), so the first search after the run reads no columns and maps no
clusters itself. Real indexer runs over a copy of the seeds; nothing is mocked (the
readers are wrapped to count their calls)."""

from __future__ import annotations

import shutil
import time

import pytest

from conftest import SEEDS, run_indexer
from search import clusters, columns
from search.engine import SearchEngine
from search.keepwarm import KeepWarm
from search.request import SearchRequest

NEW = ("Harbour ferry terminal opens\n\nJune 10th, 2019\n\nThe harbour authority said the new ferry "
       "terminal would open after two years of delays caused by storms and a shortage of steel.\n")


@pytest.fixture
def counted(monkeypatch):
    reads: list[str] = []
    for module, name in ((columns, "read_segment"), (clusters, "map_docs")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name: reads.append(_name) or _real(*a))
    return reads


def _wait(pred, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < end, "keep-warm did not prepare the new state"
        time.sleep(0.02)


def _started(tmp_path, settle_s: float):
    """The seeds indexed by a real run, an engine over them and its keeper, started."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    engine = SearchEngine(index)
    keeper = KeepWarm(engine, every_s=0.02, settle_s=settle_s)
    keeper.start()
    return corpus, index, engine, keeper


def test_the_first_search_after_a_run_finds_the_state_prepared(tmp_path, counted):
    corpus, index, engine, keeper = _started(tmp_path, settle_s=0.2)
    try:
        _wait(lambda: keeper.prepared >= 1)
        assert engine.search(SearchRequest(q="megvii")).total > 0
        (corpus / "ferry.txt").write_text(NEW, "utf-8")
        run_indexer(corpus, index, "--quiet")  # the run has ended: what it published is final
        _wait(lambda: keeper.prepared >= 2 and keeper.ready())
        before = list(counted)
        assert "read_segment" in before and "map_docs" in before  # the keeper read them
        res = engine.search(SearchRequest(q="ferry terminal"))
        assert res.total == 1
        assert counted == before  # the request itself read nothing
    finally:
        keeper.stop()
        engine.close()
    assert not keeper._thread.is_alive()


def test_keep_warm_survives_a_missing_index_and_close_stops_it(tmp_path):
    engine = SearchEngine(tmp_path / "nothing-here")
    engine.keep_warm()
    thread = engine._keep_warm._thread
    time.sleep(0.1)
    assert thread.is_alive()
    engine.close()
    assert not thread.is_alive()


def test_states_that_keep_changing_are_not_prepared_until_they_settle(tmp_path, counted):
    """A long run writes the state file and commits again and again: preparing each
    state would take a core from the indexer. Only a state unchanged for settle_s is."""
    import os

    from common.layout import STATE_DB

    _corpus, index, engine, keeper = _started(tmp_path, settle_s=0.5)
    try:
        _wait(lambda: keeper.prepared >= 1)
        end = time.monotonic() + 1.5
        while time.monotonic() < end:  # a run writing its state file every 50 ms
            os.utime(index / STATE_DB, ns=(time.time_ns(), time.time_ns()))
            time.sleep(0.05)
            assert keeper.prepared == 1
        _wait(lambda: keeper.prepared >= 2)
    finally:
        keeper.stop()
        engine.close()
