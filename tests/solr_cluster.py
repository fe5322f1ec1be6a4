"""A real local SolrCloud for the Solr tests: the repo's launcher (solr/launcher), started
once per test session, 2 Jetty nodes and an embedded ZooKeeper.

`make test` builds the launcher first (`make solr-launcher`); a session without it builds
it here once (offline when the local Maven repository has the artifacts). Tests that need
the cluster skip with the reason when Java or Maven are missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from solr.local import SolrCluster, launcher_unavailable


@pytest.fixture(scope="session")
def solr_cluster():
    """The local SolrCloud, started once per session and stopped at its end."""
    reason = launcher_unavailable()
    if reason:
        pytest.skip(reason)
    cluster = SolrCluster()
    try:
        yield cluster
    finally:
        cluster.close()


def index_into_solr(cluster: SolrCluster, corpus: Path, state: Path, collection: str, *extra: str):
    """Run `python -m indexer --sink solr` as cron would (a real subprocess)."""
    from conftest import run_indexer

    return run_indexer(corpus, state, "--quiet", "--sink", "solr", "--solr-url", cluster.url,
                       "--solr-collection", collection, *extra)


def solr_config(cluster: SolrCluster, collection: str, state: Path) -> dict:
    """create_app/open_backend settings for a collection of the local cluster."""
    return {"SEARCH_BACKEND": "solr", "SOLR_URL": cluster.url, "SOLR_COLLECTION": collection,
            "INDEX_DIR": str(state)}


@pytest.fixture(scope="session")
def solr_search_config(solr_cluster, tmp_path_factory) -> dict:
    """The search test corpus (search_fixtures.write_corpus) indexed into collection "search"."""
    from search_fixtures import write_corpus

    corpus = write_corpus(tmp_path_factory.mktemp("solr-search-corpus") / "corpus")
    state = tmp_path_factory.mktemp("solr-search-state")
    collection = solr_cluster.create_collection("search")
    index_into_solr(solr_cluster, corpus, state, collection)
    return solr_config(solr_cluster, collection, state)
