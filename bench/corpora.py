"""Loaders that turn the shared research data sets into indexed articles.

Benches (and, until the real indexer lands, tests) build Whoosh indexes directly through
``common.documents.article_fields`` so the documents look exactly like the indexer's.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

from whoosh import index as windex

from common.codec import ArrayCodec
from common.dates import PubDate
from common.documents import Article, FileState, article_fields
from common.layout import CURRENT, VERSIONS
from common.schema import build_schema

DATA = Path(os.environ.get("SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def time_articles() -> Iterator[Article]:
    """TIME (1963): no titles, day dates, ALL-CAPS text."""
    with open(DATA / "ir/time/docs.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            yield Article(
                id=d["id"], path=f"time/{d['id']}.txt", title="", body=d["text"],
                content_hash=_hash(d["text"]), source="TIME",
                date=PubDate.parse(d["date"][:10]),
            )


def cranfield_articles() -> Iterator[Article]:
    """Cranfield: titles and abstracts, undated."""
    with open(DATA / "ir/cranfield/docs.jsonl", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            yield Article(
                id=d["id"], path=f"cranfield/{d['id']}.txt", title=d["title"] or "",
                body=d["text"] or "", content_hash=_hash(d["id"] + (d["text"] or "")),
                source="Cranfield",
            )


def reuters_stories() -> list[dict]:
    """Reuters-21578 stories with a non-empty body."""
    out = []
    with gzip.open(DATA / "reuters21578/docs.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            if (d.get("text") or "").strip():
                out.append(d)
    return out


def reuters_articles(copies: int = 1, stories: list[dict] | None = None) -> Iterator[Article]:
    """Reuters stories, optionally repeated ``copies`` times with new ids (scale tests)."""
    stories = stories if stories is not None else reuters_stories()
    for c in range(copies):
        for d in stories:
            day = datetime.fromisoformat(d["date"]).date()
            rid = d["id"] if c == 0 else f"{d['id']}-c{c}"
            yield Article(
                id=f"reuters-{rid}", path=f"reuters/{rid}.txt",
                title=(d.get("title") or "").title(), body=d["text"],
                content_hash=_hash(rid + d["text"]), source="Reuters",
                tags=list(d.get("topics") or []), date=PubDate.from_date(day),
            )


def build_index(index_dir: Path, articles: Iterable[Article], procs: int = 1) -> Path:
    """Write articles into INDEX_DIR/versions/v1 with INDEX_DIR/current pointing at it."""
    index_dir = Path(index_dir)
    version = index_dir / VERSIONS / "v1"
    version.mkdir(parents=True, exist_ok=True)
    ix = windex.create_in(str(version), build_schema())
    kw = {"procs": procs, "multisegment": True, "limitmb": 512} if procs > 1 else {"limitmb": 512}
    kw["codec"] = ArrayCodec()  # the product's postings format (common/codec.py)
    with ix.writer(**kw) as w:
        for a in articles:
            w.add_document(**article_fields(a, FileState(a.path, len(a.body), 0, a.content_hash)))
    link = index_dir / CURRENT
    if not link.exists():
        link.symlink_to(Path(VERSIONS) / "v1")
    return index_dir
