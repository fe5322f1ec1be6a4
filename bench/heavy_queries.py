"""Heavy queries beside cheap ones, and a 2.5 MB article, through `python app.py` and FTS5.

    PYTHONPATH=. python bench/heavy_queries.py [--heavy-clients 8] [--seconds 20] [--work DIR]

Two corpora, each indexed by `python -m indexer` and put into SQLite FTS5 served by
bench/fts5_server.py (the peer): the BBC data set (2,225 text dumps, ../shared/data/bbc),
and the seeds plus one 2.5 MB page (the seeds' text, then 2.2 MB of BBC stories). For
each server, on BBC:
1. a cheap query ("government minister") alone: p50/p95;
2. the same while --heavy-clients threads send a 5-phrase query in a loop (ours answers
   200, or 503 "busy" at once when its HEAVY_SLOTS are taken): p50/p95 and their ratio to 1;
3. one request of 110 copies of "of the" (ours merges them into one phrase);
and on the second corpus, 4. the big article fetched 5 times (ours: with related articles).
Only loopback is targeted; every loop is bounded by a deadline.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import start, wait_ready  # noqa: E402
from bench.search_speed import free_port  # noqa: E402
from common.layout import open_live_index  # noqa: E402

CHEAP = "/api/search?" + urllib.parse.urlencode({"q": "government minister"})
HEAVY = "/api/search?" + urllib.parse.urlencode({"q": '"of the" "in the" "to the" "on the" "for the"'})
OF_THE_110 = "/api/search?" + urllib.parse.urlencode({"q": " ".join(['"of the"'] * 110)})
BBC = ROOT.parent / "shared" / "data" / "bbc" / "docs.jsonl.gz"


def bbc_docs() -> list[dict]:
    with gzip.open(BBC, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write_bbc(dest: Path, docs: list[dict]) -> None:
    """The BBC stories as text dumps (headline, blank line, text)."""
    for d in docs:
        path = dest / f"{d['id']}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{d['title']}\n\n{d['text']}\n", "utf-8")


def write_big(dest: Path, docs: list[dict]) -> None:
    """The seeds, and big.txt: the seeds' text, then 2.2 MB of BBC stories (2.5 MB)."""
    shutil.copytree(ROOT / "seeds", dest)
    seeds = "\n\n".join(p.read_text("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt")))
    tail, size = [], 0
    for d in docs:
        tail.append(f"{d['title']}.\n\n{d['text']}")
        size += len(tail[-1])
        if size >= 2_200_000:
            break
    (dest / "big.txt").write_text("The big archive page\n\n" + seeds + "\n\n" + "\n\n".join(tail), "utf-8")


def index(corpus: Path, index_dir: Path) -> Path:
    subprocess.run([sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index_dir),
                    "--quiet"], cwd=ROOT, check=True)
    return index_dir


def build_fts(db_path: Path, index_dir: Path) -> dict[str, tuple[str, int]]:
    """FTS5 table of the indexed articles; path -> (our id, FTS5 rowid)."""
    ix = open_live_index(index_dir)
    with ix.searcher() as s:
        rows = [d for d in s.all_stored_fields() if d["kind"] == "article"]
    con = sqlite3.connect(db_path)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    with con:
        con.executemany("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
                        [(i, d.get("title", ""), d.get("body", "")) for i, d in enumerate(rows, 1)])
    con.close()
    return {d["path"]: (d["id"], i) for i, d in enumerate(rows, 1)}


def get(port: int, path: str, timeout: float = 120) -> tuple[int | str, float]:
    """(status or "timeout", seconds) of one GET on a fresh connection."""
    t = time.perf_counter()
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        con.request("GET", path)
        r = con.getresponse()
        r.read()
        return r.status, time.perf_counter() - t
    except TimeoutError:
        return "timeout", time.perf_counter() - t
    finally:
        con.close()


def pcts(lat: list[float]) -> tuple[float, float]:
    lat = sorted(lat)
    return statistics.median(lat) * 1000, lat[max(0, int(0.95 * len(lat)) - 1)] * 1000


def cheap_under_load(port: int, clients: int, seconds: float) -> dict:
    """Cheap-query latency alone, then beside `clients` heavy loops; heavy status counts."""
    for _ in range(5):
        get(port, CHEAP)
    alone = [get(port, CHEAP)[1] for _ in range(40)]
    stop = time.time() + seconds
    codes: dict[int | str, int] = {}

    def heavy() -> None:
        while time.time() < stop:
            status, _t = get(port, HEAVY)
            codes[status] = codes.get(status, 0) + 1

    threads = [threading.Thread(target=heavy) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(min(2.0, seconds / 4))
    loaded = []
    while time.time() < stop:
        loaded.append(get(port, CHEAP)[1])
    for t in threads:
        t.join()
    return {"alone": pcts(alone), "loaded": pcts(loaded), "heavy_codes": codes}


def serve_both(index_dir: Path, db: Path):
    """Start `python app.py` and the FTS5 peer; returns (procs, our port, peer port)."""
    ours_port, peer_port = free_port(), free_port()
    procs = [start([sys.executable, "app.py", "--port", str(ours_port)], {"INDEX_DIR": str(index_dir)}),
             start([sys.executable, "bench/fts5_server.py", "--db", str(db), "--port", str(peer_port)])]
    wait_ready(ours_port, CHEAP)
    wait_ready(peer_port, CHEAP)
    return procs, ours_port, peer_port


def stop(procs) -> None:
    for p in procs:
        p.terminate()
        p.wait(timeout=30)


def queries(name: str, port: int, args) -> dict:
    out = cheap_under_load(port, args.heavy_clients, args.seconds)
    out["of_the_110"] = get(port, OF_THE_110)
    (a50, a95), (l50, l95) = out["alone"], out["loaded"]
    print(f"{name}: cheap alone p50 {a50:.1f} / p95 {a95:.1f} ms; beside {args.heavy_clients} heavy clients "
          f"p50 {l50:.1f} / p95 {l95:.1f} ms (p95 x{l95 / a95:.1f}); heavy answers {out['heavy_codes']}; "
          f"110 x \"of the\": {out['of_the_110'][0]} in {out['of_the_110'][1] * 1000:.0f} ms", flush=True)
    return out


def views(name: str, port: int, path: str) -> float:
    got = [get(port, path) for _ in range(5)]
    ms = statistics.median(t for _, t in got) * 1000
    print(f"{name}: big article {sorted({str(s) for s, _ in got})} median {ms:.0f} ms", flush=True)
    return ms


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--heavy-clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--work", type=Path, help="keep corpora and indexes here (reused when present)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        docs = bbc_docs()
        if not (work / "bbc-index").exists():
            write_bbc(work / "bbc", docs)
            index(work / "bbc", work / "bbc-index")
        if not (work / "big-index").exists():
            write_big(work / "big", docs)
            index(work / "big", work / "big-index")
        (Path(tmp) / "bbc.db").unlink(missing_ok=True)
        build_fts(Path(tmp) / "bbc.db", work / "bbc-index")
        ids = build_fts(Path(tmp) / "big.db", work / "big-index")
        procs, ours, peer = serve_both(work / "bbc-index", Path(tmp) / "bbc.db")
        try:
            a, b = queries("ours", ours, args), queries("FTS5", peer, args)
        finally:
            stop(procs)
        procs, ours, peer = serve_both(work / "big-index", Path(tmp) / "big.db")
        try:
            va = views("ours", ours, f"/api/articles/{ids['big.txt'][0]}")
            vb = views("FTS5", peer, f"/api/articles/{ids['big.txt'][1]}")
        finally:
            stop(procs)
    print(f"ratios ours/FTS5: cheap p95 alone x{a['alone'][1] / b['alone'][1]:.1f}, beside heavy clients "
          f"x{a['loaded'][1] / b['loaded'][1]:.1f}; 110 x \"of the\" x{a['of_the_110'][1] / b['of_the_110'][1]:.2f}; "
          f"big article view x{va / vb:.1f}")


if __name__ == "__main__":
    main()
