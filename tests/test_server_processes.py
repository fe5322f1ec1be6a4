"""`python app.py --processes 2`: both cores serve, a dead process is replaced, and the
server's processes stop with it (SIGTERM, and SIGKILL of the supervisor too).

A real server over the seed index on 127.0.0.1; no mocks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")

WAIT_S = 120  # hang guards only


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    try:
        return {int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _until(check, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _search(base: str, q: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/search?q={q}", timeout=WAIT_S) as r:
        assert r.status == 200
        return json.loads(r.read())


@pytest.fixture
def server(seed_index):
    port = _free_port()
    env = {**os.environ, "INDEX_DIR": str(seed_index), "PYTHONPATH": str(ROOT)}
    env.pop("CORPUS_DIR", None)
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--processes", "2", "--threads", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: len(_children(proc.pid)) == 2, "two server processes")
        yield proc, base, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=WAIT_S)


def test_two_processes_answer_and_a_dead_one_is_replaced(server):
    proc, base, _port = server
    first = _children(proc.pid)
    with ThreadPoolExecutor(8) as pool:
        totals = list(pool.map(lambda q: _search(base, q)["total"], ["megvii", "ijop", "face"] * 10))
    assert all(t > 0 for t in totals) and len(set(totals[::3])) == 1

    victim = sorted(first)[0]
    os.kill(victim, signal.SIGKILL)
    now = _until(lambda: (c := _children(proc.pid)) and len(c) == 2 and victim not in c and c, "a replacement")
    assert now - first and first - now == {victim}
    assert _search(base, "megvii")["total"] == totals[0]
    # SIGTERM straight after a fork (the replacement's, here) still stops everything.
    os.kill(sorted(now)[0], signal.SIGKILL)
    _until(lambda: len(_children(proc.pid) - now) == 1, "another replacement")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=WAIT_S) == 0


def test_sigterm_stops_every_process_and_frees_the_port(server):
    proc, _base, port = server
    kids = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=WAIT_S) == 0
    _until(lambda: not any(_alive(k) for k in kids), "the server processes to exit")
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nobody listens any more


def test_processes_die_with_a_killed_supervisor(server):
    proc, _base, _port = server
    kids = _children(proc.pid)
    proc.kill()
    proc.wait(timeout=WAIT_S)
    _until(lambda: not any(_alive(k) for k in kids), "orphaned server processes to exit")
