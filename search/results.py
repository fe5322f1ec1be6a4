"""The response objects: one shape rendered as JSON (``to_dict``), HTML and Atom.

Field names follow DESIGN.md; extras (duplicates, fallback, undated_hidden, index state)
are additive. Template helpers (``date_human``, ``snippet_html``, ``pages``) live here so
the HTML front end needs no logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from markupsafe import Markup

from common.dates import PubDate
from search.request import SearchRequest


def _human(date: str | None) -> str | None:
    if not date:
        return None
    try:
        return PubDate.parse(date).human()
    except ValueError:
        return date


@dataclass
class IndexState:
    """Which index state answered: version folder, Whoosh generation, last indexer run."""

    version: str | None = None
    generation: int | None = None
    last_run: dict | None = None

    def to_dict(self) -> dict:
        return {"version": self.version, "generation": self.generation, "last_run": self.last_run}


@dataclass
class Hit:
    """One search result (an article; exact copies listed in ``duplicates``)."""

    id: str
    path: str
    title: str
    url: str | None
    source: str | None
    date: str | None
    date_precision: str | None
    tags: list[str]
    score: float | None
    snippet: str
    duplicates: list[str] = field(default_factory=list)
    missing_words: list[str] = field(default_factory=list)  # relaxed words this hit lacks
    explain: dict | None = None  # the score broken down, when the request asks for it
    cluster: dict | None = None  # the story's copies (search.clusters.cluster_dict)

    @property
    def date_human(self) -> str | None:
        """6 June 2019, May 2019 or 2019."""
        return _human(self.date)

    @property
    def snippet_html(self) -> Markup:
        """The snippet as safe markup (already escaped, only <mark> added)."""
        return Markup(self.snippet)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "path": self.path,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "date": self.date,
            "date_precision": self.date_precision,
            "tags": self.tags,
            "score": self.score,
            "snippet": self.snippet,
            "duplicates": self.duplicates,
            "missing_words": self.missing_words,
            "cluster": self.cluster,
            **({"explain": self.explain} if self.explain is not None else {}),
        }


@dataclass
class SearchResponse:
    """A page of results with totals, facets, suggestion and how the query was read."""

    request: SearchRequest
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    took_ms: float
    index: IndexState
    suggestion: str | None = None
    fallback: str | None = None  # "any_words" when no match has all the words (partial ones shown)
    syntax_error: str | None = None  # why the query was read as plain words
    undated_hidden: int = 0
    ignored_words: list[str] = field(default_factory=list)
    deadline_exceeded: bool = False  # phrases matched as their words: the search ran out of time
    matching: dict = field(default_factory=dict)  # required / relaxed words (search.ranking)

    @property
    def query(self) -> str:
        return self.request.q

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.request.size))

    @property
    def has_next(self) -> bool:
        return self.request.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.request.page > 1

    def to_dict(self) -> dict:
        return {
            "query": self.request.q,
            "total": self.total,
            "page": self.request.page,
            "size": self.request.size,
            "sort": self.request.sort,
            "took_ms": self.took_ms,
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
            "suggestion": self.suggestion,
            "fallback": self.fallback,
            "syntax_error": self.syntax_error,
            "undated_hidden": self.undated_hidden,
            "ignored_words": self.ignored_words,
            "deadline_exceeded": self.deadline_exceeded,
            "matching": self.matching,
            "index": self.index.to_dict(),
        }


@dataclass
class Related:
    """An article similar to the one shown."""

    id: str
    title: str
    date: str | None
    source: str | None

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "date": self.date, "source": self.source}


@dataclass
class VersionInfo:
    """One recorded text of an article: when it was seen, its headline and date."""

    seen: str
    title: str
    date: str | None
    content_hash: str
    doc_id: str  # the file that carried it (a re-scrape may arrive under another name)

    def to_dict(self) -> dict:
        return {"seen": self.seen, "title": self.title, "date": self.date,
                "content_hash": self.content_hash, "id": self.doc_id}


@dataclass
class ArticleResponse:
    """One whole article, its copies, related articles and (optionally) highlights."""

    id: str
    path: str
    title: str
    url: str | None
    source: str | None
    author: str | None
    date: str | None
    date_precision: str | None
    tags: list[str]
    text: str
    text_html: Markup
    duplicates: list[str]
    related: list[Related]
    took_ms: float
    index: IndexState
    versions: list[VersionInfo] = field(default_factory=list)
    cluster: dict | None = None

    @property
    def date_human(self) -> str | None:
        return _human(self.date)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "path": self.path,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "author": self.author,
            "date": self.date,
            "date_precision": self.date_precision,
            "tags": self.tags,
            "text": self.text,
            "text_html": str(self.text_html),
            "duplicates": self.duplicates,
            "related": [r.to_dict() for r in self.related],
            "versions": [v.to_dict() for v in self.versions],
            "cluster": self.cluster,
            "took_ms": self.took_ms,
            "index": self.index.to_dict(),
        }
