"""The article record and how it maps onto index fields (one place, used by every writer)."""

from __future__ import annotations

from dataclasses import dataclass, field

from whoosh.util.times import datetime_to_long

from common.dates import PubDate
from common.schema import KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED


@dataclass
class FileState:
    """What the indexer knows about a corpus file without reading it again."""

    path: str
    size: int
    mtime_ns: int
    file_hash: str = ""
    meta_hash: str = ""


@dataclass
class Article:
    """A cleaned article, ready to index."""

    id: str
    path: str
    title: str
    body: str
    content_hash: str
    url: str | None = None
    source: str | None = None
    author: str | None = None
    tags: list[str] = field(default_factory=list)
    date: PubDate | None = None
    date_origin: str | None = None


def source_key(source: str | None) -> str:
    """Case-insensitive key for filtering by source."""
    return (source or "").strip().lower()


def article_fields(article: Article, state: FileState) -> dict:
    """Index fields of an article document."""
    tags = ",".join(t.replace(",", " ").strip() for t in article.tags if t.strip())
    doc = {
        "id": article.id,
        "kind": KIND_ARTICLE,
        "path": article.path,
        "size": state.size,
        "mtime_ns": state.mtime_ns,
        "file_hash": state.file_hash,
        "meta_hash": state.meta_hash,
        "content_hash": article.content_hash,
        "title": article.title,
        "body": article.body,
        "url": article.url or "",
        "author": article.author or "",
        "source": article.source or "",
        "source_key": source_key(article.source),
        "tags": tags,
        "tag_labels": tags,
        "dated": article.date is not None,
    }
    if article.date is not None:
        doc.update(
            date=article.date.iso(),
            date_precision=article.date.precision,
            date_origin=article.date_origin or "",
            date_start=datetime_to_long(article.date.start),
            date_end=datetime_to_long(article.date.end),
            year=f"{article.date.year:04d}",
        )
        if article.date.precision != "year":
            doc["month"] = f"{article.date.year:04d}-{article.date.month:02d}"
    return doc


def duplicate_fields(doc_id: str, state: FileState, content_hash: str, dup_of: str) -> dict:
    """Index fields of a duplicate's placeholder: file state and which article it copies."""
    return {
        "id": doc_id,
        "kind": KIND_DUPLICATE,
        "path": state.path,
        "size": state.size,
        "mtime_ns": state.mtime_ns,
        "file_hash": state.file_hash,
        "meta_hash": state.meta_hash,
        "content_hash": content_hash,
        "dup_of": dup_of,
    }


def skipped_fields(doc_id: str, state: FileState, reason: str) -> dict:
    """Index fields of a file that gave no article: its state and the reason."""
    return {
        "id": doc_id,
        "kind": KIND_SKIPPED,
        "path": state.path,
        "size": state.size,
        "mtime_ns": state.mtime_ns,
        "file_hash": state.file_hash,
        "meta_hash": state.meta_hash,
        "content_hash": "",
        "skip_reason": reason,
    }


def fields_from_stored(stored: dict, state: FileState) -> dict:
    """Rebuild a document's fields from its stored values with a new file state.

    Used when a file was touched but its bytes did not change: the state is refreshed
    without reading, cleaning or analysing the file again.
    """
    if stored.get("kind") == KIND_DUPLICATE:
        return duplicate_fields(stored["id"], state, stored["content_hash"], stored["dup_of"])
    if stored.get("kind") == KIND_SKIPPED:
        return skipped_fields(stored["id"], state, stored.get("skip_reason", ""))
    date = None
    if stored.get("date"):
        date = PubDate.parse(stored["date"])
    article = Article(
        id=stored["id"],
        path=state.path,
        title=stored.get("title", ""),
        body=stored.get("body", ""),
        content_hash=stored["content_hash"],
        url=stored.get("url") or None,
        source=stored.get("source") or None,
        author=stored.get("author") or None,
        tags=[t for t in (stored.get("tags") or "").split(",") if t],
        date=date,
        date_origin=stored.get("date_origin") or None,
    )
    return article_fields(article, state)
