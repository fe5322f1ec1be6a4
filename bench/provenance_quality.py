"""Story clusters: precision and recall of cluster membership, on the product path.

(a) BBC: the 2,225 articles as text dumps; truth = the data set's flagged exact
    duplicates (``duplicate_of``). Pairs we add beyond the flags are listed for review.
(b) Syndication: ``tests/data/syndication.jsonl.gz`` (bench/make_syndication_set.py):
    60 real Reuters stories, each re-published by three outlets with a new headline,
    header and footer and one edit (paragraph cut, sentence changed, trimmed).
(c) Its 59 distractors: a different story on the same topic from the nearest time;
    each (story, distractor) pair must not merge.

    PYTHONPATH=. .venv/bin/python bench/provenance_quality.py [--set bbc|syndication|both]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cluster_eval import (  # noqa: E402
    load_syndication, pair_scores, predicted_clusters, shingle_overlap, write_labelled_corpus,
)
from datasets import load_jsonl_gz  # noqa: E402

BBC = ROOT.parent / "shared" / "data" / "bbc" / "docs.jsonl.gz"
NEAR_REVIEW = 0.7  # exact shingle containment above which an unflagged pair is one story edited


def index(corpus: Path, index_dir: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "indexer", "--corpus", str(corpus), "--index", str(index_dir), "--quiet"],
                   cwd=ROOT, check=True)
    return time.perf_counter() - t0


def bbc(tmp: Path) -> None:
    docs = load_jsonl_gz(BBC)
    rows = [{"file": f"{d['id']}.txt", "text": f"{d['title']}\n\n{d['text']}\n"} for d in docs]
    labels = {f"{d['id']}.txt": f"{d['duplicate_of'] or d['id']}.txt" for d in docs}
    write_labelled_corpus(tmp / "bbc", rows)
    seconds = index(tmp / "bbc", tmp / "bbc-index")
    clusters, _first = predicted_clusters(tmp / "bbc-index", list(labels))
    s = pair_scores(labels, clusters)
    print(f"(a) BBC, {len(docs)} articles, {sum(1 for d in docs if d['duplicate_of'])} flagged duplicates "
          f"({s.true_pairs} pairs), indexed in {seconds:.0f} s")
    print(f"    precision {s.precision:.3f} ({s.correct_pairs}/{s.predicted_pairs} pairs), "
          f"recall {s.recall:.3f} ({s.correct_pairs}/{s.true_pairs})")
    by_file = {f"{d['id']}.txt": d for d in docs}
    overlap = sorted((shingle_overlap(by_file[a]["text"], by_file[b]["text"]), a, b) for a, b in s.false_pairs)
    if overlap:
        contain = sorted(o[0][1] for o in overlap)
        same = sum(1 for (j, c), _a, _b in overlap if c >= NEAR_REVIEW)
        print(f"    {len(overlap)} pairs not flagged (the flags mark exact copies only): exact 5-word shingle "
              f"containment min {contain[0]:.2f}, median {contain[len(contain) // 2]:.2f}; "
              f"{same} share >= {NEAR_REVIEW:.0%} of the shorter text's shingles (same story, edited)")
        ok = s.correct_pairs + same
        print(f"    precision counting those as the same story: {ok / s.predicted_pairs:.3f} ({ok}/{s.predicted_pairs})")
    for (j, c), a, b in overlap[:5]:
        print(f"    least similar unflagged: {a} ~ {b}: Jaccard {j:.2f}, containment {c:.2f}: "
              f"{by_file[a]['title']!r} / {by_file[b]['title']!r}")
    for a, b in s.missed_pairs:
        print(f"    missed: {a} ~ {b}")


def syndication(tmp: Path) -> None:
    rows = load_syndication()
    labels = {r["file"]: r["story"] if r["role"] != "distractor" else f"distractor-{r['story']}" for r in rows}
    write_labelled_corpus(tmp / "synd", rows)
    seconds = index(tmp / "synd", tmp / "synd-index")
    clusters, first = predicted_clusters(tmp / "synd-index", list(labels))
    s = pair_scores(labels, clusters)
    n_copies = sum(r["role"] == "copy" for r in rows)
    print(f"(b) syndication set, {len(rows)} files ({n_copies} copies of 60 Reuters stories), indexed in {seconds:.0f} s")
    print(f"    precision {s.precision:.3f} ({s.correct_pairs}/{s.predicted_pairs} pairs), "
          f"recall {s.recall:.3f} ({s.correct_pairs}/{s.true_pairs})")
    originals = {r["story"]: r["file"] for r in rows if r["role"] == "original"}
    by_edit: dict[str, list[int]] = {}
    for r in rows:
        if r["role"] == "copy":
            found = originals[r["story"]] in clusters.get(r["file"], ())
            by_edit.setdefault(r["edits"][-1], []).append(found)
    print("    copies joined to their original, by edit: "
          + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by_edit.items())))
    right = sum(1 for story, f in originals.items()
                if f in clusters and first.get("|".join(sorted(clusters[f]))) == f)
    print(f"    first published = the wire original: {right}/{len(originals)} story clusters")
    pairs = [(originals[r["pair_of"]], r["file"]) for r in rows if r["role"] == "distractor"]
    merged = [p for p in pairs if p[1] in clusters.get(p[0], ())]
    print(f"(c) same-topic different stories: {len(merged)}/{len(pairs)} pairs merged (must be 0)")
    for a, b in s.false_pairs[:10]:
        print(f"    wrong pair: {a} ~ {b}")
    for a, b in s.missed_pairs[:10]:
        print(f"    missed pair: {a} ~ {b}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", choices=["bbc", "syndication", "both"], default="both")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="provenance-quality-") as tmp:
        if args.set in ("syndication", "both"):
            syndication(Path(tmp))
        if args.set in ("bbc", "both"):
            if not BBC.exists():
                print(f"skipping BBC: {BBC} is missing")
            else:
                bbc(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
