"""Indexer memory: peak RSS of a real run, and what the run-wide per-file state weighs.

    PYTHONPATH=. .venv/bin/python bench/index_memory.py run CORPUS INDEX [indexer args...]
    PYTHONPATH=. .venv/bin/python bench/index_memory.py structures CORPUS

``run`` starts ``python -m indexer --corpus CORPUS --index INDEX ...`` (add --rebuild for
a rebuild) and samples the RSS of the indexer and of its workers every 0.25 s; the
largest process's peak is also read from the kernel (getrusage of the children), as
bench/index_speed.py reports it. ``structures`` builds, in this process, what a rebuild of
CORPUS holds for every file for the whole run (the scan, the parsed manifest, the job
list, the file states, the canonical content hashes) and prints the traced heap of each
per file. The corpora are those bench/index_speed.py writes (--workdir DIR, --copies N).
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path


def rss_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def run(corpus: str, index: str, extra: list[str]) -> None:
    """One indexer run, sampled; prints its summary's counts and the peaks."""
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "indexer", "--corpus", corpus, "--index", index, "--json", *extra],
                            stdout=subprocess.PIPE, text=True)
    parent = worker = 0
    while proc.poll() is None:
        parent = max(parent, rss_mb(proc.pid))
        worker = max([worker, *map(rss_mb, children(proc.pid))])
        time.sleep(0.25)
    wall = time.time() - t0
    out = proc.stdout.read().strip().splitlines()
    summary = json.loads(out[-1]) if out else {}
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    counts = {k: summary.get(k) for k in ("added", "updated", "removed", "unchanged", "duplicates", "skipped")}
    rate = summary.get("added", 0) / wall if wall else 0
    print(f"exit {proc.returncode}, {wall:.1f} s wall ({summary.get('seconds', 0):.1f} s inside), "
          f"{rate:,.0f} added/s; {counts}")
    print(f"peak RSS: largest process {largest:.0f} MB (kernel); sampled: indexer {parent} MB, worker {worker} MB")


def structures(corpus: Path) -> None:
    """The traced heap per file of each run-wide structure of a rebuild of corpus."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from indexer import run as indexer_run
    from indexer.corpus import load_manifest, scan_corpus
    from indexer.store import DocState, States

    tracemalloc.start()
    marks = [("start", tracemalloc.get_traced_memory()[0])]

    def mark(name: str) -> None:
        marks.append((name, tracemalloc.get_traced_memory()[0]))

    scan = scan_corpus(corpus)
    mark("scan")
    manifest = load_manifest(corpus)
    manifest.entry_hash("")  # parses it, as a run with work to do does
    mark("manifest")
    states = States()
    diff = indexer_run._diff(scan, states, manifest, indexer_run.Summary())
    mark("job list")
    sha = lambda text: hashlib.sha1(text.encode()).hexdigest()  # noqa: E731 -- realistic hex values
    for rel, size, mtime in zip(scan.rels, scan.sizes, scan.mtimes):
        states[rel] = DocState(sha(rel)[:16], "article", size, mtime, sha(rel + "f"), sha(rel + "m")[:16], sha(rel + "c"))
    mark("file states")
    canonical = states.articles()
    mark("canonical hashes")
    n = len(scan.rels)
    print(f"{n} files, {len(diff.jobs)} jobs, {len(canonical)} articles")
    for (_, before), (name, after) in zip(marks, marks[1:]):
        print(f"  {name}: {(after - before) / 2**20:.1f} MB = {(after - before) / n:.0f} B per file")


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 3 and sys.argv[1] == "structures":
        structures(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
