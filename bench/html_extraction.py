"""Measure indexer.htmlclean.extract_html on the two extraction sets and print the figures.

Run: PYTHONPATH=. python bench/html_extraction.py [--limit N] [--processes 2]
Peer: the stored trafilatura 2.0.0 output (Scrapinghub baselines) scored by the same code.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the metrics are shared with the tests

from extraction_metrics import shingle_score, snippet_score  # noqa: E402
from indexer.htmlclean import ExtractionError, extract_html  # noqa: E402

# Beside the checkout, like the other benches (SHARED_DATA overrides, as in bench/corpora.py).
DATA = Path(os.environ.get("SHARED_DATA", ROOT.parent / "shared" / "data")) / "extraction"
SCRAPINGHUB = DATA / "scrapinghub"
TRAFILATURA = DATA / "trafilatura"


def load_truth(folder: Path, limit: int | None = None) -> list[dict]:
    """ground_truth.jsonl rows, optionally the first ``limit``."""
    with open(folder / "ground_truth.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return rows[:limit] if limit else rows


def run_page(job: tuple[str, str, str | None]) -> dict:
    """Extract one page; the reason instead of a crash when the page is refused."""
    folder, file, url = job
    raw = gzip.decompress((Path(folder) / file).read_bytes())
    start = time.perf_counter()
    try:
        article = extract_html(raw, url=url)
        reason = None if article else "no article text"
    except ExtractionError as exc:
        article, reason = None, exc.reason
    return {
        "file": file,
        "seconds": time.perf_counter() - start,
        "body": article.body if article else None,
        "date": article.date.iso() if article and article.date else None,
        "reason": reason,
    }


def extract_all(folder: Path, rows: list[dict], processes: int) -> tuple[list[dict], float]:
    """Run extract_html over every row in ``processes`` workers; results in row order."""
    jobs = [(str(folder), row["file"], row.get("url")) for row in rows]
    start = time.perf_counter()
    with Pool(processes) as pool:
        results = pool.map(run_page, jobs, chunksize=4)
    return results, time.perf_counter() - start


def report_time(name: str, results: list[dict], wall: float) -> None:
    cpu = sum(r["seconds"] for r in results)
    print(f"  time: {cpu / len(results) * 1000:.0f} ms/page (CPU in worker), "
          f"wall {wall:.1f} s for {len(results)} pages; "
          f"{sum(r['body'] is None for r in results)} pages without output")


def bench_scrapinghub(limit: int | None, processes: int) -> dict:
    rows = load_truth(SCRAPINGHUB, limit)
    results, wall = extract_all(SCRAPINGHUB, rows, processes)
    ours = shingle_score((row["articleBody"], r["body"] or "") for row, r in zip(rows, results))
    with gzip.open(SCRAPINGHUB / "baselines" / "trafilatura.jsonl.gz", "rt", encoding="utf-8") as fh:
        stored = {json.loads(line)["id"]: json.loads(line)["articleBody"] for line in fh}
    peer = shingle_score((row["articleBody"], stored.get(row["id"]) or "") for row in rows)
    print(f"Scrapinghub ({len(rows)} pages), shingle metric:")
    print(f"  extract_html        F1 {ours['f1']:.3f}  P {ours['precision']:.3f}  "
          f"R {ours['recall']:.3f}  acc {ours['accuracy']:.3f}")
    print(f"  stored trafilatura  F1 {peer['f1']:.3f}  P {peer['precision']:.3f}  "
          f"R {peer['recall']:.3f}  acc {peer['accuracy']:.3f}  (2.0.0, same metric code)")
    report_time("scrapinghub", results, wall)
    return ours


def bench_trafilatura(limit: int | None, processes: int) -> dict:
    rows = load_truth(TRAFILATURA, limit)
    results, wall = extract_all(TRAFILATURA, rows, processes)
    ours = snippet_score((r["body"], row["with"], row["without"]) for row, r in zip(rows, results))
    print(f"trafilatura set ({len(rows)} pages), with/without snippets:")
    print(f"  extract_html  P {ours['precision']:.3f}  R {ours['recall']:.3f}  "
          f"acc {ours['accuracy']:.3f}  F {ours['f']:.3f}  "
          f"(TP {ours['tp']} FP {ours['fp']} FN {ours['fn']} TN {ours['tn']})")
    print("  published trafilatura 2.3.1 defaults on these files: P 0.907 R 0.946 F 0.926")
    report_time("trafilatura", results, wall)
    return ours


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages per set")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--only", choices=("scrapinghub", "trafilatura"), default=None)
    args = parser.parse_args(argv)
    if args.only in (None, "scrapinghub"):
        bench_scrapinghub(args.limit, args.processes)
    if args.only in (None, "trafilatura"):
        bench_trafilatura(args.limit, args.processes)


if __name__ == "__main__":
    main()
