"""Bounded load test of the production server, next to an FTS5 peer, plus a memory soak.

    python bench/load.py [--index DIR] [--seconds 60] [--concurrency 8 32] [--soak 300]
                         [--backend whoosh solr]

1. Reuters-21578 (~20k stories) indexed by the real indexer (or an existing --index).
2. `python app.py` (waitress, as users start it) on 127.0.0.1; a load client (2 processes
   of keep-alive threads) sends realistic, distinct JSON API queries for --seconds at each
   --concurrency; requests/s, p50/p95/p99 and errors (any status but 200) are printed.
3. The same load against bench/fts5_server.py (Flask + SQLite FTS5 over the same texts).
4. A soak of --soak seconds against our server, its RSS sampled at start and end.
With ``--backend solr`` the same corpus is also indexed into a local SolrCloud by the
real indexer (``--sink solr``, timed next to the Whoosh build of the same run) and
app.py is served a second time with SEARCH_BACKEND=solr under the same load.
``--copies N --backend solr`` (N=10: ~200k stories) skips the files and the indexer:
Reuters repeated N times (bench/corpora.py) goes straight into Solr by the bench loader
(bench/solr_feed.py, timed) and into the FTS5 peer, at a size the indexer's file runs
would take hours to build here.
Only loopback is targeted; every loop is bounded by a deadline.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
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
    fts_from_rows(db_path, rows)


def fts_from_rows(db_path: Path, rows) -> None:
    """The FTS5 peer's table (title, body)."""
    con = sqlite3.connect(db_path)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    with con:
        con.executemany("INSERT INTO docs VALUES (?, ?)", rows)
    con.close()


def start(cmd: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed_index(corpus: Path, index: Path, *extra: str) -> float:
    """Seconds for one `python -m indexer` run (the product path: files, cleaning, sink)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index), "--quiet",
                    *extra], cwd=ROOT, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, help="an existing INDEX_DIR of Reuters (else built)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--soak", type=float, default=300, help="soak seconds (0 to skip)")
    ap.add_argument("--backend", nargs="+", choices=("whoosh", "solr"), default=["whoosh"])
    ap.add_argument("--copies", type=int, default=0,
                    help="Solr only: Reuters x N by the bench loader (10: ~200k), not files and the indexer")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                    help="server processes for ours and for the peer (production: one per core)")
    args = ap.parse_args()
    if args.copies and args.backend != ["solr"]:
        ap.error("--copies runs the Solr backend only (--backend solr)")
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    servers, procs, cluster = [], [], None
    try:
        if args.copies:
            cluster = start_cluster_loaded(work, args.copies)
            servers.append(("ours (solr)", free_port(), {"SEARCH_BACKEND": "solr", "SOLR_URL": cluster.url,
                                                          "INDEX_DIR": str(work / "solr-state")}))
        else:
            cluster = index_from_files(args, work, servers)
        peer_port = free_port()
        for _name, port, env in servers:
            procs.append(start([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port),
                                "--processes", str(args.processes)], env))
        procs.append(start([sys.executable, "bench/fts5_server.py", "--db", str(work / "fts5.db"),
                            "--port", str(peer_port), "--processes", str(args.processes)]))
        servers.append(("FTS5 peer", peer_port, {}))
        measure_all(args, servers, procs, cluster)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
        if cluster is not None:
            cluster.close()


def index_from_files(args, work: Path, servers: list):
    """Reuters as files, indexed by the real indexer (Whoosh, and Solr with --sink solr), timed."""
    corpus, index = work / "reuters", args.index
    n = write_corpus(corpus, None) if index is None or "solr" in args.backend else 0
    if index is None:
        index = work / "index"
        secs = timed_index(corpus, index)
        print(f"whoosh: indexed {n} files in {secs:.0f}s ({n / secs:.0f} files/s)", flush=True)
    build_fts(work / "fts5.db", index)
    cluster = None
    if "whoosh" in args.backend:
        servers.append(("ours (whoosh)", free_port(), {"INDEX_DIR": str(index)}))
    if "solr" in args.backend:
        from bench.solr_feed import start_cluster

        cluster = start_cluster()
        secs = timed_index(corpus, work / "solr-state", "--sink", "solr", "--solr-url", cluster.url)
        print(f"solr: indexed {n} files in {secs:.0f}s ({n / secs:.0f} files/s) by `python -m indexer --sink solr`",
              flush=True)
        servers.append(("ours (solr)", free_port(), {"SEARCH_BACKEND": "solr", "SOLR_URL": cluster.url,
                                                      "INDEX_DIR": str(work / "solr-state")}))
    return cluster


def start_cluster_loaded(work: Path, copies: int):
    """A local SolrCloud loaded with Reuters x copies (bench loader), and the FTS5 peer's table; timed."""
    from bench.corpora import reuters_articles, reuters_stories
    from bench.solr_feed import load_articles, start_cluster
    from common.solr_http import SolrClient

    stories = reuters_stories()
    t0 = time.perf_counter()
    fts_from_rows(work / "fts5.db", ((a.title, a.body) for a in reuters_articles(copies, stories)))
    fts = len(stories) * copies / (time.perf_counter() - t0)
    (work / "solr-state").mkdir()
    cluster = start_cluster()
    client = SolrClient(cluster.url, "news")
    try:
        n, secs = load_articles(client, reuters_articles(copies, stories))
    finally:
        client.close()
    print(f"{n} stories: Solr bench load {n / secs:.0f} stories/s ({n / secs / fts:.2f}x FTS5's insert rate "
          f"of {fts:.0f}/s in this run)", flush=True)
    return cluster


def tree_rss_mb(pid: int) -> float:
    """RSS of a server and of the processes it forked (``--processes``)."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    return rss_mb(pid) + sum(rss_mb(int(k)) for k in kids)


def measure_all(args, servers: list, procs: list, cluster) -> None:
    """Warm each server, run the load at each concurrency, then the soak of the first."""
    for name, port, _env in servers:
        wait_ready(port, "/healthz" if name != "FTS5 peer" else "/api/search?q=oil")
        run_load(port, 4, 5)  # warm-up, not reported
    print(f"each server: {args.processes} process(es) x 8 threads", flush=True)
    print(f"{'server':<16}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for c in args.concurrency:
        for name, port, _env in servers:
            r = run_load(port, c, args.seconds)
            print(f"{name:<16}{c:>5}{r['rps']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
                  f"{r['errors']:>8}", flush=True)
    if cluster is not None:
        print(f"Solr JVM (2 nodes + ZooKeeper) RSS {rss_mb(cluster.proc.pid):.0f} MB", flush=True)
    if args.soak:
        before = tree_rss_mb(procs[0].pid)
        r = run_load(servers[0][1], 16, args.soak)
        after = tree_rss_mb(procs[0].pid)
        print(f"soak {args.soak:.0f} s at 16 connections ({servers[0][0]}): {r['requests']} requests, "
              f"{r['errors']} errors, server RSS {before:.0f} MB at start, {after:.0f} MB at end")


if __name__ == "__main__":
    main()
