"""Score indexer.textclean on the Scrapinghub pages' whole visible text.

Usage: python bench/textclean_score.py [--data DIR] [--worst N]

Input is `baselines/html-text.jsonl.gz` (each page's full visible text, i.e. a text dump
full of furniture like seeds/); truth is `ground_truth.jsonl`. Prints P/R/F1/accuracy of
the raw text (the published html-text baseline: F1 0.665) and of clean_text_dump, with
the corpus furniture signal computed per URL host as the indexer would per source.

Then hard-wrapped wire copy: the Reuters-21578 stories with a headline, written as the
index bench writes them (headline, blank line, text). Those have no furniture, so the
article is the whole text: prints the share of the text's words kept in the cleaned body
(mean and 10th percentile) and the share of headlines found exactly. Then the TIME and
Cranfield test collections, written as bench/relevance.py writes them: the share of their
words in lines the cleaner dropped (other than the title line and its copies), and how
many articles lose any.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):  # the metric and the loader are shared with the tests
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from datasets import load_pages  # noqa: E402
from shingle_metric import page_counts, score  # noqa: E402
from indexer.furniture import FurnitureStats  # noqa: E402
from indexer.textclean import WORD_RE, clean_text_dump, furniture_candidates, line_key  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "extraction" / "scrapinghub"
REUTERS = ROOT.parent / "shared" / "data" / "reuters21578" / "docs.jsonl.gz"
IR = ROOT.parent / "shared" / "data" / "ir"


def furniture_by_host(pages: list[dict[str, str]]) -> dict[str, frozenset[str]]:
    """The corpus signal per host, counted as the indexer counts it (indexer/furniture.py)."""
    stats = FurnitureStats()
    for page in pages:
        stats.add(page["host"], furniture_candidates(page["text"]))
    return {page["host"]: stats.furniture(page["host"]) for page in pages}


def cleaned_pairs(pages: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(truth, cleaned body) for every page."""
    furniture = furniture_by_host(pages)
    return [(p["truth"], clean_text_dump(p["text"], furniture[p["host"]]).body) for p in pages]


def format_scores(name: str, scores: dict[str, float]) -> str:
    return (f"{name:<10} F1 {scores['f1']:.3f}  P {scores['precision']:.3f}  "
            f"R {scores['recall']:.3f}  accuracy {scores['accuracy']:.3f}  "
            f"pages {int(scores['pages'])}")


def wire_copy_scores(path: Path = REUTERS) -> str:
    """Word recall and headline accuracy of clean_text_dump on Reuters stories."""
    recalls, headlines = [], 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            if not (doc["text"].strip() and doc["title"]):
                continue
            article = clean_text_dump(f"{doc['title']}\n\n{doc['text']}\n")
            words = WORD_RE.findall(doc["text"].lower())
            kept = set(WORD_RE.findall(article.body.lower()))
            recalls.append(sum(w in kept for w in words) / max(1, len(words)))
            headlines += article.title == " ".join(doc["title"].split())
    recalls.sort()
    return (f"wire copy  word recall mean {sum(recalls) / len(recalls):.3f}  "
            f"p10 {recalls[len(recalls) // 10]:.3f}  headlines exact {headlines / len(recalls):.3f}  "
            f"stories {len(recalls)}")


def collection_scores(name: str) -> str:
    """Words of an IR collection's articles the cleaner dropped (TIME: all in capitals)."""
    total = lost = articles = losing = 0
    with open(IR / name / "docs.jsonl", encoding="utf-8") as fh:
        for doc in map(json.loads, fh):
            title = doc.get("title") or ""
            article = clean_text_dump(f"{title}\n\n{doc['text']}\n" if title else f"{doc['text']}\n")
            gone = sum(len(WORD_RE.findall(line)) for line in article.removed
                       if line_key(line) != line_key(article.title))
            total += len(WORD_RE.findall(doc["text"]))
            lost, articles, losing = lost + gone, articles + 1, losing + bool(gone)
    return f"{name:<10} words kept {1 - lost / total:.4f}  articles losing words {losing} of {articles}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages")
    args = parser.parse_args(argv)
    pages = load_pages(args.data)
    raw = score((p["truth"], p["text"]) for p in pages)
    cleaned = cleaned_pairs(pages)
    print(format_scores("raw", raw))
    print(format_scores("cleaned", score(cleaned)))
    if REUTERS.is_file():
        print(wire_copy_scores())
    for name in ("time", "cranfield"):
        if (IR / name / "docs.jsonl").is_file():
            print(collection_scores(name))
    if args.worst:
        rows = []
        for page, (truth, body) in zip(pages, cleaned):
            c = page_counts(truth, body)
            p = c.tp / (c.tp + c.fp) if c.tp + c.fp else 0.0
            r = c.tp / (c.tp + c.fn) if c.tp + c.fn else 0.0
            rows.append((min(p, r), p, r, page["id"][:12], page["url"]))
        for _, p, r, pid, url in sorted(rows)[: args.worst]:
            print(f"  P {p:.2f} R {r:.2f}  {pid}  {url}")


if __name__ == "__main__":
    main()
