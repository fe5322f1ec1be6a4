"""Losing one of the two Solr nodes: searches keep answering from the replicas on the other
node; an indexer run either completes or fails with one clear line, the next run completes,
and nothing is lost once the node is back (every corpus file has its document)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from app import create_app
from common.solr_http import SolrClient, SolrRequestError, SolrUnavailable
from conftest import ROOT, SHARED_DATA
from datasets import write_bbc_corpus
from solr_cluster import index_into_solr, solr_cluster, solr_config, solr_search_config  # noqa: F401

pytestmark = pytest.mark.slow


def test_searches_answer_while_a_node_stops(solr_cluster, solr_search_config):  # noqa: F811
    app = create_app({**solr_search_config})
    client = app.test_client()
    expected = client.get("/api/search?q=megvii").get_json()["total"]
    answers: list[tuple[int, int | None]] = []
    stop = threading.Event()

    def search_loop():
        while not stop.is_set():
            r = client.get("/api/search?q=megvii")
            answers.append((r.status_code, (r.get_json() or {}).get("total")))

    worker = threading.Thread(target=search_loop)
    worker.start()
    try:
        time.sleep(1)
        solr_cluster.stop_node(0)  # the node SOLR_URL names first
        during = len(answers)
        time.sleep(3)
    finally:
        stop.set()
        worker.join()
        try:
            after = client.get("/api/search?q=megvii&size=1").get_json()
            article = client.get(f"/api/articles/{after['hits'][0]['id']}")
        finally:
            solr_cluster.start_node(0)
            app.extensions["search_engine"].close()
    assert len(answers) > during > 0  # searches ran before and after the stop
    assert set(answers) == {(200, expected)}
    assert after["total"] == expected and article.status_code == 200


def test_indexer_run_through_a_node_loss_loses_nothing(solr_cluster, tmp_path):  # noqa: F811
    if not (SHARED_DATA / "bbc" / "docs.jsonl.gz").exists():
        pytest.skip("../shared/data/bbc is missing")
    corpus, state = tmp_path / "bbc", tmp_path / "state"
    docs = write_bbc_corpus(corpus)  # all 2,225: dozens of batches after the first is confirmed
    collection = solr_cluster.create_collection("node_loss")
    cmd = [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(state), "--quiet", "--json",
           "--sink", "solr", "--solr-url", solr_cluster.url, "--solr-collection", collection, "--batch-size", "40"]
    client = SolrClient(solr_cluster.url, collection)
    stopped = False
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as run:
        try:
            # Stop a node once Solr has confirmed a first batch (not after a fixed sleep: a
            # quiet machine finished the whole run in less).
            deadline = time.monotonic() + 600  # a hang guard only
            while _confirmed(client) == 0 and run.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert run.poll() is None, "the run ended before the node stopped: give it more files"
            solr_cluster.stop_node(1)
            stopped = True
            out, err = run.communicate(timeout=900)
            print(f"run through the node loss: exit {run.returncode} {err.strip()[:300]}")
            if run.returncode != 0:
                assert run.returncode == 1 and "Traceback" not in err
                assert len(err.strip().splitlines()) == 1 and "Solr" in err
            # The next run completes, with the node still down.
            index_into_solr(solr_cluster, corpus, state, collection)
        finally:
            if run.poll() is None:
                run.kill()
            run.communicate()  # and the context closes its pipes
            if stopped:
                solr_cluster.start_node(1)
    final = json.loads(index_into_solr(solr_cluster, corpus, state, collection, "--json").stdout)
    assert final["unchanged"] == len(docs) and final["added"] == final["updated"] == 0
    app = create_app(solr_config(solr_cluster, collection, state))
    try:
        stats = app.test_client().get("/api/stats").get_json()
        assert stats["documents"] + stats["duplicates"] + stats["skipped_files"] == len(docs)
        backend = app.extensions["search_engine"]
        ids = backend.client.get("select", [("q", "-kind:run"), ("fl", "path"), ("rows", "5000")])
        assert sorted(d["path"] for d in ids["response"]["docs"]) == sorted(f"{d['id']}.txt" for d in docs)
    finally:
        app.extensions["search_engine"].close()


def _confirmed(client: SolrClient) -> int:
    """Documents the collection holds now (0 while no batch is committed or it is unreachable)."""
    try:
        return int(client.get("select", [("q", "*:*"), ("rows", "0")])["response"]["numFound"])
    except (SolrUnavailable, SolrRequestError):
        return 0
