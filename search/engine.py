"""SearchEngine: a request in, one response object out; opens nothing at import time.

A Whoosh searcher serves one request at a time (readers seek shared file handles, so
they are not safe to share between threads). Idle searchers wait in a small pool and a
request borrows one (the most recently used, whose pages are warm), so the number of
open searchers follows the number of requests actually running at once, not the number
of server threads: each open searcher maps the index files again and keeps its own
caches, which is what made an 8-thread server's RSS grow to ~1.3 GB at 20k stories.
A borrowed searcher is checked per call: a new commit (generation) or a version swap
of the ``current`` symlink opens a new searcher. A request therefore always sees the
last committed state, and a commit in progress is never half-visible.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import ReaderClosed
from whoosh.searching import Searcher

from common.documents import source_key
from common.layout import IndexUnavailable, check_index, current_version, read_last_run
from common.schema import KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED
from search.docset import DocTable, PostingsCache, TableCache, docs, stamp_of, term_docs
from search import clusters
from search.diff import word_diff_html
from search.provenance import ProvenanceState
from search.highlight import MarkTerms, find_spans, mark_all, snippet
from search.query import ParsedQuery, parse_query
from search.ranking import DEFAULT, BuiltQuery, RankingParams, _expand_prefix, build_query, rank, term_text
from search.request import SearchRequest
from search.results import ArticleResponse, Hit, IndexState, Related, SearchResponse, VersionInfo
from search.suggest import suggest

SUGGEST_BELOW = 3
FACET_TOP = 20
RELATED = 5
MAX_ID_LEN = 512
TIE_MARGIN = 10  # extra hits fetched so equal scores at the page edge sort by id
POOL_IDLE = 4  # idle searchers kept open for reuse


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _quiet_close(searcher: Searcher) -> None:
    try:
        searcher.close()
    except (ReaderClosed, OSError, ValueError):  # already closed (e.g. by a refresh)
        pass


def _close_all(pool: list) -> None:
    while pool:
        _quiet_close(pool.pop()[1])


def open_index(version: Path):
    """Open an index version for reading without copying it into memory.

    Whoosh maps a compound segment file and then wraps each part in ``BytesIO(buf)``,
    which *copies* it: every open searcher held the whole postings and terms files in
    anonymous memory (~0.5 GB per searcher at 200k stories, measured) on top of the
    mapped pages. Without mmap the parts are read from the file on demand (the OS page
    cache keeps them warm and is shared by all searchers).
    """
    return FileStorage(str(version), supports_mmap=False, readonly=True).open_index()


def _version_text(v) -> str:
    """A version as diffed: headline, blank line, body (a headline edit shows too)."""
    return f"{v.title}\n\n{v.body}"


def valid_id(doc_id: str) -> bool:
    """Ids are short printable strings; anything else cannot name an article."""
    return 0 < len(doc_id) <= MAX_ID_LEN and doc_id.isprintable()


class SearchEngine:
    """Answers searches, article look-ups, stats and health checks over INDEX_DIR."""

    def __init__(self, index_dir: str | os.PathLike, params: RankingParams = DEFAULT) -> None:
        self.index_dir = Path(index_dir)
        self.params = params
        self._pool: list[tuple[Path, Searcher]] = []  # idle (version, searcher), LIFO
        self._pool_lock = threading.Lock()
        # Searchers hold open index files: close them when the engine goes away.
        weakref.finalize(self, _close_all, self._pool)
        self._tables = TableCache()
        self._provenance = ProvenanceState(self.index_dir)  # versions, story clusters (read-only)
        self._doc_clusters = clusters.DocClusterCache()

    # -- searcher lifecycle ------------------------------------------------------------

    def _open(self, version: Path):
        """Open a version, checked first: a damaged segment is a 503 here, not mid-search."""
        check_index(self.index_dir)
        try:
            ix = open_index(version)
            return ix, ix.searcher(weighting=self.params.weighting())
        except (OSError, EOFError, ValueError) as exc:
            raise IndexUnavailable(
                f"index in {version} cannot be read ({exc.__class__.__name__}): "
                f"run `python -m indexer --rebuild --index {self.index_dir}`"
            ) from exc

    @contextmanager
    def searcher(self) -> Iterator[tuple[Searcher, IndexState]]:
        """This thread's searcher, brought up to date with the last commit or swap."""
        version = current_version(self.index_dir)
        if version is None:
            raise IndexUnavailable(
                f"no index in {self.index_dir}: run `python -m indexer --corpus DIR --index {self.index_dir}`"
            )
        searcher = None
        with self._pool_lock:
            idle = self._pool.pop() if self._pool else None
        if idle is not None:
            try:
                if idle[0] == version and idle[1].up_to_date():
                    searcher = idle[1]
            except (OSError, EOFError, ValueError):
                pass
            if searcher is None:
                # Not Searcher.refresh(): it reuses the readers of segments that only
                # gained deletions, and Whoosh-Reloaded caches a reader's deleted set,
                # so deleted documents stayed visible after an incremental run
                # (tests/test_concurrency.py caught it). A new commit opens afresh.
                _quiet_close(idle[1])
        if searcher is None:
            try:
                _ix, searcher = self._open(version)
            except IndexUnavailable:
                # A --rebuild may swap and delete the version we resolved a moment ago:
                # that is not a failure, open the new live version instead.
                latest = current_version(self.index_dir)
                if latest is None or latest == version:
                    raise
                version = latest
                _ix, searcher = self._open(version)
        try:
            last = read_last_run(self.index_dir)
            if last:
                last = {k: v for k, v in last.items() if not isinstance(v, (list, dict))}
            yield searcher, IndexState(version.name, searcher.reader().generation(), last)
        finally:
            with self._pool_lock:
                self._pool.append((version, searcher))
                extra = self._pool[:-POOL_IDLE] if len(self._pool) > POOL_IDLE else []
                del self._pool[: len(extra)]
            for _v, old in extra:
                _quiet_close(old)

    def close(self) -> None:
        """Close the idle searchers (a later request opens a new one)."""
        with self._pool_lock:
            idle = self._pool[:]
            del self._pool[:]  # the same list object the finalizer holds
        for _v, s in idle:
            _quiet_close(s)

    # -- search --------------------------------------------------------------------------

    def search(self, req: SearchRequest) -> SearchResponse:
        """Ranked, filtered, faceted, highlighted results for one request."""
        t0 = time.perf_counter()
        parsed = parse_query(req.q)
        with self.searcher() as (s, state):
            table = self._tables.get(s)
            cache = PostingsCache(s)
            built = build_query(parsed, s.reader(), "all", self.params)
            matched = docs(s, built.match, cache) & table.articles
            fallback = None
            if not matched and parsed.can_fall_back:
                built = build_query(parsed, s.reader(), "any", self.params)
                matched = docs(s, built.match, cache) & table.articles
                fallback = "any_words"
            filtered, undated_hidden = self._filter(s, table, req, matched)
            dc = self._clusters(table)
            filtered = clusters.apply(dc, table.ids, filtered, changed=req.changed,
                                      headline_changed=req.headline_changed,
                                      collapse=req.copies == "collapse" and req.ids is None)  # watch sees each
            total = len(filtered)
            offset = (req.page - 1) * req.size
            page: list[tuple[int, float | None]] = []
            if offset < total:
                sort = req.sort
                if sort == "relevance" and not parsed.has_text_clauses:
                    sort = "newest"
                if sort == "relevance":
                    page = self._rank(s, table, built, filtered, offset + req.size, cache)
                else:
                    page = self._by_date(table, filtered, sort, offset + req.size)
                page = page[offset:]
            hits = self._hits(s, table, page, parsed, cache)
            for hit in hits:
                hit.cluster = clusters.cluster_dict(dc, hit.id)
            suggestion = None
            if parsed.plain_words and (total < SUGGEST_BELOW or fallback):
                suggestion = suggest(s, parsed)
            return SearchResponse(
                request=req,
                total=total,
                hits=hits,
                facets=self._facets(table, filtered) | clusters.facets(dc, table.ids, filtered),
                took_ms=_ms(t0),
                index=state,
                suggestion=suggestion,
                fallback=fallback,
                syntax_error=parsed.syntax_error,
                undated_hidden=undated_hidden,
                ignored_words=list(parsed.dropped_stopwords),
            )

    def _clusters(self, table: DocTable) -> clusters.DocClusters:
        """Story clusters mapped onto this index state (cached per state and state file)."""
        return self._doc_clusters.get(self._provenance.view(), table, table.ids, table.articles, table.duplicates)

    def _filter(self, s: Searcher, table: DocTable, req: SearchRequest, matched: set[int]) -> tuple[set[int], int]:
        out = matched
        if req.ids is not None:
            ids = table.ids
            out = {d for d in out if ids[d] in req.ids}
        if req.source:
            allowed: set[int] = set()
            for v in req.source:
                allowed |= term_docs(s, "source_key", source_key(v))
            out = out & allowed
        if req.tag:
            allowed = set()
            for v in req.tag:
                allowed |= table.tag_docs.get(v.strip().lower(), set())
            out = out & allowed
        hidden = 0
        if req.has_date_filter:
            hidden = len(out & table.undated)
            lo = stamp_of(req.date_from.start) if req.date_from else None
            hi = stamp_of(req.date_to.end) if req.date_to else None
            start, end = table.start, table.end
            out = {
                d for d in out - table.undated
                if (hi is None or start[d] <= hi) and (lo is None or end[d] >= lo)
            }
        return out, hidden

    def _rank(self, s: Searcher, table: DocTable, built: BuiltQuery, allowed: set[int], need: int,
              cache: PostingsCache) -> list[tuple[int, float | None]]:
        top = rank(s, built, need + TIE_MARGIN, allowed, self.params, cache, table.lengths)
        ids = table.ids
        scored = [(d, sc) for d, sc in top if d in allowed]
        scored.sort(key=lambda p: (-round(p[1], 9), ids[p[0]]))
        return [(d, round(sc, 4)) for d, sc in scored[:need]]

    def _by_date(self, table: DocTable, docs_: set[int], sort: str, need: int) -> list[tuple[int, float | None]]:
        start, ids, undated = table.start, table.ids, table.undated
        if sort == "newest":
            key = lambda d: (d in undated, -start[d], ids[d])  # noqa: E731
        else:
            key = lambda d: (d in undated, start[d], ids[d])  # noqa: E731
        return [(d, None) for d in heapq.nsmallest(need, docs_, key=key)]

    def _facets(self, table: DocTable, docs_: set[int]) -> dict[str, dict[str, int]]:
        year, month, source, tags = table.facet_counts(docs_)

        def top(c: dict[str, int]) -> dict[str, int]:
            return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_TOP])

        return {
            "year": dict(sorted(year.items(), reverse=True)),
            "month": dict(sorted(month.items(), reverse=True)),
            "source": top(source),
            "tag": top(tags),
        }

    # -- hits ----------------------------------------------------------------------------

    def marks(self, s: Searcher, parsed: ParsedQuery, fieldname: str = "body") -> MarkTerms:
        """The terms and phrases of a query to mark in a field."""
        marks = MarkTerms()
        for group in parsed.positive_groups:
            for c in group:
                if c.kind == "filter" or c.field not in (None, fieldname):
                    continue
                if c.kind == "word":
                    marks.terms.add(term_text(c.words[0]))
                elif c.kind == "phrase":
                    marks.phrases.append([term_text(w) for w in c.words])
                elif c.kind == "prefix":
                    marks.terms.update(_expand_prefix(s.reader(), fieldname, c.words[0])[:50])
        return marks

    def _duplicates(self, s: Searcher, table: DocTable, doc_id: str) -> list[str]:
        return list(table.duplicates.get(doc_id, ()))

    def _hits(self, s: Searcher, table: DocTable, page: list[tuple[int, float | None]], parsed: ParsedQuery,
              cache: PostingsCache | None = None) -> list[Hit]:
        if not page:
            return []
        marks = self.marks(s, parsed)
        spans = find_spans(s.reader(), "body", [d for d, _ in page], marks, cache) if marks else {}
        hits = []
        for d, score in page:
            f = s.stored_fields(d)
            body = f.get("body") or ""
            hits.append(Hit(
                id=f["id"],
                path=f.get("path", ""),
                title=f.get("title") or "",
                url=f.get("url") or None,
                source=f.get("source") or None,
                date=f.get("date") or None,
                date_precision=f.get("date_precision") or None,
                tags=[t for t in (f.get("tags") or "").split(",") if t],
                score=score,
                snippet=snippet(body, spans.get(d, [])),
                duplicates=self._duplicates(s, table, f["id"]),
            ))
        return hits

    # -- article, stats, health ------------------------------------------------------------

    def article(self, doc_id: str, q: str | None = None) -> ArticleResponse | None:
        """One whole article (a copy's id resolves to its original), or None."""
        t0 = time.perf_counter()
        if not valid_id(doc_id):
            return None
        with self.searcher() as (s, state):
            table = self._tables.get(s)
            found = sorted(docs(s, wq.Term("id", doc_id)))
            if not found:
                return None
            d = found[0]
            f = s.stored_fields(d)
            if f.get("kind") not in (KIND_ARTICLE, KIND_DUPLICATE):
                return None  # a skipped file has no article to show
            if f.get("kind") == KIND_DUPLICATE:
                orig = sorted(docs(s, wq.Term("id", f.get("dup_of") or "")) & table.articles)
                if not orig:
                    return None
                d = orig[0]
                f = s.stored_fields(d)
            body = f.get("body") or ""
            spans: list = []
            if q:
                marks = self.marks(s, parse_query(" ".join(q.split())[:1000]))
                if marks:
                    spans = find_spans(s.reader(), "body", [d], marks)[d]
            related = []
            try:
                similar = s.more_like(d, "body", top=RELATED, filter=table.articles)
            except (ValueError, KeyError):  # empty body: nothing to compare
                similar = []
            for r in similar:
                related.append(Related(r["id"], r.get("title") or "", r.get("date") or None, r.get("source") or None))
            return ArticleResponse(
                id=f["id"],
                path=f.get("path", ""),
                title=f.get("title") or "",
                url=f.get("url") or None,
                source=f.get("source") or None,
                author=f.get("author") or None,
                date=f.get("date") or None,
                date_precision=f.get("date_precision") or None,
                tags=[t for t in (f.get("tags") or "").split(",") if t],
                text=body,
                text_html=mark_all(body, spans),
                duplicates=self._duplicates(s, table, f["id"]),
                related=related,
                took_ms=_ms(t0),
                index=state,
                versions=[VersionInfo(v.seen, v.title, v.date, v.content_hash, v.doc_id)
                          for v in self._provenance.versions(f["id"])],
                cluster=clusters.cluster_dict(self._clusters(table), f["id"]),
            )

    def diff(self, doc_id: str, old: int, new: int) -> str | None:
        """Word diff (safe HTML) between two of an article's ``versions``; None if no article.

        Raises IndexError when ``old`` or ``new`` is not an index into its versions.
        """
        art = self.article(doc_id)
        if art is None:
            return None
        return self.diff_versions(art.id, old, new)

    def diff_versions(self, article_id: str, old: int, new: int) -> str:
        """Word diff between versions ``old`` and ``new`` of an article (its resolved id)."""
        found = self._provenance.versions(article_id)
        if not (0 <= old < len(found) and 0 <= new < len(found)):
            raise IndexError(len(found))
        return word_diff_html(_version_text(found[old]), _version_text(found[new]))

    def stats(self) -> dict:
        """Document counts, index size and the last indexer run."""
        with self.searcher() as (s, state):
            table = self._tables.get(s)
            version = current_version(self.index_dir)
            size = sum(p.stat().st_size for p in version.iterdir() if p.is_file()) if version else 0
            articles = len(table.articles)
            return {
                "documents": articles,
                "duplicates": s.doc_frequency("kind", KIND_DUPLICATE),
                "skipped_files": s.doc_frequency("kind", KIND_SKIPPED),
                "undated": len(table.undated),
                "segments": len(s.leaf_searchers()),
                "index_size_bytes": size,
                "last_run": read_last_run(self.index_dir),
                "index": state.to_dict(),
            }

    def health(self) -> dict:
        """Raise IndexUnavailable unless the index opens and answers a query."""
        t0 = time.perf_counter()
        with self.searcher() as (s, state):
            n = s.doc_count()
            return {"status": "ok", "documents": n, "took_ms": _ms(t0), "index": state.to_dict()}
