"""Writers that turn ../shared/data sets into corpus folders, as a scraper would leave them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import SHARED_DATA


def load_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def require(path: Path) -> Path:
    """The path of a shared data set; the calling test skips, with the reason, without it.

    A fresh clone has no ../shared beside it: its tests must skip, not error.
    """
    if not path.exists():
        pytest.skip(f"needs the shared data set {path} (not present in this checkout)")
    return path


def write_bbc_corpus(dest: Path, limit: int | None = None) -> list[dict]:
    """BBC articles as text dumps (headline line, blank line, body); returns the records."""
    docs = load_jsonl_gz(require(SHARED_DATA / "bbc" / "docs.jsonl.gz"))[:limit]
    for doc in docs:
        path = dest / f"{doc['id']}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{doc['title']}\n\n{doc['text']}\n", "utf-8")
    return docs


def load_pages(data: Path) -> list[dict[str, str]]:
    """Scrapinghub pages [{id, host, url, text, truth}]: each page's whole visible text (as a
    scraper's dump) and its hand-made article body. Shared by tests and bench/textclean_score.py."""
    truth = {}
    with open(data / "ground_truth.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            truth[row["id"]] = row
    pages = []
    with gzip.open(data / "baselines" / "html-text.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            gt = truth[row["id"]]
            pages.append({"id": row["id"], "host": urlsplit(gt["url"]).netloc,
                          "url": gt["url"], "text": row["articleBody"] or "",
                          "truth": gt["articleBody"] or ""})
    return pages
def reuters_stories(start: int = 0, limit: int | None = None) -> list[dict]:
    """Reuters-21578 stories with a non-empty body, in file order, sliced."""
    docs = [d for d in load_jsonl_gz(SHARED_DATA / "reuters21578" / "docs.jsonl.gz") if d["text"].strip()]
    return docs[start:start + limit if limit else None]


def write_reuters_corpus(dest: Path, stories: list[dict]) -> list[str]:
    """Reuters stories as text dumps with their dates in manifest.jsonl (appended to);
    returns the corpus paths written."""
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    with open(dest / "manifest.jsonl", "a", encoding="utf-8") as manifest:
        for doc in stories:
            name = f"{int(doc['id']) // 1000:02d}/{doc['id']}.txt"
            (dest / name).parent.mkdir(exist_ok=True)
            (dest / name).write_text(f"{doc['title'] or ''}\n\n{doc['text']}\n", "utf-8")
            manifest.write(json.dumps({"file": name, "date": doc["date"], "source": "Reuters"}) + "\n")
            paths.append(name)
    return paths


def write_trafilatura_pages(dest: Path, ids: tuple[str, ...]) -> None:
    """Chosen pages of the trafilatura set as saved HTML files (``<id>.html``, original bytes)."""
    data = require(SHARED_DATA / "extraction" / "trafilatura")
    dest.mkdir(parents=True, exist_ok=True)
    with open(data / "ground_truth.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["id"] in ids:
                (dest / f"{row['id']}.html").write_bytes(gzip.open(data / row["file"]).read())
