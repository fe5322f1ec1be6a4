"""Per-file bounds (issue 9 item 6): what one pathological file costs the indexer.

    python bench/file_bounds.py [--mb 4.9] [--html-mb 1.5] [--grown-mb 196] [--budget 5]

For each case, one file through ``indexer.pipeline.process_file`` (what a worker does):
  - a text of date phrases that do not parse, with the dateparser cap (and without it,
    on a tenth of the text, to show the cost per phrase the cap removes);
  - a page of nested markup that trafilatura is slow on, under a time budget;
  - a file that grew past the size limit after the scan: peak memory of reading it.
Peer: SQLite FTS5 (standard library) indexing the same text in the same run; speed is
given as a ratio to it, since bare times move with the machine.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from indexer import dates  # noqa: E402
from indexer.corpus import CorpusFile  # noqa: E402
from indexer.pipeline import Job, process_file  # noqa: E402
from test_run_faults import big_div_page, date_phrase_text  # noqa: E402


def fts5_seconds(text: str) -> float:
    """SQLite FTS5 indexing the same text, as the peer."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    start = time.perf_counter()
    db.execute("INSERT INTO t(body) VALUES (?)", (text,))
    db.commit()
    return time.perf_counter() - start


def one_file(folder: Path, name: str, text: str, **job) -> tuple[float, str]:
    """(seconds, outcome) of process_file on one file."""
    path = folder / name
    path.write_text(text, "utf-8")
    st = path.stat()
    start = time.perf_counter()
    result = process_file(Job(CorpusFile(name, path, st.st_size, st.st_mtime_ns, 50_000_000), "0" * 16, **job))
    took = time.perf_counter() - start
    return took, ("skipped: " + result.skip.reason) if result.skip else "indexed"


def report(label: str, took: float, outcome: str, text: str) -> None:
    peer = fts5_seconds(text)
    print(f"{label}: {took:.2f} s = {took / peer:,.0f}x FTS5 on the same text ({peer:.3f} s); {outcome[:90]}")


def grown_file_peak_mb(folder: Path, grown_mb: int) -> float:
    """Peak RSS growth (MB) of process_file on a file scanned at 5 KB that grew to grown_mb."""
    path = folder / "grown.txt"
    path.write_text("Grown headline\n\nA story of a few words.\n", "utf-8")
    st = path.stat()
    job = Job(CorpusFile("grown.txt", path, st.st_size, st.st_mtime_ns, 5 * 1024 * 1024), "0" * 16)
    line = b"The scraper kept writing to this file after the scan had measured it.\n"
    with path.open("ab") as fh:
        for _ in range(grown_mb * 1024 * 1024 // len(line)):
            fh.write(line)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = process_file(job)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"file grown to {grown_mb} MB after the scan (limit 5 MB): {result.skip.reason}")
    return (after - before) / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=4.9, help="size of the date-phrase text")
    p.add_argument("--html-mb", type=float, default=1.5, help="size of the slow page")
    p.add_argument("--grown-mb", type=int, default=196)
    p.add_argument("--budget", type=float, default=5.0, help="time budget for the slow page (s)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="file-bounds-") as tmp:
        folder = Path(tmp)
        # First, while the process is small: later cases raise its peak memory.
        grown = grown_file_peak_mb(folder, args.grown_mb)
        print(f"peak memory growth while refusing it: {grown:.0f} MB")
        for name, warm in (("warm.txt", date_phrase_text(2000)), ("warm.html", big_div_page(2000))):
            one_file(folder, name, warm)  # imports (trafilatura, dateparser) out of the timings
        text = date_phrase_text(int(args.mb * 1e6))
        report(f"date phrases {args.mb} MB, at most {dates.MAX_PHRASE_PARSES} dateparser calls",
               *one_file(folder, "dates.txt", text), text)
        tenth = text[: len(text) // 10]
        cap, dates.MAX_PHRASE_PARSES = dates.MAX_PHRASE_PARSES, 10**9
        dates.parse_phrase.cache_clear()
        report(f"date phrases {args.mb / 10:.2f} MB, no cap (as before)", *one_file(folder, "tenth.txt", tenth), tenth)
        dates.MAX_PHRASE_PARSES = cap
        html = big_div_page(int(args.html_mb * 1e6))
        report(f"nested markup {args.html_mb} MB, budget {args.budget:g} s",
               *one_file(folder, "big.html", html, time_budget=args.budget), html)
        report(f"nested markup {args.html_mb} MB, no budget (as before)",
               *one_file(folder, "big2.html", html, time_budget=0), html)


if __name__ == "__main__":
    main()
