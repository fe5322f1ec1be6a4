"""Kill loop: SIGKILL the real indexer at random moments and prove nothing is lost.

The harness (rounds, checks, figures) is tests/kill_harness.py, shared with the tests.

    python bench/kill_loop.py [--kills 50] [--seed 5] [--limit N] [--workdir DIR]

Prints kills survived, documents lost (must be 0) and wall time; exits 1 on any loss.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from kill_harness import KillLoop, load_bbc, version_rows  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=50)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--limit", type=int, default=None, help="use only the first N BBC articles")
    p.add_argument("--workdir", type=Path, default=None)
    args = p.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kill-loop-", dir=args.workdir) as tmp:
        docs = load_bbc(args.limit)
        loop = KillLoop(Path(tmp), docs, args.seed)
        print(f"corpus: {len(loop.corpus_files())} BBC files (+{len(loop.held)} held back to add later), "
              f"seed {args.seed}, target {args.kills} kills")
        loop.run(args.kills)
        n_docs, n_diff = loop.final_check()
        n_versions = len(version_rows(loop.index))
    f = loop.figures
    wall = time.perf_counter() - t0
    print(f"kills survived: {f.kills} (full {f.by_mode.get('full', 0)}, rebuild {f.by_mode.get('rebuild', 0)}, "
          f"incremental {f.by_mode.get('incremental', 0)}); runs that finished before their kill: "
          f"{f.finished_before_kill}; killed before a first index existed: {f.no_index_yet}")
    print(f"searches after kills: {f.probes}; runs refused with 75 after a kill: {f.locked_after_kill}")
    print(f"final index: {n_docs} documents, {n_diff} differing from a clean build")
    print(f"documents lost: {f.lost}")
    print(f"versions recorded: {n_versions} rows; lost: {f.versions_lost}; recorded twice: {f.versions_twice}")
    print(f"wall time: {wall:.0f} s")
    for problem in f.problems[:20]:
        print(f"PROBLEM: {problem}")
    return 1 if f.lost or f.problems or f.versions_lost or f.versions_twice else 0


if __name__ == "__main__":
    sys.exit(main())
