"""Cost of versions and story clusters per 1,000 new articles, on Reuters-21578.

Builds an index of all Reuters stories but the last ``--new`` (1,000) with
``python -m indexer``, then adds those and runs the indexer again (the cron case), and
measures, in the same run:
- the incremental run's wall time (cleaning, analysis, commit, versions and clusters);
- the provenance step alone for the same 1,000 articles: MinHash signatures of their
  cleaned bodies, then versions + LSH look-up + cluster writes, replayed on a copy of
  the state file as it was before the run (SQLite's backup API);
- SQLite FTS5 inserting the same 1,000 texts into an on-disk table (the peer);
- for contrast, clustering the whole corpus from an empty state (what a non-incremental
  design would redo on every run).

    PYTHONPATH=. .venv/bin/python bench/cluster_cost.py [--new 1000] [--limit N]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.index_speed import fts5_insert, run_indexer  # noqa: E402
from common.dates import PubDate  # noqa: E402
from common.documents import Article  # noqa: E402
from common.layout import STATE_DB, open_live_index  # noqa: E402
from datasets import reuters_stories, write_reuters_corpus  # noqa: E402
from indexer import clusters, statedb, versions  # noqa: E402
from indexer.pipeline import doc_id_for  # noqa: E402


def articles_of(index_dir: Path, paths: list[str]) -> list[Article]:
    """The cleaned articles the indexer stored for these corpus paths (exact copies left out)."""
    ids = {doc_id_for(p) for p in paths}
    ix = open_live_index(index_dir)
    out = []
    try:
        with ix.searcher() as s:
            for f in s.all_stored_fields():
                if f["id"] in ids and f.get("kind") == "article":
                    out.append(Article(id=f["id"], path=f["path"], title=f.get("title") or "", body=f.get("body") or "",
                                       content_hash=f["content_hash"], url=f.get("url") or None,
                                       source=f.get("source") or None,
                                       date=PubDate.parse(f["date"]) if f.get("date") else None))
    finally:
        ix.close()
    return out


def provenance_seconds(state: Path, arts: list[Article]) -> tuple[float, float]:
    """(signature seconds, store seconds) for these articles against a state file."""
    t0 = time.perf_counter()
    sigs = [clusters.signature(a.body) for a in arts]
    t_sig = time.perf_counter() - t0
    con = statedb.connect(state.parent) if state.name == STATE_DB else None
    assert con is not None
    statedb.migrate(con, versions.OWNER, versions.MIGRATIONS)
    statedb.migrate(con, clusters.OWNER, clusters.MIGRATIONS)
    t0 = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    for a, sig in zip(arts, sigs):
        versions.record(con, a, "2026-01-01T00:00:00Z")
        clusters.add_article(con, a, sig, "2026-01-01T00:00:00Z")
    con.execute("COMMIT")
    t_store = time.perf_counter() - t0
    con.close()
    return t_sig, t_store


def backup(src_index: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(src_index / STATE_DB)
    dst = sqlite3.connect(dest_dir / STATE_DB)
    src.backup(dst)
    src.close()
    dst.close()
    return dest_dir / STATE_DB


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--new", type=int, default=1000)
    p.add_argument("--limit", type=int, default=None, help="use only the first N stories")
    args = p.parse_args()
    stories = reuters_stories(limit=args.limit)
    old, new = stories[: -args.new], stories[-args.new :]
    with tempfile.TemporaryDirectory(prefix="cluster-cost-") as tmp:
        tmp = Path(tmp)
        corpus, index = tmp / "corpus", tmp / "index"
        write_reuters_corpus(corpus, old)
        build_s, build = run_indexer(corpus, index)
        before = backup(index, tmp / "state-before")
        new_paths = write_reuters_corpus(corpus, new)
        run_s, summary = run_indexer(corpus, index)
        arts = articles_of(index, new_paths)
        sig_s, store_s = provenance_seconds(before, arts)
        fts_s = fts5_insert([(a.title, a.body) for a in arts], tmp / "fts.sqlite3")
        everything = articles_of(index, [p.relative_to(corpus).as_posix() for p in corpus.rglob("*.txt")])
        (tmp / "empty").mkdir()
        all_sig_s, all_store_s = provenance_seconds(tmp / "empty" / STATE_DB, everything)
        con = sqlite3.connect(index / STATE_DB)
        sizes = con.execute("SELECT COUNT(*), SUM(n) FROM (SELECT cluster, COUNT(*) AS n FROM story_members "
                            "GROUP BY cluster HAVING COUNT(*) > 1)").fetchone()
        con.close()
    per_k = 1000 / max(1, len(arts))
    prov = (sig_s + store_s) * per_k
    print(f"corpus: {len(old)} Reuters stories indexed in {build_s:.0f} s ({build['added']} articles); "
          f"then {len(new)} new files: {summary['added']} articles, {summary['duplicates']} exact copies")
    print(f"incremental run with the new files: {run_s:.1f} s wall = {run_s * per_k:.1f} s per 1,000 articles")
    print(f"provenance per 1,000 articles: {prov:.2f} s (signatures {sig_s * per_k:.2f} s in the workers, "
          f"versions + LSH + clusters {store_s * per_k:.2f} s in the writer)")
    print(f"SQLite FTS5 inserting the same texts: {fts_s * per_k:.3f} s per 1,000 "
          f"-> provenance costs {prov / max(fts_s * per_k, 1e-9):.0f}x FTS5's insert")
    print(f"share of the incremental run: {prov / (run_s * per_k):.0%}")
    print(f"clustering all {len(everything)} articles from an empty state: {all_sig_s + all_store_s:.1f} s "
          f"(what each run would redo without the stored LSH bands)")
    print(f"story clusters in Reuters: {sizes[0]} of two or more copies, {sizes[1]} articles in them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
