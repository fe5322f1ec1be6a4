"""Search speed through the WSGI app vs SQLite FTS5, at 20k (and optionally 200k) stories.

    PYTHONPATH=. python bench/search_speed.py [--copies 10] [--reps 3] [--backend whoosh solr] [--verbose]

``--backend solr`` serves the same app with SEARCH_BACKEND=solr over a local SolrCloud
(solr/launcher: 2 nodes, 2 shards x 2 replicas on this machine) loaded with the same
articles, and prints the rate of that load next to FTS5's insert rate of the same texts.

Reuters-21578 (every non-empty story, ~19k) is written as files with ``--copies``
repetitions (new ids, each copy a syndicated story) and indexed by ``python -m indexer``,
the path a user takes (cleaning, story clusters), or ``--index DIR`` names such an index. The app is served by waitress (``python app.py``, 8 threads) in a subprocess
and queried over HTTP on 127.0.0.1: top 10 with snippets and facets, the app's default semantics (all-words matches first,
then partial ones; one hit per story).
Two FTS5 peers answer the same texts and queries in the same run, interleaved:

- **FTS5 HTTP peer** (the like-for-like row): ``bench/fts5_server.py --like-app``, Flask
  on waitress with 8 threads as ours, doing the work our ``/api/search`` does: top 10 with
  every word first, escaped ``snippet()``, total and year/month/source facets by GROUP BY
  over the any-word matches, the same JSON shape.
- **FTS5 in-process** (kept from earlier rounds): ``bm25`` top 10 + ``snippet()`` of the
  all-word matches called in this process, no HTTP, no facets, no total.

``--verbose`` asks TIME's 83 queries instead (sentences and questions of 3-19 words, the
queries pseudo-relevance feedback runs for; the default 50 have 1-3 words and never use
it), and the library CPU line adds ours with feedback off.

Warm: one untimed pass first; no result cache anywhere. Prints p50/p95 of each, the
ratios and the servers' RSS, then the library's CPU per query next to FTS5's.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.corpora import reuters_articles, reuters_stories
from bench.index_speed import write_corpus

ROOT = Path(__file__).resolve().parent.parent

QUERIES = [
    "oil prices", "opec production", "crude oil output", "interest rates", "federal reserve",
    "trade deficit", "japan trade surplus", "wheat exports", "grain shipments", "cocoa",
    "coffee prices", "sugar quota", "gold", "bank of england", "dollar yen", "stock market",
    "takeover bid", "merger agreement", "acquisition", "quarterly earnings", "net profit",
    "dividend", "bankruptcy", "inflation", "unemployment rate", "gnp growth", "money supply",
    "bundesbank", "brazil debt", "soviet grain", "iran iraq", "strike", "shipping", "steel",
    "copper", "tin council", "natural gas", "chrysler", "ibm", "texaco pennzoil",
    "treasury bonds", "budget deficit", "tax reform", "corn", "soybeans", "airline",
    "computer sales", "mexico oil", "saudi arabia", "west germany",
]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory in MB (``RssAnon``: its own; ``RssFile``: mapped files)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


FTS_COLUMNS = "id, title, body, path, source, date, year, month, tags"


def build_fts(path: Path, articles) -> sqlite3.Connection:
    """The FTS5 table both peers search: title and body indexed, the hit fields stored."""
    db = sqlite3.connect(path)
    db.execute("CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, title, body, path UNINDEXED, source UNINDEXED, "
               "date UNINDEXED, year UNINDEXED, month UNINDEXED, tags UNINDEXED, tokenize='porter unicode61')")
    rows = ((a.id, a.title, a.body, a.path, a.source, a.date.iso() if a.date else None,
             a.date.iso()[:4] if a.date else None, a.date.iso()[:7] if a.date else None, ",".join(a.tags))
            for a in articles)
    db.executemany(f"INSERT INTO t({FTS_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", rows)
    db.commit()
    return db


def fts_query(db: sqlite3.Connection, q: str) -> list:
    match = " ".join('"' + w + '"' for w in q.split())
    return db.execute(
        "SELECT id, title, bm25(t), snippet(t, 2, '<mark>', '</mark>', '…', 16) FROM t "
        "WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10", (match,)
    ).fetchall()


def library_cpu(index_dir: Path, db: sqlite3.Connection, reps: int) -> None:
    """CPU time per query of the search library (no HTTP) next to FTS5's, in this process:
    FTS5 doing our default work (the HTTP peer's ``app_search``, like for like) and the
    plain bm25 top 10 + snippet() of the in-process row.

    Wall times on a shared machine mostly measure the scheduler; CPU time says what each
    engine itself costs, and the gap to the HTTP figures is the web stack's share."""
    from bench.fts5_server import app_search
    from search.engine import SearchEngine
    from search.ranking import DEFAULT
    from search.request import SearchRequest

    engine, plain = SearchEngine(index_dir), SearchEngine(index_dir, DEFAULT.with_(prf_docs=0))
    for q in QUERIES:
        engine.search(SearchRequest(q=q))
        plain.search(SearchRequest(q=q))
    runs = {"ours": lambda q: engine.search(SearchRequest(q=q)), "FTS5 same work": lambda q: app_search(db, q),
            "FTS5 top 10 only": lambda q: fts_query(db, q),
            "ours, feedback off": lambda q: plain.search(SearchRequest(q=q))}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(reps):
        for q in QUERIES:
            for name, run in runs.items():
                t0 = time.process_time()
                run(q)
                cpu[name].append((time.process_time() - t0) * 1000)
    engine.close()
    plain.close()
    ours = cpu["ours"]
    print("library CPU ms per query (no HTTP), p50 / p95: "
          + ", ".join(f"{name} {pct(v, .5):.2f} / {pct(v, .95):.2f}" for name, v in cpu.items())
          + "; ours / FTS5 same work "
          + f"{pct(ours, .5) / pct(cpu['FTS5 same work'], .5):.2f}x / {pct(ours, .95) / pct(cpu['FTS5 same work'], .95):.2f}x"
          + "; ours / FTS5 top 10 only "
          + f"{pct(ours, .5) / pct(cpu['FTS5 top 10 only'], .5):.2f}x / {pct(ours, .95) / pct(cpu['FTS5 top 10 only'], .95):.2f}x"
          + "; ours / ours with feedback off "
          + f"{pct(ours, .5) / pct(cpu['ours, feedback off'], .5):.2f}x / {pct(ours, .95) / pct(cpu['ours, feedback off'], .95):.2f}x")


def print_sizes(index_dir: Path, fts_path: Path) -> None:
    """Our index's size (and what it is made of) next to the FTS5 database of the same texts."""
    from common.codec import segment_file_sizes
    from common.layout import current_version, open_live_index

    ours = sum(f.stat().st_size for f in current_version(index_dir).iterdir() if f.is_file())
    fts = fts_path.stat().st_size
    parts: dict[str, int] = {}
    ix = open_live_index(index_dir)
    with ix.reader() as r:
        for leaf, _off in r.leaf_readers():
            for ext, size in segment_file_sizes(ix.storage, leaf.segment()).items():
                parts[ext] = parts.get(ext, 0) + size
    ix.close()
    top = ", ".join(f"{ext} {size / 1e6:.1f}" for ext, size in sorted(parts.items(), key=lambda kv: -kv[1])[:5])
    print(f"index size: ours {ours / 1e6:.1f} MB, FTS5 {fts / 1e6:.1f} MB ({ours / fts:.2f}x); largest parts (MB): {top}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=1, help="10 gives ~200k stories")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="reuse/keep the corpus, index and FTS5 db in this folder")
    ap.add_argument("--index", type=Path, help="an INDEX_DIR built by python -m indexer from the same --copies corpus")
    ap.add_argument("--backend", nargs="+", choices=("whoosh", "solr"), default=["whoosh"])
    ap.add_argument("--verbose", action="store_true", help="TIME's 83 sentence queries instead of the 50 short ones")
    args = ap.parse_args()
    if args.verbose:
        from bench.relevance import load_time

        QUERIES[:] = [" ".join(t.split()) for t in load_time().queries.values()]
    work = args.keep or Path(tempfile.mkdtemp(prefix="speed-"))
    work.mkdir(parents=True, exist_ok=True)
    index_dir, fts_path = args.index or work / f"index-{args.copies}", work / f"fts5-{args.copies}.db"
    stories = reuters_stories()
    n = len(stories) * args.copies
    if "whoosh" in args.backend and not (index_dir / "current").exists():
        corpus = work / f"corpus-{args.copies}"
        files = write_corpus(corpus, None, args.copies)
        t = time.time()
        subprocess.run([sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index_dir), "--quiet"],
                       cwd=ROOT, check=True)
        print(f"python -m indexer: {files} files in {time.time() - t:.0f}s", file=sys.stderr)
    fts_rate = None
    if fts_path.exists():
        db = sqlite3.connect(fts_path)
    else:
        t = time.perf_counter()
        db = build_fts(fts_path, reuters_articles(args.copies, stories))
        fts_rate = n / (time.perf_counter() - t)
        print(f"FTS5 insert: {fts_rate:.0f} stories/s", file=sys.stderr)
    print(f"stories: {n}  queries: {len(QUERIES)} x {args.reps}")
    if "whoosh" in args.backend:
        print_sizes(index_dir, fts_path)
    print("| backend | stories | ours HTTP p50 / p95 ms | FTS5 HTTP peer p50 / p95 ms | ours / HTTP peer "
          "| FTS5 in-process p50 / p95 ms | ours / in-process | server took_ms p50 / p95 "
          "| our RSS MB start / end | peer RSS MB start / end |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for backend in args.backend:
        env = {**os.environ, "INDEX_DIR": str(index_dir), "PYTHONPATH": str(ROOT), "SEARCH_BACKEND": backend}
        env.pop("CORPUS_DIR", None)
        if backend == "solr":
            run_solr(args, db, n, env, reuters_articles(args.copies, stories), fts_rate)
        else:
            measure(args, db, n, backend, env)


def run_solr(args, db: sqlite3.Connection, n: int, env: dict, articles, fts_rate: float | None) -> None:
    """Start the local SolrCloud, load the articles (timed), then measure the app on it."""
    from bench.solr_feed import load_articles, start_cluster
    from common.solr_http import SolrClient

    cluster = start_cluster()
    try:
        client = SolrClient(cluster.url, "news")
        loaded, secs = load_articles(client, articles)
        client.close()
        versus = f" ({loaded / secs / fts_rate:.2f}x FTS5's insert rate in this run)" if fts_rate else ""
        print(f"Solr load: {loaded / secs:.0f} stories/s{versus}, batches of 1000 committed", file=sys.stderr)
        measure(args, db, n, "solr", {**env, "SOLR_URL": cluster.url, "SOLR_COLLECTION": "news"})
        print(f"Solr (2 nodes + ZooKeeper, one JVM) RSS: {rss_mb(cluster.proc.pid):.0f} MB", file=sys.stderr)
    finally:
        cluster.close()


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer from {url}")


def get_json(base: str, q: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/search?{urllib.parse.urlencode({'q': q})}", timeout=60) as r:
        return json.loads(r.read())


def timed(fn, q: str, out: list) -> dict:
    t0 = time.perf_counter()
    d = fn(q)
    out.append((time.perf_counter() - t0) * 1000)
    return d


def measure(args, db: sqlite3.Connection, n: int, backend: str, env: dict) -> None:
    """Serve app.py on one backend and the FTS5 HTTP peer; time both and in-process FTS5, interleaved."""
    port, peer_port = free_port(), free_port()
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--threads", "8"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peer = subprocess.Popen([sys.executable, "bench/fts5_server.py", "--db", db_file(db), "--port", str(peer_port),
                             "--threads", "8", "--like-app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base, peer_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
        wait_up(base + "/healthz")
        wait_up(peer_base + "/api/search?q=oil")
        ours = lambda q: get_json(base, q)  # noqa: E731
        theirs = lambda q: get_json(peer_base, q)  # noqa: E731
        rss = [rss_mb(server.pid), rss_mb(peer.pid)]
        for q in QUERIES:  # warm-up pass (file cache, columns), untimed
            ours(q), theirs(q), fts_query(db, q)
        t_ours, t_peer, t_fts, server_ms = [], [], [], []
        for _ in range(args.reps):
            for q in QUERIES:
                server_ms.append(timed(ours, q, t_ours)["took_ms"])
                timed(theirs, q, t_peer)
                timed(lambda q: fts_query(db, q), q, t_fts)
        totals = [(ours(q)["total"], theirs(q)["total"]) for q in QUERIES]
        print(f"{backend}: median matches/query ours {statistics.median(t[0] for t in totals):.0f}, "
              f"FTS5 peer {statistics.median(t[1] for t in totals):.0f}", file=sys.stderr)
        o, h, f = [(pct(t, .5), pct(t, .95)) for t in (t_ours, t_peer, t_fts)]
        print(f"| {backend} | {n} | {o[0]:.1f} / {o[1]:.1f} | {h[0]:.1f} / {h[1]:.1f} "
              f"| **{o[0] / h[0]:.1f}x / {o[1] / h[1]:.1f}x** | {f[0]:.1f} / {f[1]:.1f} | {o[0] / f[0]:.1f}x / {o[1] / f[1]:.1f}x "
              f"| {pct(server_ms, .5):.1f} / {pct(server_ms, .95):.1f} "
              f"| {rss[0]:.0f} / {rss_mb(server.pid):.0f} | {rss[1]:.0f} / {rss_mb(peer.pid):.0f} |")
        print(f"our server at the end: {rss_mb(server.pid, 'RssAnon'):.0f} MB its own (anonymous) + "
              f"{rss_mb(server.pid, 'RssFile'):.0f} MB of mapped files (index pages the OS can drop)", file=sys.stderr)
        slow = sorted(zip(t_ours, QUERIES * args.reps), reverse=True)[:5]
        print("slowest (ms): " + ", ".join(f"{q!r} {t:.0f}" for t, q in slow), file=sys.stderr)
        if backend == "whoosh":  # the library's own CPU time (the Solr backend's is in the JVM)
            library_cpu(Path(env["INDEX_DIR"]), db, args.reps)
    finally:
        for proc in (server, peer):
            proc.terminate()
            proc.wait(timeout=10)


def db_file(db: sqlite3.Connection) -> str:
    """The path of db's main database file."""
    return db.execute("PRAGMA database_list").fetchone()[2]


if __name__ == "__main__":
    main()
