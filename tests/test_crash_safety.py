"""SIGKILL in the middle of a run: the index still answers, and the next run completes it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh.query import Every

from common.layout import IndexUnavailable, open_live_index
from conftest import ROOT, SHARED_DATA, run_indexer
from datasets import write_bbc_corpus

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "bbc").is_dir(), reason="needs ../shared/data/bbc")


def snapshot(index_dir: Path) -> dict[str, str]:
    """path -> content hash of every document, as a reader sees the live index."""
    ix = open_live_index(index_dir)
    with ix.searcher() as s:
        return {d["path"]: d["content_hash"] for d in s.all_stored_fields()}


def committed_docs(index: Path) -> int:
    try:
        return open_live_index(index).doc_count_all()
    except IndexUnavailable:
        return 0


def kill_during_run(corpus: Path, index: Path, ready, *extra: str) -> None:
    """Start the indexer, SIGKILL it as soon as ready() holds (polled), mid-run."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index),
         "--batch-size", "100", *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_sigkill_then_recovery(tmp_path):
    corpus = tmp_path / "bbc"
    docs = write_bbc_corpus(corpus, limit=800)
    index = tmp_path / "index"

    kill_during_run(corpus, index, lambda: committed_docs(index) > 0)
    partial = snapshot(index)  # opens and reads after the kill
    assert 0 < len(partial) < len(docs)
    ix = open_live_index(index)
    with ix.searcher() as s:
        assert s.search(Every(), limit=1) is not None

    run_indexer(corpus, index)
    recovered = snapshot(index)

    clean = tmp_path / "clean"
    run_indexer(corpus, clean)
    assert recovered == snapshot(clean)
    assert len(recovered) == len(docs)


@pytest.mark.slow
def test_sigkill_during_rebuild_keeps_live_index(tmp_path):
    corpus = tmp_path / "bbc"
    write_bbc_corpus(corpus, limit=600)
    index = tmp_path / "index"
    run_indexer(corpus, index)
    before = snapshot(index)
    versions = index / "versions"
    kill_during_run(corpus, index, lambda: len(list(versions.iterdir())) > 1, "--rebuild")
    assert snapshot(index) == before
    run_indexer(corpus, index, "--rebuild")
    assert snapshot(index) == before
    assert len(list((index / "versions").iterdir())) == 1
