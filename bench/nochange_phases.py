"""Where a run with nothing changed spends its time, phase by phase, in one process.

Calls the indexer's own functions in the order `indexer.run._locked_run` does for an
up-to-date index (after `python -m indexer` has run once over the same corpus), and times
process start and imports in fresh interpreters. Prints the median of --repeat rounds.

    python bench/nochange_phases.py --corpus DIR --index DIR [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.layout import LAST_RUN, write_json_atomic  # noqa: E402
from indexer.corpus import load_manifest, scan_corpus  # noqa: E402
from indexer.run import needs_rebuild  # noqa: E402
from indexer.store import load_state_table, open_or_create_live, remove_stale_versions  # noqa: E402


def one_round(corpus: Path, index: Path) -> dict[str, float]:
    """Seconds per phase of one no-change run (no lock: run it while no indexer runs)."""
    times: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        times[name], t = now - t, now

    remove_stale_versions(index)
    lap("remove stale versions")
    scan = scan_corpus(corpus)
    lap("scan (scandir + stat per file)")
    version, ix, _ = open_or_create_live(index)
    lap("open the index (segment check, uncommitted files)")
    if needs_rebuild(ix):
        sys.exit("the index needs a rebuild: run `python -m indexer` first")
    lap("format check (needs_rebuild)")
    table = load_state_table(ix, version)
    if table is None:
        sys.exit("no state cache for this generation: run `python -m indexer` once first")
    lap("state cache")
    manifest = load_manifest(corpus, known=table.manifest)
    lap("manifest (read + SHA-1 of the bytes)")
    same = scan.rels == table.paths and scan.sizes == table.sizes and scan.mtimes == table.mtimes
    lap("compare (three list comparisons)")
    if not (same and manifest.unchanged):
        sys.exit("the corpus changed since the last run: run `python -m indexer` first")
    ix.close()
    write_json_atomic(index / f".{LAST_RUN}.bench", {"files": len(scan.rels)})
    (index / f".{LAST_RUN}.bench").unlink()
    lap("last_run.json")
    return times


def interpreter(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rounds = []
    for _ in range(args.repeat):
        start = interpreter("pass")
        imports = interpreter("import indexer.__main__") - start
        rounds.append({"python start": start, "imports (indexer.__main__)": imports} | one_round(args.corpus, args.index))
    total = 0.0
    for name in rounds[0]:
        median = statistics.median(r[name] for r in rounds)
        total += median
        print(f"{name:52s} {median:6.3f} s  ({min(r[name] for r in rounds):.3f}-{max(r[name] for r in rounds):.3f})")
    print(f"{'sum of medians':52s} {total:6.3f} s")


if __name__ == "__main__":
    main()
