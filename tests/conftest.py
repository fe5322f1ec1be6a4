"""Shared fixtures: real indexes built by the real indexer from real text (never mocks)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED_DATA = ROOT.parent / "shared" / "data"

# A hidden nltk.download() dependency must fail loudly, not reach for the network.
os.environ.setdefault("NLTK_DATA", str(ROOT / "tests" / "no-nltk-data"))


def run_indexer(corpus: Path, index: Path, *extra: str, check: bool = True,
                timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python -m indexer` as cron would, in a real subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"indexer failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def seed_corpus(tmp_path_factory) -> Path:
    """A private copy of seeds/ (tests may not touch the shipped folder)."""
    dest = tmp_path_factory.mktemp("seed-corpus") / "seeds"
    shutil.copytree(SEEDS, dest)
    return dest


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, seed_corpus) -> Path:
    """INDEX_DIR holding a real index of the seeds, built once per test session."""
    index = tmp_path_factory.mktemp("seed-index")
    run_indexer(seed_corpus, index, "--quiet")
    return index
