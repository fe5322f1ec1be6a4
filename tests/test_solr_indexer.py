"""The indexer's Solr sink on a real local SolrCloud: incremental runs, copies, the run
lock (exit 75) and a cluster that cannot be reached (exit 1, nothing recorded)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SEEDS
from indexer.store import RunLock
from search.backend import open_backend
from search.request import SearchRequest
from solr_cluster import index_into_solr, solr_cluster, solr_config  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow


def summary(proc) -> dict:
    return json.loads(proc.stdout)


@pytest.fixture()
def collection(solr_cluster, request):  # noqa: F811
    """A fresh collection per test (name from the test), deleted afterwards."""
    name = request.node.name.replace("test_", "t_")[:40]
    solr_cluster.create_collection(name)
    yield name
    solr_cluster.admin(action="DELETE", name=name)


def paths_in(backend) -> list[str]:
    return sorted(h.path for h in backend.search(SearchRequest(size=100)).hits)


def test_incremental_runs_add_change_remove(solr_cluster, collection, tmp_path):  # noqa: F811
    corpus, state = tmp_path / "corpus", tmp_path / "state"
    shutil.copytree(SEEDS, corpus)
    first = summary(index_into_solr(solr_cluster, corpus, state, collection, "--json"))
    assert (first["added"], first["duplicates"], first["skipped"]) == (5, 0, 0)
    backend = open_backend(solr_config(solr_cluster, collection, state))
    try:
        seeds = paths_in(backend)
        assert len(seeds) == 5
        again = summary(index_into_solr(solr_cluster, corpus, state, collection, "--json"))
        assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 5)

        victim, changed = sorted(corpus.glob("00[01]_*.txt"))
        victim.unlink()
        changed.write_text(changed.read_text("utf-8").replace("surveillance", "zyxwvut surveillance", 1), "utf-8")
        (corpus / "new" / "deep").mkdir(parents=True)
        (corpus / "new" / "deep" / "extra.txt").write_text("Quokka census\n\nThe quokka census found more quokkas.\n",
                                                           "utf-8")
        os.utime(corpus / "002_51ab61055f3fe5d9.txt")  # touched, same bytes
        third = summary(index_into_solr(solr_cluster, corpus, state, collection, "--json"))
        assert (third["added"], third["updated"], third["removed"], third["unchanged"]) == (1, 1, 1, 3)
        assert victim.name not in paths_in(backend) and "new/deep/extra.txt" in paths_in(backend)
        assert backend.search(SearchRequest(q="zyxwvut")).hits[0].path == changed.name
        assert backend.search(SearchRequest(q="quokka")).total == 1
        assert backend.stats()["last_run"]["removed"] == 1
    finally:
        backend.close()


def test_copies_collapse_and_survive_their_original(solr_cluster, collection, tmp_path):  # noqa: F811
    corpus, state = tmp_path / "corpus", tmp_path / "state"
    shutil.copytree(SEEDS, corpus)
    original = sorted(corpus.glob("000_*.txt"))[0]
    (corpus / "copies").mkdir()
    shutil.copy(original, corpus / "copies" / "copy.txt")
    run1 = summary(index_into_solr(solr_cluster, corpus, state, collection, "--json"))
    assert (run1["added"], run1["duplicates"]) == (5, 1)
    backend = open_backend(solr_config(solr_cluster, collection, state))
    try:
        hit = next(h for h in backend.search(SearchRequest(q="inoperable")).hits if h.path == original.name)
        assert len(hit.duplicates) == 1 and backend.article(hit.duplicates[0]).id == hit.id
        original.unlink()
        run2 = summary(index_into_solr(solr_cluster, corpus, state, collection, "--json"))
        assert run2["removed"] == 1
        paths = [h.path for h in backend.search(SearchRequest(q="inoperable")).hits]
        assert "copies/copy.txt" in paths and original.name not in paths
        assert backend.stats()["duplicates"] == 0 and backend.stats()["documents"] == 5
    finally:
        backend.close()


def test_rebuild_drops_documents_no_record_knows(solr_cluster, collection, tmp_path):  # noqa: F811
    corpus, state = tmp_path / "corpus", tmp_path / "state"
    shutil.copytree(SEEDS, corpus)
    index_into_solr(solr_cluster, corpus, state, collection)
    gone = sorted(corpus.glob("004_*.txt"))[0]
    gone.unlink()
    shutil.rmtree(state)  # the record is lost: an incremental run cannot know 004 went away
    index_into_solr(solr_cluster, corpus, state, collection)
    backend = open_backend(solr_config(solr_cluster, collection, state))
    try:
        assert gone.name in paths_in(backend)
        rebuilt = summary(index_into_solr(solr_cluster, corpus, state, collection, "--rebuild", "--json"))
        assert rebuilt["added"] + rebuilt["updated"] == 4
        assert gone.name not in paths_in(backend) and len(paths_in(backend)) == 4
    finally:
        backend.close()


def test_overlapping_run_exits_75_and_changes_nothing(solr_cluster, collection, tmp_path):  # noqa: F811
    corpus, state = tmp_path / "corpus", tmp_path / "state"
    shutil.copytree(SEEDS, corpus)
    with RunLock(state):
        proc = subprocess.run(
            [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(state), "--quiet"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "SEARCH_BACKEND": "solr", "SOLR_URL": solr_cluster.url, "SOLR_COLLECTION": collection},
        )
    assert proc.returncode == 75, proc.stderr
    assert "another indexer run" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    backend = open_backend(solr_config(solr_cluster, collection, state))
    try:
        assert backend.search(SearchRequest()).total == 0
    finally:
        backend.close()


def test_unreachable_solr_is_a_clear_error_and_the_next_run_completes(solr_cluster, collection, tmp_path):  # noqa: F811
    corpus, state = tmp_path / "corpus", tmp_path / "state"
    shutil.copytree(SEEDS, corpus)
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(state), "--quiet",
         "--sink", "solr", "--solr-url", "http://127.0.0.1:9/solr", "--solr-collection", collection],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1
    assert "no Solr node answered" in proc.stderr and "Traceback" not in proc.stderr
    done = summary(index_into_solr(solr_cluster, corpus, state, collection, "--json"))
    assert done["added"] == 5 and done["unchanged"] == 0  # nothing was recorded by the failed run


def test_a_collection_not_routed_by_story_is_refused(solr_cluster, tmp_path):  # noqa: F811
    """A collection made without router.field=route would split stories over shards:
    one clear line (what to do), exit 1, nothing sent and no file recorded."""
    name = "t_unrouted"
    solr_cluster.admin(action="CREATE", name=name, numShards="2", replicationFactor="1",
                       waitForFinalState="true", **{"collection.configName": "news"})
    state = tmp_path / "state"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "indexer", "--corpus", str(SEEDS), "--index", str(state), "--quiet",
             "--sink", "solr", "--solr-url", solr_cluster.url, "--solr-collection", name],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 1, proc.stderr
        assert "router.field=route" in proc.stderr and "--rebuild" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
        backend = open_backend(solr_config(solr_cluster, name, state))
        try:
            assert backend.search(SearchRequest()).total == 0
        finally:
            backend.close()
    finally:
        solr_cluster.admin(action="DELETE", name=name)
