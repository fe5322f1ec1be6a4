"""Runs started together (as overlapping cron jobs would be): one works, the rest exit 75 at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from kill_harness import snapshot
from conftest import ROOT, SHARED_DATA, run_indexer
from datasets import write_bbc_corpus

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "bbc").is_dir(), reason="needs ../shared/data/bbc")


@pytest.fixture(scope="module")
def bbc(tmp_path_factory) -> tuple[Path, dict]:
    """400 BBC files (a build of several seconds) and a clean build's snapshot of them."""
    corpus = tmp_path_factory.mktemp("overlap") / "bbc"
    write_bbc_corpus(corpus, limit=400)
    clean = corpus.parent / "clean-index"
    run_indexer(corpus, clean, "--quiet")
    return corpus, snapshot(clean)


@pytest.mark.slow
@pytest.mark.parametrize("runs", [2, 5])
def test_runs_started_together(bbc, tmp_path, runs):
    corpus, clean = bbc
    index = tmp_path / "index"
    cmd = [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index), "--quiet",
           "--batch-size", "100"]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(runs)]
    ended: dict[int, float] = {}
    while len(ended) < runs:
        for i, p in enumerate(procs):
            if i not in ended and p.poll() is not None:
                ended[i] = time.perf_counter() - t0
        time.sleep(0.02)
    results = [(p.returncode, *p.communicate(timeout=5)) for p in procs]

    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0] + [75] * (runs - 1), results
    (winner,) = [i for i, (rc, _, _) in enumerate(results) if rc == 0]
    for i, (rc, out, err) in enumerate(results):
        if rc != 75:
            continue
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "another indexer run" in lines[0] and "nothing changed" in lines[0]
        assert out == ""
        # At once: a refused run does not wait for the lock; it is gone before the winner ends.
        assert ended[i] < ended[winner]
    assert snapshot(index) == clean
