"""The backend interface: SearchEngine satisfies it and the app opens one by name."""

from __future__ import annotations

import pytest

from app import create_app
from search.backend import BackendConfigError, SearchBackend, open_backend
from search.engine import SearchEngine
from search.request import SearchRequest


def test_search_engine_is_a_backend(seed_index):
    backend = open_backend({"INDEX_DIR": str(seed_index)})
    try:
        assert isinstance(backend, SearchEngine)
        assert isinstance(backend, SearchBackend)
        res = backend.search(SearchRequest(q="Megvii"))
        assert res.total >= 1
        assert backend.article(res.hits[0].id).id == res.hits[0].id
        assert backend.health()["status"] == "ok"
        assert backend.stats()["documents"] >= 1
    finally:
        backend.close()


def test_whoosh_is_the_default_and_names_are_case_blind(seed_index):
    assert isinstance(open_backend({"INDEX_DIR": str(seed_index), "SEARCH_BACKEND": " Whoosh "}), SearchEngine)
    app = create_app({"INDEX_DIR": str(seed_index)})
    assert isinstance(app.extensions["search_engine"], SearchEngine)


@pytest.mark.parametrize("config, words", [
    ({"INDEX_DIR": "/x", "SEARCH_BACKEND": "elastic"}, "'elastic' is not one of whoosh"),
    ({"SEARCH_BACKEND": "whoosh"}, "needs INDEX_DIR"),
])
def test_bad_backend_config_says_what_is_wrong(config, words):
    with pytest.raises(BackendConfigError, match=words):
        open_backend(config)
