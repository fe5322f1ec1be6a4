"""Writers that turn ../shared/data sets into corpus folders, as a scraper would leave them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from conftest import SHARED_DATA


def load_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def write_bbc_corpus(dest: Path, limit: int | None = None) -> list[dict]:
    """BBC articles as text dumps (headline line, blank line, body); returns the records."""
    docs = load_jsonl_gz(SHARED_DATA / "bbc" / "docs.jsonl.gz")[:limit]
    for doc in docs:
        path = dest / f"{doc['id']}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{doc['title']}\n\n{doc['text']}\n", "utf-8")
    return docs
