"""What standing searches cost after an indexer run, next to SQLite FTS5 in the same run.

Reuters-21578 as text dumps with a manifest of dates (as bench/index_speed.py writes them):
  1. build a base index of the first --base stories (`python -m indexer --no-watch`);
  2. save --watches standing searches (words and pairs of words from the base headlines,
     a fifth of them with a date filter), through the watch library;
  3. add --added new stories and time `python -m indexer --no-watch` (the run), then
     `python -m watch` (what the indexer launches after a run that wrote articles);
  4. run the indexer again with nothing new, and `python -m watch` on an empty journal;
  5. the peer: SQLite FTS5 indexing the same new texts in a fresh table and running the
     same searches over them (words ANDed, the same date filters), median of 3;
  6. a watchlist of --rows names (the same words and pairs) read twice through
     watch/totals.py: the first read searches every row, the second (same index state)
     reads the cache; the peer counts the same rows with FTS5 over the whole archive.
Prints the run's time, the evaluation's time and share of the run, matches found by each,
the ratio to FTS5, and the watchlist reads.

    PYTHONPATH=. python bench/watch_cost.py [--base 5000] [--added 1000] [--watches 1000] [--rows 1000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "reuters21578" / "docs.jsonl.gz"
sys.path.insert(0, str(ROOT))

from common.analysis import is_stopword  # noqa: E402
from search.engine import SearchEngine  # noqa: E402
from watch import store, totals, watches, watchlists  # noqa: E402


def stories() -> list[dict]:
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        return [d for d in map(json.loads, fh) if d["text"].strip()]


def write(dest: Path, docs: list[dict]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / "manifest.jsonl", "a", encoding="utf-8") as manifest:
        for d in docs:
            name = f"{int(d['id']) // 1000:02d}/{d['id']}.txt"
            (dest / name).parent.mkdir(exist_ok=True)
            (dest / name).write_text(f"{d['title'] or ''}\n\n{d['text']}\n", "utf-8")
            manifest.write(json.dumps({"file": name, "date": d["date"], "source": "Reuters"}) + "\n")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str]) -> tuple[float, dict, float]:
    """Wall seconds, the JSON summary, and CPU seconds (the process and its workers):
    on a shared machine the CPU share is the steadier figure."""
    t0, c0 = time.perf_counter(), cpu()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    out = proc.stdout.strip().splitlines()
    return time.perf_counter() - t0, json.loads(out[-1]) if out else {}, cpu() - c0


def queries(base: list[dict], n: int) -> list[dict]:
    """Words and pairs of words from the base headlines (most frequent first); every fifth dated."""
    words = Counter()
    pairs = Counter()
    for d in base:
        title = [w for w in re.findall(r"[a-z]{4,}", (d["title"] or "").lower()) if not is_stopword(w)]
        words.update(set(title))
        pairs.update({f"{a} {b}" for a, b in zip(title, title[1:])})
    chosen = [w for w, _ in words.most_common(n // 2)] + [p for p, _ in pairs.most_common(n)]
    out = []
    for i, q in enumerate(dict.fromkeys(chosen)):
        if len(out) == n:
            break
        out.append({"q": q, "from": "1987-03-15"} if i % 5 == 4 else {"q": q})
    return out


def save_watches(index: Path, qs: list[dict]) -> None:
    con = store.connect(index)
    engine = SearchEngine(index)
    for i, body in enumerate(qs):
        name, req, error = watches.parse_watch({**body, "name": f"w{i}"}, engine)
        watches.create(con, name, req, error)
    engine.close()
    con.close()


def fts5(new: list[dict], qs: list[dict]) -> tuple[float, int]:
    """Index the new texts in a fresh FTS5 table and run every search over them."""
    t0 = time.perf_counter()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE a USING fts5(title, body, day UNINDEXED, tokenize='porter unicode61')")
    db.executemany("INSERT INTO a VALUES (?, ?, ?)", [(d["title"] or "", d["text"], d["date"][:10]) for d in new])
    found = 0
    for body in qs:
        match = " ".join(f'"{w}"' for w in body["q"].split())
        if "from" in body:
            rows = db.execute("SELECT rowid FROM a WHERE a MATCH ? AND day >= ?", (match, body["from"])).fetchall()
        else:
            rows = db.execute("SELECT rowid FROM a WHERE a MATCH ?", (match,)).fetchall()
        found += len(rows)
    db.close()
    return time.perf_counter() - t0, found


def watchlist_reads(index: Path, names: list[str]) -> tuple[float, float, int]:
    """Seconds of a first (every row searched) and a second (cached) read of a watchlist."""
    con = store.connect(index)
    engine = SearchEngine(index)
    try:
        rows = watchlists.parse_rows("\n".join(names))
        list_id = watchlists.create(con, "bench", rows)
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            got = totals.row_summaries(con, engine, list_id, rows, {})
            times.append(time.perf_counter() - t0)
        return times[0], times[1], sum(x["total"] for x in got)
    finally:
        engine.close()
        con.close()


def fts5_counts(docs: list[dict], names: list[str]) -> float:
    """Count each name's phrase over the whole archive in a fresh FTS5 table (indexing excluded)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE a USING fts5(title, body, tokenize='porter unicode61')")
    db.executemany("INSERT INTO a VALUES (?, ?)", [(d["title"] or "", d["text"]) for d in docs])
    t0 = time.perf_counter()
    for name in names:
        db.execute("SELECT count(*) FROM a WHERE a MATCH ?", (f'"{name}"',)).fetchone()
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=int, default=5000)
    ap.add_argument("--added", type=int, default=1000)
    ap.add_argument("--watches", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="watch-cost-"))
    corpus, index = work / "reuters", work / "index"
    docs = stories()
    base, new = docs[:args.base], docs[args.base:args.base + args.added]
    write(corpus, base)
    indexer = [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index), "--json", "--no-watch"]
    watcher = [sys.executable, "-m", "watch", "--index", str(index), "--json"]
    t_base, _, _ = timed(indexer)
    timed(watcher)  # the base run's journal: evaluated before any watch exists
    qs = queries(base, args.watches)
    save_watches(index, qs)
    write(corpus, new)
    t_run, summary, c_run = timed(indexer)
    t_watch, ws, c_watch = timed(watcher)
    t_idle_run, _, _ = timed(indexer)
    t_idle_watch, idle, _ = timed(watcher)
    peer = [fts5(new, qs) for _ in range(3)]
    t_fts = statistics.median(t for t, _ in peer)
    print(f"base index: {args.base} stories in {t_base:.1f}s; {len(qs)} standing searches saved")
    print(f"run adding {summary['added']} articles: {t_run:.2f}s wall, {c_run:.2f}s CPU "
          "(python -m indexer, process start included)")
    print(f"evaluation (python -m watch): {t_watch:.2f}s wall = {t_watch / t_run:.0%} of the run; "
          f"{c_watch:.2f}s CPU = {c_watch / c_run:.0%} of the run's CPU; "
          f"{ws['searches']} searches over {ws['articles']} articles, {ws['matches']} matches, "
          f"{t_watch / max(ws['searches'], 1) * 1000:.2f} ms per search")
    print(f"run with nothing new: {t_idle_run:.2f}s; python -m watch then: {t_idle_watch:.2f}s "
          f"({idle['searches']} searches)")
    print(f"SQLite FTS5 peer (index the {len(new)} new texts, run the {len(qs)} searches), median of 3: "
          f"{t_fts:.2f}s, {peer[0][1]} matches")
    print(f"ratio evaluation / FTS5: {t_watch / t_fts:.1f}x")
    report_watchlist(index, list(dict.fromkeys(q["q"] for q in qs))[:args.rows], base + new)


def report_watchlist(index: Path, names: list[str], docs: list[dict]) -> None:
    first, cached, found = watchlist_reads(index, names)
    t_counts = statistics.median(fts5_counts(docs, names) for _ in range(3))
    print(f"watchlist of {len(names)} rows ({found} matches): first read {first:.2f}s "
          f"({first / len(names) * 1000:.1f} ms a row, two searches), cached read {cached * 1000:.1f} ms "
          f"({first / cached:.0f}x less); FTS5 counting the same rows, median of 3: {t_counts * 1000:.1f} ms "
          f"(first read / FTS5 {first / t_counts:.1f}x, cached read / FTS5 {cached / t_counts:.2f}x)")


if __name__ == "__main__":
    main()
