"""One corpus file in, one Article (or a Skip with its reason) out.

This is the document boundary: every stage below it may raise, and ``process_file``
turns a failure into a Skip so one bad page never stops a run. It runs in worker
processes, so its inputs and outputs are plain picklable values.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from common.dates import DateFormatError, PubDate
from common.documents import Article, FileState
from common.schema import PreAnalyzed, build_schema
from indexer import clusters, dates, source, textclean
from indexer.corpus import CorpusFile, Skip
from indexer.decode import DecodeError, decode_bytes

TITLE_MAX = 300


@dataclass(frozen=True)
class Job:
    """A file to process, with what the run knows about it."""

    file: CorpusFile
    doc_id: str
    manifest: dict = field(default_factory=dict)
    meta_hash: str = ""
    furniture: frozenset[str] = frozenset()


@dataclass
class Result:
    job: Job
    state: FileState
    article: Article | None = None
    skip: Skip | None = None
    postings: dict[str, PreAnalyzed] = field(default_factory=dict)
    signature: clusters.Signature | None = None  # for story clusters, computed here in the worker


_SCHEMA = build_schema()
ANALYSED_FIELDS = ("title", "body")


def analyse(article: Article) -> dict[str, PreAnalyzed]:
    """Postings of the article's text fields, computed here in the worker process."""
    return {name: _SCHEMA[name].postings(getattr(article, name)) for name in ANALYSED_FIELDS}


def doc_id_for(rel: str) -> str:
    """Stable id from the corpus-relative path: same file, same id, on every run."""
    return hashlib.sha1(rel.encode("utf-8")).hexdigest()[:16]


def group_key(rel: str, manifest: dict) -> str:
    """Documents sharing furniture: same site (manifest URL host), else same folder."""
    url = manifest.get("url", "")
    host = urlsplit(url).hostname if url else None
    return host or str(Path(rel).parent)


def read_text(job: Job) -> tuple[str, str]:
    """(text, file_hash) of a job's file; raises OSError or DecodeError."""
    data = job.file.abs.read_bytes()
    text, _encoding = decode_bytes(data, html=job.file.kind == "html")
    return text, hashlib.sha1(data).hexdigest()


def content_hash(title: str, body: str) -> str:
    """Hash of the cleaned article, whitespace-insensitive, to find exact duplicates."""
    norm = re.sub(r"\s+", " ", f"{title}\n{body}").strip().lower()
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def process_file(job: Job) -> Result:
    """Read, decode, clean and date one file; never raises for a bad document."""
    state = FileState(job.file.rel, job.file.size, job.file.mtime_ns, "", job.meta_hash)
    try:
        text, state.file_hash = read_text(job)
        article = _build_article(job, text)
    except DecodeError as exc:
        return Result(job, state, skip=Skip(job.file.rel, str(exc)))
    except OSError as exc:
        return Result(job, state, skip=Skip(job.file.rel, f"cannot read file: {exc.strerror or exc}"))
    except (ValueError, RecursionError) as exc:  # htmlclean.ExtractionError is a ValueError
        return Result(job, state, skip=Skip(job.file.rel, f"cannot extract article: {exc}"))
    if article is None or not article.body.strip():
        return Result(job, state, skip=Skip(job.file.rel, "no article text after cleaning"))
    return Result(job, state, article=article, postings=analyse(article),
                  signature=clusters.signature(article.body))


def _build_article(job: Job, text: str) -> Article | None:
    entry = job.manifest
    url = entry.get("url")
    given = _manifest_date(entry)
    candidates: list[tuple[PubDate | None, str]] = [(given, "manifest")]
    # A manifest day is final (nothing outranks it or refines it): skip the text search.
    search_text = given is None or given.precision != "day"
    if job.file.kind == "html":
        from indexer import htmlclean  # trafilatura: imported only when a page needs it

        page = htmlclean.extract_html(text, url)
        if page is None:
            return None
        title, body, tags = page.title, page.body, page.tags
        url = url or page.url
        author = page.author
        candidates.append((page.date, "html"))
        outlet = page.sitename or source.source_from_text(body)
    else:
        cleaned = textclean.clean_text_dump(text, job.furniture)
        title, body, tags, author = cleaned.title, cleaned.body, cleaned.tags, None
        if search_text:
            candidates.append((dates.date_from_text(text), "text"))
        outlet = source.source_from_text(text)
    if url:
        candidates.append((dates.date_from_url(url), "url"))
    date, origin = dates.best_date(candidates)
    title = (entry.get("title") or title or "").strip()[:TITLE_MAX]
    outlet = entry.get("source") or outlet or (source.source_from_url(url) if url else None)
    return Article(
        id=job.doc_id,
        path=job.file.rel,
        title=title or Path(job.file.rel).stem,
        body=body.strip(),
        content_hash=content_hash(title, body),
        url=url,
        source=outlet,
        author=author,
        tags=tags,
        date=date,
        date_origin=origin,
    )


def _manifest_date(entry: dict) -> PubDate | None:
    """A manifest date: YYYY, YYYY-MM, YYYY-MM-DD, or an ISO timestamp (its day)."""
    raw = entry.get("date")
    if not raw:
        return None
    try:
        return PubDate.parse(raw[:10] if len(raw) > 10 and raw[10] in "T " else raw)
    except DateFormatError:
        return None


def line_keys(job: Job) -> tuple[str, list[str]]:
    """(group, distinct furniture-candidate line keys) of a text file, for corpus stats."""
    if job.file.kind != "text":
        return group_key(job.file.rel, job.manifest), []
    try:
        text, _ = read_text(job)
    except (OSError, DecodeError):
        return group_key(job.file.rel, job.manifest), []
    keys = {textclean.line_key(line) for line in textclean.unwrap_lines(text) if 0 < len(line.strip()) <= 120}
    keys.discard("")
    return group_key(job.file.rel, job.manifest), sorted(keys)
