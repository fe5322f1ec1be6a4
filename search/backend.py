"""The search backend interface: what the app and `watch/` call, whatever answers.

``SearchEngine`` (the Whoosh index with our array codec) is the default backend; a Solr
backend (issue 14) implements the same protocol for an archive past one machine. The
app picks one with ``open_backend(config)`` so neither web code nor watch code names a
concrete engine.
"""

from __future__ import annotations

from typing import Mapping, Protocol, runtime_checkable

from search.request import SearchRequest
from search.results import ArticleResponse, IndexState, SearchResponse

BACKENDS = ("whoosh", "solr")
DEFAULT_BACKEND = "whoosh"


class BackendConfigError(ValueError):
    """SEARCH_BACKEND names no known backend, or its settings are missing."""


class SearchBusy(RuntimeError):
    """The backend cannot take this search now; the client should retry shortly (503)."""


@runtime_checkable
class SearchBackend(Protocol):
    """One search service: ranked search, article look-up, stats, health, close."""

    def search(self, req: SearchRequest) -> SearchResponse:
        """Ranked, filtered, faceted, highlighted results for one request."""
        ...

    def article(self, doc_id: str, q: str | None = None) -> ArticleResponse | None:
        """One article by id (query words marked when q is given), or None."""
        ...

    def diff(self, doc_id: str, old: int, new: int) -> str | None:
        """Word diff (safe HTML) between two of an article's versions; None if no article.
        Raises IndexError (argument: the number of versions) when an index is out of range."""
        ...

    def diff_versions(self, article_id: str, old: int, new: int) -> str:
        """The same diff for an article's resolved id (the article page has looked it up)."""
        ...

    def stats(self) -> dict:
        """Document counts, index size and the last indexer run."""
        ...

    def health(self) -> dict:
        """A small dict when the backend answers; raises IndexUnavailable otherwise."""
        ...

    def index_state(self) -> IndexState:
        """Which index state answers now (watch/ keys cached watchlist totals by it)."""
        ...

    def close(self) -> None:
        """Release open files or connections (a later call may reopen them)."""
        ...

    def warm(self) -> None:
        """Load now what a first search would (then release open files): a server calls
        it before it forks and accepts connections."""
        ...

    def keep_warm(self) -> None:
        """From now on, load each new index state as it is published (a server process
        calls it after it forks)."""
        ...


def open_backend(config: Mapping[str, object]) -> SearchBackend:
    """The backend config["SEARCH_BACKEND"] names (default whoosh), opened lazily."""
    name = str(config.get("SEARCH_BACKEND") or DEFAULT_BACKEND).strip().lower()
    if name == "whoosh":
        from search.engine import HEAVY_SLOTS, SEARCH_BUDGET_S, SearchEngine

        index_dir = config.get("INDEX_DIR")
        if not index_dir:
            raise BackendConfigError("SEARCH_BACKEND=whoosh needs INDEX_DIR (the index folder)")
        return SearchEngine(str(index_dir), budget_s=float(config.get("SEARCH_BUDGET_S", SEARCH_BUDGET_S)),
                            heavy_slots=int(config.get("HEAVY_SLOTS", HEAVY_SLOTS)))
    if name == "solr":
        return _open_solr(config)
    raise BackendConfigError(f"SEARCH_BACKEND={name!r} is not one of {', '.join(BACKENDS)}")


def _open_solr(config: Mapping[str, object]) -> SearchBackend:
    """The Solr backend over SOLR_URL (one or more node URLs) and SOLR_COLLECTION (default news);
    versions come from INDEX_DIR, the Solr sink's state folder."""
    from common.solr_http import DEFAULT_COLLECTION, SolrClient
    from search.solr import SolrBackend

    url = str(config.get("SOLR_URL") or "").strip()
    if not url:
        raise BackendConfigError("SEARCH_BACKEND=solr needs SOLR_URL (e.g. http://127.0.0.1:8983/solr)")
    collection = str(config.get("SOLR_COLLECTION") or DEFAULT_COLLECTION).strip()
    try:
        # INDEX_DIR: the Solr sink's state folder (its --index), where article versions are kept
        return SolrBackend(SolrClient(url, collection), config.get("INDEX_DIR") or None)
    except ValueError as exc:
        raise BackendConfigError(str(exc)) from None
