"""The configset's text analysis on a real local SolrCloud: accents folded on both sides
(Müller == Muller), as the Whoosh analyzer does."""

from __future__ import annotations

import pytest

from search.backend import open_backend
from search.request import SearchRequest
from solr_cluster import index_into_solr, solr_cluster, solr_config  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow

TEXTS = {
    "mueller.txt": "Müller wins the Zürich derby\n\nThomas Müller scored twice as the café owners of "
                   "Zürich cheered the résumé of a long career.\n",
    "plain.txt": "Muller retires\n\nA striker named Muller, written without accents by this "
                 "newspaper, said the cafe was closed.\n",
    "other.txt": "Harvest report\n\nThe clove harvest fell sharply this season, growers said.\n",
}


@pytest.fixture(scope="module")
def backend(solr_cluster, tmp_path_factory):  # noqa: F811
    corpus = tmp_path_factory.mktemp("accents") / "corpus"
    corpus.mkdir()
    for name, text in TEXTS.items():
        (corpus / name).write_text(text, "utf-8")
    state = tmp_path_factory.mktemp("accents-state")
    collection = solr_cluster.create_collection("accents")
    index_into_solr(solr_cluster, corpus, state, collection)
    eng = open_backend(solr_config(solr_cluster, collection, state))
    yield eng
    eng.close()
    solr_cluster.admin(action="DELETE", name=collection)


def paths(res) -> list[str]:
    return sorted(h.path for h in res.hits)


@pytest.mark.parametrize("q", ["Muller", "Müller", "MÜLLER", "muller"])
def test_accented_and_plain_spellings_find_each_other(backend, q):
    assert paths(backend.search(SearchRequest(q=q))) == ["mueller.txt", "plain.txt"]


def test_folding_reaches_phrases_and_marks_the_original_spelling(backend):
    res = backend.search(SearchRequest(q='"thomas muller"'))
    assert paths(res) == ["mueller.txt"]
    assert "<mark>Thomas Müller</mark>" in res.hits[0].snippet
    assert paths(backend.search(SearchRequest(q="zurich cafe"))) == ["mueller.txt", "plain.txt"]
    assert paths(backend.search(SearchRequest(q="zurich cafe", all_words=True))) == ["mueller.txt"]
    assert paths(backend.search(SearchRequest(q="resume"))) == ["mueller.txt"]
