"""Session indexes for the search and API tests: the seeds plus two exact copies of one
seed and one hostile document, indexed by the real indexer (``python -m indexer``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import SEEDS, run_indexer

XSS_BODY = (
    'Zanzibar clove harvest report.\n\n<script>alert("owned")</script> The clove '
    "harvest in Zanzibar fell sharply this season, growers said, & prices rose.\n"
)
COPIES = ("copies/a/000_copy.txt", "copies/b/000_copy.txt")


def write_corpus(dest: Path) -> Path:
    """Seeds + two copies of seed 000 + an XSS document."""
    shutil.copytree(SEEDS, dest)
    first = sorted(SEEDS.glob("000_*.txt"))[0]
    for rel in COPIES:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(first, dest / rel)
    (dest / "zz_xss.txt").write_text(XSS_BODY, "utf-8")
    return dest


@pytest.fixture(scope="session")
def search_index(tmp_path_factory) -> Path:
    """INDEX_DIR of the test corpus, built by the real indexer."""
    corpus = write_corpus(tmp_path_factory.mktemp("search-corpus") / "corpus")
    index_dir = tmp_path_factory.mktemp("search-index")
    run_indexer(corpus, index_dir, "--quiet")
    return index_dir
