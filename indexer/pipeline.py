"""One corpus file in, one Article (or a Skip with its reason) out.

This is the document boundary: every stage below it may raise, and ``process_file``
turns a failure into a Skip so one bad page never stops a run. It runs in worker
processes, so its inputs and outputs are plain picklable values.
"""

from __future__ import annotations

import hashlib
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from common.analysis import index_postings
from common.dates import DateFormatError, PubDate
from common.documents import Article, FileState, article_fields
from common.schema import PreAnalyzed, build_schema
from indexer import clusters, dates, source, textclean
from indexer.corpus import CorpusFile, FileRefused, Skip, read_corpus_file
from indexer.decode import DecodeError, decode_bytes

TITLE_MAX = 300


# Seconds one file may take to clean (a typical page takes a tenth of a second; a 4.5 MB
# page of nested markup took trafilatura 56 s, and every later run would spend it again).
DOC_TIME_BUDGET = 30.0


class DocumentTimeout(Exception):
    """A file took longer than its time budget to clean."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise DocumentTimeout in this thread once ``seconds`` have passed (SIGALRM).

    Only in a main thread (where signals arrive: the workers, the CLI); elsewhere, and
    with 0, no bound. The exception reaches the next Python line, so a long call into C
    code ends first; every stage here returns to Python often.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(_signum, _frame):
        raise DocumentTimeout(f"cleaning took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    # Then again every quarter second: an exception raised while Python runs a garbage
    # collector callback or a __del__ is printed and dropped, so one alarm is not enough.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Job:
    """A file to process, with what the run knows about it."""

    file: CorpusFile
    doc_id: str
    manifest: dict = field(default_factory=dict)
    meta_hash: str = ""
    furniture: frozenset[str] = frozenset()
    time_budget: float = DOC_TIME_BUDGET  # seconds of cleaning this file may take; 0: no bound


@dataclass
class Result:
    job: Job
    state: FileState
    article: Article | None = None
    skip: Skip | None = None
    postings: dict[str, PreAnalyzed] = field(default_factory=dict)
    fields: dict = field(default_factory=dict)  # the article's index fields
    signature: clusters.Signature | None = None  # for story clusters, computed here in the worker


_SCHEMA = build_schema()
ANALYSED_FIELDS = ("title", "body")


def analyse(article: Article) -> dict[str, PreAnalyzed]:
    """Postings of the article's text fields, computed here in the worker process."""
    return {name: _SCHEMA[name].postings(getattr(article, name)) for name in ANALYSED_FIELDS}


def preload(html: bool) -> None:
    """Import and first use what cleaning loads lazily, outside any file's time budget.

    A budget that expires inside a first import can leave that module half-initialised
    in its process, and every later file there then fails ("partially initialized
    module 'nltk'": good files skipped). The run calls this before forking its workers,
    which inherit what is loaded; a run with nothing to clean never pays for it. The
    HTML stack is loaded by process_file before a worker's first page when not here.
    """
    index_postings("Preloading the analysis: Müller's re-education, 10 June 2019.")
    dates.parse_phrase("June 10, 2019")
    clusters.signature(" ".join(f"word{i}" for i in range(40)))
    if html:
        _preload_html()


_html_loaded = False


def _preload_html() -> None:
    global _html_loaded
    if _html_loaded:
        return
    from indexer import htmlclean  # trafilatura, lxml, htmldate

    htmlclean.extract_html("<html><head><title>Preload</title></head><body><article><h1>Preload</h1>"
                           "<p>Trafilatura loads its parts on first use, 10 June 2019.</p>"
                           "</article></body></html>")
    _html_loaded = True


def doc_id_for(rel: str) -> str:
    """Stable id from the corpus-relative path: same file, same id, on every run."""
    return hashlib.sha1(rel.encode("utf-8")).hexdigest()[:16]


def group_key(rel: str, manifest: dict) -> str:
    """Documents sharing furniture: same site (manifest URL host), else same folder."""
    url = manifest.get("url", "")
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:  # e.g. "http://[::1": load_manifest drops these, this is a backstop
        host = None
    return host or str(Path(rel).parent)


def read_text(job: Job) -> tuple[str, str]:
    """(text, file_hash) of a job's file; raises OSError, FileRefused or DecodeError."""
    data = read_corpus_file(job.file)
    text, _encoding = decode_bytes(data, html=job.file.kind == "html")
    return text, hashlib.sha1(data).hexdigest()


def content_hash(title: str, body: str) -> str:
    """Hash of the cleaned article, whitespace-insensitive, to find exact duplicates."""
    norm = re.sub(r"\s+", " ", f"{title}\n{body}").strip().lower()
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def process_file(job: Job) -> Result:
    """Read, decode, clean, date and analyse one file; never raises for a bad document."""
    state = FileState(job.file.rel, job.file.size, job.file.mtime_ns, "", job.meta_hash)
    try:
        text, state.file_hash = read_text(job)
    except (DecodeError, FileRefused) as exc:
        return Result(job, state, skip=Skip(job.file.rel, str(exc)))
    except OSError as exc:
        return Result(job, state, skip=Skip(job.file.rel, f"cannot read file: {exc.strerror or exc}"))
    except Exception as exc:  # noqa: BLE001 -- the document boundary (see below)
        return Result(job, state, skip=Skip(job.file.rel, failure_reason(exc)))
    try:
        if job.file.kind == "html":
            _preload_html()  # outside the budget: a first import must not count as this page's time
        with time_budget(job.time_budget):
            article = _build_article(job, text)
            if article is None or not article.body.strip():
                return Result(job, state, skip=Skip(job.file.rel, "no article text after cleaning"))
            # Built here, inside the boundary, so a value the index cannot hold is this
            # file's skip and not a failure of the writer (and of every later run).
            return Result(job, state, article=article, postings=analyse(article),
                          fields=article_fields(article, state),
                          signature=clusters.signature(article.body))
    except Exception as exc:  # noqa: BLE001 -- the document boundary: any stage, any type
        return Result(job, state, skip=Skip(job.file.rel, failure_reason(exc)))


def failure_reason(exc: BaseException) -> str:
    """A skip reason naming the exception, so a recurring fault can be traced."""
    what = "cannot extract article" if isinstance(exc, ValueError) else "cannot process file"
    return f"{what} ({exc.__class__.__name__}: {str(exc)[:200]})"


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
        given = PubDate.parse(raw[:10] if len(raw) > 10 and raw[10] in "T " else raw)
    except DateFormatError:
        return None
    # Year 9999 parses, but its period ends past datetime's range; no archive is dated
    # later than next year, so a later date is a typo and the extracted date is used.
    return given if given.year <= dates.max_year() else None


def line_keys(job: Job) -> tuple[str, list[str]]:
    """(group, distinct furniture-candidate line keys) of a text file, for corpus stats."""
    if job.file.kind != "text":
        return group_key(job.file.rel, job.manifest), []
    try:
        with time_budget(job.time_budget):
            text, _ = read_text(job)
            keys = textclean.furniture_candidates(text)
    except Exception:  # noqa: BLE001 -- process_file reports this file's fault as its skip
        return group_key(job.file.rel, job.manifest), []
    return group_key(job.file.rel, job.manifest), keys
