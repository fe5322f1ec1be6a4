"""Kill loop: SIGKILL the real indexer at random moments and prove nothing is lost.

Over a BBC corpus (2,225 articles, 98 exact duplicates), a seeded RNG drives rounds of:
  - full builds into an empty index folder, killed and resumed several times;
  - ``--rebuild`` runs, killed at any moment (before, during or after the swap);
  - incremental runs after adding, modifying and deleting files, killed and resumed.
After every kill the live index must open (``common.layout.open_live_index``, which checks
every segment file) and answer ``Every()`` and a real term query, and every document that
the index held before the killed run, for a file the round did not touch, must still be
there with the same content hash. After the final complete run the index must equal a
clean build of the final corpus: same paths, ids, kinds, content hashes and dup_of.
Versions (``state.sqlite3``): after every kill no article's text is recorded twice, and
at the end every text an article showed in the index after any run is a recorded
version (none lost); the final story clusters equal those of the clean build.

The harness lives here, beside the tests that run a small loop (tests/test_kill_loop.py);
``python bench/kill_loop.py [--kills 50] [--seed 5] [--limit N]`` runs the full one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "data" / "bbc" / "docs.jsonl.gz"
sys.path.insert(0, str(ROOT))

from whoosh.qparser import QueryParser  # noqa: E402
from whoosh.query import Every  # noqa: E402

from common.layout import STATE_DB, IndexUnavailable, current_version, open_live_index  # noqa: E402

# One document as the index holds it: (id, kind, content_hash, dup_of)
Doc = tuple[str, str, str, str]
PROBE_TERM = "government"


@dataclass
class Figures:
    kills: int = 0
    finished_before_kill: int = 0
    no_index_yet: int = 0  # killed before the very first index was published (nothing to lose)
    lost: int = 0
    locked_after_kill: int = 0  # a run refused with 75 after a kill (a leaked lock)
    probes: int = 0
    versions_twice: int = 0  # an article text recorded twice (a replay not recognised)
    versions_lost: int = 0  # an article text the index held that no version records
    by_mode: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.problems.append(message)


def load_bbc(limit: int | None = None) -> list[dict]:
    with gzip.open(BBC, "rt", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh]
    return docs[:limit] if limit else docs


def page_text(doc: dict) -> str:
    return f"{doc['title']}\n\n{doc['text']}\n"


def snapshot(index_dir: Path) -> dict[str, Doc] | None:
    """path -> (id, kind, content_hash, dup_of) of the live index, or None when there is none yet."""
    if current_version(index_dir) is None:
        return None
    ix = open_live_index(index_dir)
    try:
        with ix.searcher() as s:
            return {
                d["path"]: (d["id"], d["kind"], d["content_hash"], d.get("dup_of", ""))
                for d in s.all_stored_fields()
            }
    finally:
        ix.close()


def version_rows(index_dir: Path) -> list[tuple[str, str, str]]:
    """(story, doc_id, content_hash) of every recorded version, oldest first."""
    path = index_dir / STATE_DB
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT story, doc_id, content_hash FROM versions ORDER BY seq").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def clusters_of(index_dir: Path, paths: dict[str, str]) -> set[frozenset[str]]:
    """Story clusters of two or more, as sets of corpus paths (ids mapped by ``paths``)."""
    con = sqlite3.connect(f"file:{index_dir / STATE_DB}?mode=ro", uri=True)
    try:
        groups: dict[str, set[str]] = {}
        for cluster, doc_id in con.execute("SELECT cluster, doc_id FROM story_members"):
            groups.setdefault(cluster, set()).add(paths.get(doc_id, doc_id))
    finally:
        con.close()
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def probe(index_dir: Path) -> tuple[int, int]:
    """Open the live index and answer two searches: (Every() hits, PROBE_TERM hits)."""
    ix = open_live_index(index_dir)
    try:
        with ix.searcher() as s:
            every = s.search(Every(), limit=5)
            _ = [hit["id"] for hit in every]  # read stored fields of the top hits
            term = s.search(QueryParser("body", ix.schema).parse(PROBE_TERM), limit=5)
            _ = [hit["path"] for hit in term]
            return len(every), len(term)
    finally:
        ix.close()


def indexer_cmd(corpus: Path, index: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index),
            "--quiet", "--batch-size", "100", "--workers", "2", *extra]


def run_complete(corpus: Path, index: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(indexer_cmd(corpus, index, *extra), cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"complete run failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


class KillLoop:
    """Drives the corpus, the kills and the checks; figures accumulate in self.figures."""

    def __init__(self, workdir: Path, docs: list[dict], seed: int, held_share: float = 0.1,
                 max_kill_s: float = 25.0, log=print):
        self.rng = random.Random(seed)
        self.corpus = workdir / "corpus"
        self.index = workdir / "index"
        self.clean = workdir / "clean-index"
        self.max_kill_s = max_kill_s
        self.log = log
        self.figures = Figures()
        self.generation = 0
        # Files changed since the last run that completed: their documents may legitimately differ.
        self.pending: set[str] = set()
        # (id, content_hash) of every article text any live index showed after a run
        self.shown: set[tuple[str, str]] = set()
        self._twice_base = 0  # repeats already counted in this state file
        # Files added later carry text that is not a copy of anything, so which copy of a
        # duplicate is "the article" does not depend on the order files arrived in.
        counts: dict[str, int] = {}
        for d in docs:
            counts[_text_key(d)] = counts.get(_text_key(d), 0) + 1
        unique = [d for d in docs if counts[_text_key(d)] == 1]
        self.rng.shuffle(unique)
        held = {d["id"] for d in unique[: int(len(docs) * held_share)]}
        self.held = [d for d in docs if d["id"] in held]
        for d in docs:
            if d["id"] not in held:
                self._write(f"{d['id']}.txt", page_text(d))

    def _write(self, rel: str, text: str) -> None:
        path = self.corpus / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")

    def corpus_files(self) -> list[str]:
        return sorted(p.relative_to(self.corpus).as_posix() for p in self.corpus.rglob("*.txt"))

    # -- one killed run ------------------------------------------------------------------

    def killed_run(self, mode: str, max_s: float, *extra: str) -> None:
        """Start a run, SIGKILL it at a random moment, then check the live index."""
        before = snapshot(self.index)
        touched = set(self.pending)
        delay = self.rng.uniform(0.2, max_s)
        proc = subprocess.Popen(indexer_cmd(self.corpus, self.index, *extra), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        err = proc.stderr.read().decode("utf-8", "replace").strip()
        proc.stderr.close()
        if proc.returncode == 0:
            self.figures.finished_before_kill += 1
            self.pending.clear()
        elif proc.returncode == -signal.SIGKILL:
            self.figures.kills += 1
            self.figures.by_mode[mode] = self.figures.by_mode.get(mode, 0) + 1
        elif proc.returncode == 75:
            self.figures.locked_after_kill += 1
            self.figures.fail(f"{mode}: run refused with 75 after a kill: {err}")
        else:
            self.figures.fail(f"{mode}: run failed ({proc.returncode}): {err[-500:]}")
        self.check_after(mode, before, touched, delay)

    def check_after(self, mode: str, before: dict[str, Doc] | None, touched: set[str], delay: float) -> None:
        after = None
        try:
            after = snapshot(self.index)
            if after is None:
                if before:
                    self.figures.fail(f"{mode}: index vanished after a kill at {delay:.2f}s")
                    self.figures.lost += len(before)
                else:
                    self.figures.no_index_yet += 1
                return
            every, term = probe(self.index)
            self.figures.probes += 1
            if after and every == 0:
                self.figures.fail(f"{mode}: Every() found nothing in a non-empty index")
        except IndexUnavailable as exc:
            self.figures.fail(f"{mode}: index unavailable after a kill at {delay:.2f}s: {exc}")
            self.figures.lost += len(before or {})
            return
        self.check_versions(mode, after)
        lost = [p for p, doc in (before or {}).items()
                if p not in touched and (p not in after or after[p][2] != doc[2])]
        if lost:
            self.figures.lost += len(lost)
            self.figures.fail(f"{mode}: {len(lost)} documents lost after a kill at {delay:.2f}s, e.g. {lost[:3]}")

    def check_versions(self, mode: str, after: dict[str, Doc]) -> None:
        """No text recorded twice (the kill loop never reverts a file, so any repeat is one)."""
        self.shown |= {(doc[0], doc[2]) for doc in after.values() if doc[1] == "article"}
        rows = version_rows(self.index)
        twice = len(rows) - len(set(rows))
        if twice > self._twice_base:
            self.figures.fail(f"{mode}: {twice - self._twice_base} versions recorded twice")
            self.figures.versions_twice += twice - self._twice_base
            self._twice_base = twice

    # -- rounds ----------------------------------------------------------------------------

    def full_build_round(self, kills: int, complete: bool = True) -> None:
        """Kill a first build into an empty folder `kills` times, each run resuming the last."""
        shutil.rmtree(self.index, ignore_errors=True)  # the state file (versions) goes too
        self.pending.clear()
        self.shown.clear()
        self._twice_base = 0
        for _ in range(kills):
            self.killed_run("full", min(8.0, self.max_kill_s))
        if complete:
            self.complete()

    def rebuild_round(self, kills: int, complete: bool = True) -> None:
        for _ in range(kills):
            self.killed_run("rebuild", self.max_kill_s, "--rebuild")
        if complete:
            self.complete()

    def incremental_round(self, kills: int) -> None:
        self.pending |= self.mutate()
        for _ in range(kills):
            self.killed_run("incremental", min(6.0, self.max_kill_s))

    def complete(self) -> None:
        run_complete(self.corpus, self.index)
        self.pending.clear()
        self.check_versions("complete", snapshot(self.index) or {})

    def mutate(self) -> set[str]:
        """Delete, modify and add a few files; return the paths whose document may change."""
        self.generation += 1
        files = self.corpus_files()
        touched: set[str] = set()
        for rel in self.rng.sample(files, k=min(len(files) // 4, self.rng.randint(1, 15))):
            (self.corpus / rel).unlink()
            touched.add(rel)
        files = [f for f in files if f not in touched]
        for rel in self.rng.sample(files, k=min(len(files) // 4, self.rng.randint(1, 40))):
            path = self.corpus / rel
            path.write_text(path.read_text("utf-8") + f"\nUpdate {self.generation}: the story was revised.\n",
                            "utf-8")
            touched.add(rel)
        for _ in range(min(len(self.held), self.rng.randint(0, 30))):
            doc = self.held.pop()
            rel = f"added/{self.generation:03d}-{doc['id'].replace('/', '-')}.txt"
            self._write(rel, page_text(doc))
            touched.add(rel)
        # A document can also change through its duplicate's original being deleted or edited.
        before = snapshot(self.index) or {}
        ids = {doc[0]: p for p, doc in before.items()}
        for p, doc in before.items():
            if doc[1] == "duplicate" and ids.get(doc[3]) in touched:
                touched.add(p)
        return touched

    def run(self, target_kills: int) -> None:
        self.full_build_round(kills=4)
        while self.figures.kills < target_kills:
            mode = self.rng.choices(["incremental", "rebuild", "full"], weights=[6, 2, 1])[0]
            if mode == "incremental":
                self.incremental_round(kills=self.rng.randint(1, 3))
            elif mode == "rebuild":
                self.rebuild_round(kills=self.rng.randint(1, 2))
            else:
                self.full_build_round(kills=self.rng.randint(2, 4))
            self.log(f"  kills so far: {self.figures.kills}  ({mode})")

    def final_check(self) -> tuple[int, int]:
        """A complete run, then compare with a clean build of the same corpus: (docs, differences)."""
        self.complete()
        shutil.rmtree(self.clean, ignore_errors=True)
        run_complete(self.corpus, self.clean)
        ours, clean = snapshot(self.index) or {}, snapshot(self.clean) or {}
        diff = sorted(p for p in set(ours) | set(clean) if ours.get(p) != clean.get(p))
        if diff:
            self.figures.lost += len(diff)
            examples = [(p, ours.get(p), clean.get(p)) for p in diff[:3]]
            self.figures.fail(f"final index differs from a clean build on {len(diff)} files, e.g. {examples}")
        recorded = {(doc_id, h) for _story, doc_id, h in version_rows(self.index)}
        missing = sorted(self.shown - recorded)
        if missing:
            self.figures.versions_lost = len(missing)
            self.figures.fail(f"{len(missing)} article texts the index held have no recorded version, e.g. {missing[:3]}")
        ids_ours = {doc[0]: p for p, doc in ours.items()}
        ids_clean = {doc[0]: p for p, doc in clean.items()}
        if clusters_of(self.index, ids_ours) != clusters_of(self.clean, ids_clean):
            self.figures.fail("story clusters differ from those of a clean build")
        files = self.corpus_files()
        if set(clean) != set(files):
            self.figures.fail(f"clean build holds {len(clean)} of {len(files)} corpus files")
        versions = list((self.index / "versions").iterdir())
        if len(versions) != 1:
            self.figures.fail(f"{len(versions)} version folders left after a complete run")
        ix = open_live_index(self.index)
        live = {s.segment_id() for s in ix._segments()}
        ix.close()
        stray = [p.name for p in versions[0].iterdir()
                 if p.name.startswith("MAIN") and p.name != "MAIN_WRITELOCK" and p.name.split(".")[0] not in live]
        if stray:
            self.figures.fail(f"files no commit refers to left in the live version: {stray[:5]}")
        return len(ours), len(diff)


def _text_key(doc: dict) -> str:
    return hashlib.sha1(page_text(doc).encode("utf-8")).hexdigest()
