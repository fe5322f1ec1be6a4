"""Bounded load test of the production server, next to an FTS5 peer, plus a memory soak.

    python bench/load.py [--index DIR] [--seconds 60] [--concurrency 8 32] [--soak 300]

1. Reuters-21578 (~20k stories) indexed by the real indexer (or an existing --index).
2. `python app.py` (waitress, as users start it) on 127.0.0.1; a load client (2 processes
   of keep-alive threads) sends realistic, distinct JSON API queries for --seconds at each
   --concurrency; requests/s, p50/p95/p99 and errors (any status but 200) are printed.
3. The same load against bench/fts5_server.py (Flask + SQLite FTS5 over the same texts).
4. A soak of --soak seconds against our server, its RSS sampled at start and end.
Only loopback is targeted; every loop is bounded by a deadline.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.index_speed import write_corpus  # noqa: E402
from bench.search_speed import QUERIES, free_port, rss_mb  # noqa: E402
from common.layout import open_live_index  # noqa: E402

TOPICS = QUERIES  # the speed bench's 50 realistic news queries
VARIANTS = [{}, {"sort": "newest"}, {"from": "1987-03", "to": "1987-04"}, {"page": "2"},
            {"from": "1987-06-01"}, {"sort": "oldest", "size": "20"}]


def request_paths() -> list[str]:
    """300 distinct API requests: topics x sorts, date filters and pages."""
    return [
        "/api/search?" + urllib.parse.urlencode({"q": q, **v})
        for v, q in itertools.product(VARIANTS, TOPICS)
    ]


def wait_ready(port: int, path: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            con = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            con.request("GET", path)
            if con.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server on port {port} did not come up")


def _client_proc(port: int, threads: int, deadline: float, paths: list[str], offset: int, out) -> None:
    """One client process: keep-alive threads sending requests until the deadline."""
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(k: int) -> None:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = offset + k * 7
        mine, errs = [], 0
        while time.time() < deadline:
            path = paths[i % len(paths)]
            i += threads * 2
            t0 = time.perf_counter()
            try:
                con.request("GET", path)
                resp = con.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                con.close()
                con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - t0)
            errs += not ok
        with lock:
            lat.extend(mine)
            errors[0] += errs

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((lat, errors[0]))


def run_load(port: int, concurrency: int, seconds: float) -> dict:
    """Load from 2 client processes; returns requests/s, percentiles (ms) and errors."""
    paths = request_paths()
    deadline = time.time() + seconds
    out = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_client_proc,
                                args=(port, max(1, concurrency // 2), deadline, paths, p * 3, out))
        for p in range(2)
    ]
    t0 = time.time()
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    wall = time.time() - t0
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return {"requests": len(lat), "rps": len(lat) / wall, "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99), "errors": errors}


def build_fts(db_path: Path, index_dir: Path) -> None:
    ix = open_live_index(index_dir)
    with ix.searcher() as s:
        rows = [(d.get("title", ""), d.get("body", "")) for d in s.all_stored_fields() if d["kind"] == "article"]
    con = sqlite3.connect(db_path)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    with con:
        con.executemany("INSERT INTO docs VALUES (?, ?)", rows)
    con.close()


def start(cmd: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, help="an existing INDEX_DIR of Reuters (else built)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--soak", type=float, default=300, help="soak seconds (0 to skip)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    index = args.index
    if index is None:
        corpus, index = work / "reuters", work / "index"
        write_corpus(corpus, None)
        subprocess.run([sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index),
                        "--quiet"], cwd=ROOT, check=True)
    db = work / "fts5.db"
    build_fts(db, index)

    ours_port, peer_port = free_port(), free_port()
    ours = start([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(ours_port)],
                 {"INDEX_DIR": str(index)})
    peer = start([sys.executable, "bench/fts5_server.py", "--db", str(db), "--port", str(peer_port)])
    try:
        wait_ready(ours_port, "/healthz")
        wait_ready(peer_port, "/api/search?q=oil")
        for name, port in (("ours (app.py)", ours_port), ("FTS5 peer", peer_port)):
            run_load(port, 4, 5)  # warm-up, not reported
        print(f"{'server':<16}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for c in args.concurrency:
            for name, port in (("ours (app.py)", ours_port), ("FTS5 peer", peer_port)):
                r = run_load(port, c, args.seconds)
                print(f"{name:<16}{c:>5}{r['rps']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
                      f"{r['errors']:>8}", flush=True)
        if args.soak:
            before = rss_mb(ours.pid)
            r = run_load(ours_port, 16, args.soak)
            after = rss_mb(ours.pid)
            print(f"soak {args.soak:.0f} s at 16 connections: {r['requests']} requests, {r['errors']} errors, "
                  f"server RSS {before:.0f} MB at start, {after:.0f} MB at end")
    finally:
        for p in (ours, peer):
            p.terminate()
            p.wait(timeout=30)


if __name__ == "__main__":
    main()
