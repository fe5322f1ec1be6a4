"""Indexing speed on Reuters-21578 through the real indexer, next to SQLite FTS5.

Writes the non-empty stories as .txt files with a manifest of their dates (as a scraper
would leave them), then in one run:
  1. a full build with `python -m indexer --rebuild` (cleaning included, all cores);
  2. a run with nothing changed;
  3. SQLite FTS5 inserting the same cleaned texts (read back from our index), three
     times into fresh tables, median;
  4. for context, naive Whoosh: one process, its default analyzer, no cleaning, the same
     texts (the issue's "about 1/40 of FTS5").
Prints docs/s for each, the ratios, the no-change time and the indexer's peak memory.

    python bench/index_speed.py [--limit N] [--copies N] [--no-naive] [--workdir DIR]
    python bench/index_speed.py --workdir DIR --nochange-only [--repeat N]

--nochange-only reuses the corpus and index an earlier run left in --workdir (a 200k
build takes 7-30 minutes) and times only runs with nothing changed, each a fresh
`python -m indexer` process, next to the same FTS5 peer.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "reuters21578" / "docs.jsonl.gz"
sys.path.insert(0, str(ROOT))

from common.layout import open_live_index  # noqa: E402


def write_corpus(dest: Path, limit: int | None, copies: int = 1) -> int:
    """Reuters stories as text dumps (title line, blank line, body) plus manifest.jsonl;
    with ``copies`` > 1 each story again in folders c1, c2... with "(copy N)" after its
    title, so every copy is its own article (a syndicated story), as at 200k."""
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        docs = [d for d in map(json.loads, fh) if d["text"].strip()][:limit]
    with open(dest / "manifest.jsonl", "w") as manifest:
        for c in range(copies):
            for doc in docs:
                name = f"{int(doc['id']) // 1000:02d}/{doc['id']}.txt" if c == 0 else f"c{c}/{int(doc['id']) // 1000:02d}/{doc['id']}.txt"
                title = (doc["title"] or "") + (f" (copy {c})" if c else "")
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                (dest / name).write_text(f"{title}\n\n{doc['text']}\n", "utf-8")
                manifest.write(json.dumps({"file": name, "date": doc["date"], "source": "Reuters"}) + "\n")
                n += 1
    return n


def run_indexer(corpus: Path, index: Path, *extra: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index), "--json", *extra],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return time.perf_counter() - t0, json.loads(proc.stdout.strip().splitlines()[-1])


def fts5_insert(texts: list[tuple[str, str]], path: Path) -> float:
    """Seconds for FTS5 to index the same (title, body) pairs in one transaction, on disk."""
    con = sqlite3.connect(path)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    t0 = time.perf_counter()
    with con:
        con.executemany("INSERT INTO docs(title, body) VALUES (?, ?)", texts)
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def naive_whoosh(texts: list[tuple[str, str]], folder: Path) -> float:
    """Seconds for plain Whoosh (StandardAnalyzer, stored title and body) in one process."""
    from whoosh import fields, index

    folder.mkdir()
    schema = fields.Schema(title=fields.TEXT(stored=True), body=fields.TEXT(stored=True))
    ix = index.create_in(folder, schema)
    t0 = time.perf_counter()
    with ix.writer() as writer:
        for title, body in texts:
            writer.add_document(title=title, body=body)
    return time.perf_counter() - t0


def cleaned_texts(index: Path) -> list[tuple[str, str]]:
    """(title, body) of every article in our index: what the FTS5 peer inserts."""
    ix = open_live_index(index)
    with ix.searcher() as s:
        return [(d.get("title", ""), d.get("body", "")) for d in s.all_stored_fields() if d["kind"] == "article"]


def nochange_only(corpus: Path, index: Path, repeat: int) -> None:
    """Runs with nothing changed over an index built before, next to the FTS5 peer."""
    if not corpus.is_dir() or not (index / "current").exists():
        sys.exit(f"no corpus and index in {corpus.parent}: run once without --nochange-only first")
    n_files = sum(1 for _ in corpus.rglob("*.txt"))
    run_indexer(corpus, index)  # settles a cache an older version wrote; not timed
    runs = [run_indexer(corpus, index) for _ in range(repeat)]
    texts = cleaned_texts(index)
    fts_s = sorted(fts5_insert(texts, index.parent / f"fts5-{time.time_ns()}.db") for _ in range(3))[1]
    walls = sorted(wall for wall, _ in runs)
    insides = sorted(summary["seconds"] for _, summary in runs)
    print(f"files: {n_files}  articles: {len(texts)}  unchanged: {runs[0][1]['unchanged']}")
    print(f"no-change run ({repeat} runs, process start included): {walls[0]:.2f}-{walls[-1]:.2f} s wall, "
          f"median {walls[len(walls) // 2]:.2f} s ({insides[0]:.2f}-{insides[-1]:.2f} s inside the run)")
    print(f"SQLite FTS5 insert of the same cleaned texts, same run (median of 3): {fts_s:.2f} s = "
          f"{len(texts) / fts_s:,.0f} docs/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="only the first N stories")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--no-naive", action="store_true", help="skip the naive Whoosh peer (long at 200k)")
    ap.add_argument("--copies", type=int, default=1, help="each story N times as its own article (10: ~200k)")
    ap.add_argument("--nochange-only", action="store_true", help="only no-change runs over --workdir's index")
    ap.add_argument("--repeat", type=int, default=3, help="no-change runs with --nochange-only")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-index-"))
    corpus, index = work / "reuters", work / "index"
    if args.nochange_only:
        nochange_only(corpus, index, args.repeat)
        return
    if not corpus.is_dir():
        print(f"writing corpus to {corpus} ...", flush=True)
        n_files = write_corpus(corpus, args.limit, args.copies)
    else:
        n_files = sum(1 for _ in corpus.rglob("*.txt"))

    build_s, summary = run_indexer(corpus, index, "--rebuild")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    nochange_s, nochange = run_indexer(corpus, index)

    texts = cleaned_texts(index)
    # FTS5 takes about a second here, so it is noisy: the median of three fresh tables.
    fts_s = sorted(fts5_insert(texts, work / f"fts5-{time.time_ns()}.db") for _ in range(3))[1]
    naive_s = None if args.no_naive else naive_whoosh(texts, work / f"naive-whoosh-{time.time_ns()}")

    ours = summary["added"] / build_s
    peer = len(texts) / fts_s
    print(f"files: {n_files}  articles: {len(texts)}  duplicates: {summary['duplicates']}  skipped: {summary['skipped']}")
    print(f"full build (real indexer, cleaning included, process start included): {build_s:.1f} s = {ours:,.0f} docs/s")
    print(f"SQLite FTS5 insert of the same cleaned texts (median of 3): {fts_s:.2f} s = {peer:,.0f} docs/s")
    print(f"ratio: Whoosh indexer = 1/{peer / ours:.1f} of FTS5")
    if naive_s is not None:
        print(f"naive Whoosh (one process, no cleaning, same texts): {naive_s:.1f} s = "
              f"{len(texts) / naive_s:,.0f} docs/s = 1/{naive_s / fts_s:.1f} of FTS5")
    print(f"no-change run: {nochange_s:.2f} s wall ({nochange['seconds']:.2f} s inside the run), "
          f"unchanged {nochange['unchanged']}")
    print(f"indexer peak RSS (largest process): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
