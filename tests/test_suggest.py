"""Did-you-mean candidates: the per-segment term lists compared in C must find exactly
what Whoosh's own ``terms_within`` finds, on a real index with more than one segment."""

from __future__ import annotations

import random
import shutil

import pytest

from common.layout import open_live_index
from search.suggest import close_terms, correct_word
from tests.conftest import SEEDS, run_indexer


@pytest.fixture(scope="module")
def two_segment_index(tmp_path_factory):
    """The seeds, then one more article by a second run: two segments."""
    corpus = tmp_path_factory.mktemp("suggest-corpus") / "seeds"
    shutil.copytree(SEEDS, corpus)
    index = tmp_path_factory.mktemp("suggest-index")
    run_indexer(corpus, index, "--quiet")
    (corpus / "added.txt").write_text(
        "Quarantined zeppelins over Xinjiang\n\nThe zeppelins were quarantined for weeks "
        "while the regulators argued about the airships' certificates.\n", "utf-8")
    run_indexer(corpus, index, "--quiet")
    ix = open_live_index(index)
    yield ix
    ix.close()


def _probes(ix) -> list[str]:
    """Misspellings of real body terms: a letter dropped, doubled, swapped or replaced."""
    with ix.reader() as reader:
        terms = sorted(t.decode("utf-8") for t in reader.lexicon("body"))
    rnd = random.Random(7)
    probes = []
    for term in rnd.sample([t for t in terms if t.isalpha() and len(t) >= 4], 150):
        i = rnd.randrange(1, len(term))
        probes += [term[:i] + term[i + 1:], term[:i] + term[i] + term[i:],
                   term[:i - 1] + term[i] + term[i - 1] + term[i + 1:],
                   term[:i] + rnd.choice("aeiourst") + term[i + 1:]]
    return probes


def test_close_terms_equal_whoosh_terms_within(two_segment_index):
    ix = two_segment_index
    with ix.searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) >= 2
        for probe in _probes(ix):
            for maxdist in (1, 2):
                expected = {t.decode("utf-8") if isinstance(t, bytes) else t
                            for t in searcher.reader().terms_within("body", probe, maxdist, prefix=1)}
                assert close_terms(searcher, probe, maxdist) == expected, (probe, maxdist)


def test_a_word_only_the_newer_segment_holds_is_suggested(two_segment_index):
    with two_segment_index.searcher() as searcher:
        assert correct_word(searcher, "zepelins") == "zeppelins"
        assert correct_word(searcher, "survelance") == "surveillance"
        assert correct_word(searcher, "qqqqqqqq") is None
