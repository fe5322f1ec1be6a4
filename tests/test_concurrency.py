"""Requests arriving while the indexer commits never fail and see one committed state.

A real waitress server on 127.0.0.1 answers a bounded loop of API requests from client
threads while the real indexer (a subprocess, as cron runs it) commits an incremental
run that adds documents, a ``--rebuild`` (a new version swapped in) and an incremental
run that deletes documents, all over BBC articles.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_DATA, run_indexer
from datasets import write_bbc_corpus
from search.engine import SearchEngine
from search.request import parse_search_request

QUERIES = ("", "election", "film award", "mobile phone market", "economy growth")
DEADLINE_S = 600  # a hang guard only (~15 s on an idle 2-core machine; far more under load)

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "bbc").exists(), reason="needs ../shared/data/bbc")


def _totals(index_dir: Path) -> dict[str, int]:
    """Each query's total in the index state that is committed now."""
    eng = SearchEngine(index_dir)
    try:
        return {q: eng.search(parse_search_request({"q": q})).total for q in QUERIES}
    finally:
        eng.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(index_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`python app.py` (waitress) on a free port, as production runs it; stderr to ``log``."""
    port = _free_port()
    env = {**os.environ, "INDEX_DIR": str(index_dir), "PYTHONPATH": str(ROOT)}
    env.pop("CORPUS_DIR", None)
    with log.open("wb") as err:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--threads", "4"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                r.read()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


@pytest.mark.slow
def test_requests_during_commits_never_fail_and_see_committed_states(tmp_path):
    t_start = time.monotonic()
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    docs = write_bbc_corpus(corpus, limit=130)
    held = tmp_path / "later"
    held.mkdir()
    later = [(corpus / f"{doc['id']}.txt", held / f"{k}.txt") for k, doc in enumerate(docs[90:])]
    for src, dest in later:  # held back for the incremental run
        src.rename(dest)
    run_indexer(corpus, index_dir, "--quiet")
    committed = [_totals(index_dir)]

    server_log = tmp_path / "server.log"
    server, base = _serve(index_dir, server_log)

    stop = threading.Event()
    seen: list[tuple] = []  # (query, page, total, (version, generation), phase)
    failures: list[str] = []
    phase = {"name": "before"}
    per_phase: dict[str, int] = {}
    lock = threading.Lock()

    def client(k: int) -> None:
        i = k
        while not stop.is_set():
            q = QUERIES[i % len(QUERIES)]
            page = 1 + (i // len(QUERIES)) % 3
            i += 1
            url = f"{base}/api/search?{urllib.parse.urlencode({'q': q, 'page': page, 'size': 7})}"
            try:
                with urllib.request.urlopen(url, timeout=20) as r:
                    body = json.loads(r.read())
                    status = r.status
            except (urllib.error.URLError, OSError, ValueError) as exc:
                with lock:
                    failures.append(f"{url}: {exc!r}")
                continue
            if status != 200:
                failures.append(f"{url}: HTTP {status}")
                continue
            total, n_hits = body["total"], len(body["hits"])
            expected_hits = max(0, min(7, total - 7 * (page - 1)))
            if n_hits != expected_hits:
                failures.append(f"{url}: {n_hits} hits on page {page} of total {total}")
            state = (body["index"]["version"], body["index"]["generation"])
            with lock:
                seen.append((q, page, total, state, phase["name"]))
                per_phase[phase["name"]] = per_phase.get(phase["name"], 0) + 1

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(3)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.3)
        # 1. incremental run that adds 40 articles
        for src, dest in later:
            dest.rename(src)
        phase["name"] = "add"
        run_indexer(corpus, index_dir, "--quiet")
        committed.append(_totals(index_dir))
        # 2. rebuild: a new version written beside the old one, then swapped in
        phase["name"] = "rebuild"
        run_indexer(corpus, index_dir, "--rebuild", "--quiet")
        committed.append(_totals(index_dir))
        # 3. incremental run that deletes 25 articles
        for doc in docs[:25]:
            (corpus / f"{doc['id']}.txt").unlink()
        phase["name"] = "delete"
        run_indexer(corpus, index_dir, "--quiet")
        committed.append(_totals(index_dir))
        phase["name"] = "after"
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=25)
        server.terminate()
        server.wait(timeout=10)

    if failures:  # pytest shows captured output in full, where it cuts a long message
        print(server_log.read_text(errors="replace")[-20000:])
    assert not failures, failures[:5]
    for name in ("add", "rebuild", "delete"):
        assert per_phase.get(name, 0) > 0, f"no request was answered while the {name} run committed"
    assert committed[0][""] < committed[1][""] and committed[3][""] < committed[2][""]
    # Every answer is one committed state: its total is that state's total, and all
    # answers that name the same (version, generation) agree on it.
    by_state: dict[tuple, dict[str, int]] = {}
    bad = [x for x in seen if x[2] not in {c[x[0]] for c in committed}]
    assert not bad, (len(bad), bad[:5], committed)
    for q, _page, total, state, _phase in seen:
        assert by_state.setdefault(state, {}).setdefault(q, total) == total, (state, q)
    assert time.monotonic() - t_start < DEADLINE_S
