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
from typing import Iterator, Sequence

from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import ReaderClosed
from whoosh.searching import Searcher

from common.documents import source_key
from common.layout import IndexUnavailable, check_index, current_version, read_last_run
from common.schema import KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED
from search.docset import DocTable, PostingsCache, TableCache, docs, stamp_of, term_docs
from search.highlight import MarkTerms, find_spans, mark_all, snippet
from search.query import ParsedQuery, check_size, parse_query
from search.ranking import (DEFAULT, BuiltQuery, RankingParams, Relaxation, build_query, expand_fuzzy, expand_prefix,
                            explain, has_word, matching_summary, rank, relax, term_text)
from search.request import RequestError, SearchRequest
from search.results import ArticleResponse, Hit, IndexState, Related, SearchResponse
from search.suggest import suggest

SUGGEST_BELOW = 3
FACET_TOP = 20
RELATED = 5
RELATED_SAMPLE_CHARS = 20_000  # the start of an article that picks its related articles
MAX_ID_LEN = 512
TIE_MARGIN = 10  # extra hits fetched so equal scores at the page edge sort by id
POOL_IDLE = 4  # idle searchers kept open for reuse
# Seconds of phrase matching one search may use before its phrases are matched as
# "all of the phrase's words" (the response says deadline_exceeded); create_app's
# SEARCH_BUDGET_S overrides it.
SEARCH_BUDGET_S = 2.0
HEAVY_SLOTS = 2  # phrase/prefix searches at once (the machine has two cores)


class SearchBusy(RuntimeError):
    """Every slot for heavy searches is taken; the client should retry shortly (503)."""


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


def public_run(last: dict | None) -> dict | None:
    """The last run's summary without the server's absolute corpus path."""
    if not last:
        return last
    corpus = last.get("corpus")
    out = {k: v for k, v in last.items() if k != "corpus"}
    if isinstance(corpus, str) and corpus and isinstance(out.get("skipped_files"), list):
        out["skipped_files"] = [
            {k: v.replace(corpus, "<corpus>") if isinstance(v, str) else v for k, v in item.items()}
            if isinstance(item, dict) else item for item in out["skipped_files"]
        ]
    return out


def valid_id(doc_id: str) -> bool:
    """Ids are short printable strings; anything else cannot name an article."""
    return 0 < len(doc_id) <= MAX_ID_LEN and doc_id.isprintable()


class SearchEngine:
    """Answers searches, article look-ups, stats and health checks over INDEX_DIR."""

    def __init__(self, index_dir: str | os.PathLike, params: RankingParams = DEFAULT,
                 budget_s: float = SEARCH_BUDGET_S, heavy_slots: int = HEAVY_SLOTS) -> None:
        self.index_dir = Path(index_dir)
        self.params = params
        self.budget_s = budget_s  # position work per search (see PostingsCache.deadline)
        self._heavy = threading.BoundedSemaphore(heavy_slots)
        self._pool: list[tuple[Path, Searcher]] = []  # idle (version, searcher), LIFO
        self._pool_lock = threading.Lock()
        # Searchers hold open index files: close them when the engine goes away.
        weakref.finalize(self, _close_all, self._pool)
        self._tables = TableCache()

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
        broken = False
        try:
            last = public_run(read_last_run(self.index_dir))
            if last:
                last = {k: v for k, v in last.items() if not isinstance(v, (list, dict))}
            yield searcher, IndexState(version.name, searcher.reader().generation(), last)
        except (RequestError, SearchBusy):
            raise
        except IndexUnavailable:
            broken = True
            raise
        except Exception as exc:
            # Damaged while we serve (a segment truncated after this searcher opened it):
            # a 503 with the fix, as a fresh server gives; anything else is a real bug.
            problem = self._problem()
            if problem is None:
                raise
            broken = True
            raise problem from exc
        finally:
            self._release(version, searcher, broken)

    def _release(self, version: Path, searcher: Searcher, broken: bool) -> None:
        """Back to the pool (the oldest idle ones beyond POOL_IDLE closed), or closed if broken."""
        if broken:
            _quiet_close(searcher)
            return
        with self._pool_lock:
            self._pool.append((version, searcher))
            extra = self._pool[:-POOL_IDLE] if len(self._pool) > POOL_IDLE else []
            del self._pool[: len(extra)]
        for _v, old in extra:
            _quiet_close(old)

    def _problem(self) -> IndexUnavailable | None:
        """What is wrong with the live index on disk, or None when it checks out whole."""
        try:
            check_index(self.index_dir)
        except IndexUnavailable as exc:
            return exc
        return None

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
        check_size(parsed)
        with self._slot(parsed), self.searcher() as (s, state):
            table = self._tables.get(s)
            cache = PostingsCache(s, deadline=time.perf_counter() + self.budget_s)
            built = build_query(parsed, s.reader(), "all" if req.all_words else "relaxed", self.params)
            matched = docs(s, built.match, cache) & table.articles
            filtered, undated_hidden = self._filter(s, table, req, matched)
            relaxed = None
            if not req.all_words:
                filtered, relaxed = relax(s, built, filtered, self.params, cache)
            fallback = "any_words" if relaxed is not None and filtered and not relaxed.all_words else None
            total = len(filtered)
            offset = (req.page - 1) * req.size
            page: list[tuple[int, float | None]] = []
            applied: dict[int, float] | None = {} if req.explain else None
            if offset < total:
                sort = req.sort
                if sort == "relevance" and not parsed.has_text_clauses:
                    sort = "newest"
                if sort == "relevance":
                    page = self._rank(s, table, built, filtered, offset + req.size, cache, relaxed, applied)
                else:
                    page = self._by_date(table, filtered, sort, offset + req.size)
                page = page[offset:]
            hits = self._hits(s, table, page, parsed, cache, relaxed)
            if applied is not None:
                self._explain(hits, page, table, built, cache, relaxed, applied)
            suggestion = None
            if parsed.plain_words and (total < SUGGEST_BELOW or fallback):
                suggestion = suggest(s, parsed)
            return SearchResponse(
                request=req,
                total=total,
                hits=hits,
                facets=self._facets(table, filtered),
                took_ms=_ms(t0),
                index=state,
                suggestion=suggestion,
                fallback=fallback,
                syntax_error=parsed.syntax_error,
                undated_hidden=undated_hidden,
                ignored_words=list(parsed.dropped_stopwords),
                deadline_exceeded=cache.over_budget,
                matching=matching_summary(parsed, relaxed),
            )

    @contextmanager
    def _slot(self, parsed: ParsedQuery) -> Iterator[None]:
        """Searches with position work (phrases) or many terms (prefixes) take one of a few
        slots, or are refused at once (SearchBusy, a 503): waiting would hold a server
        thread, and cheap searches must keep being served while heavy ones pile up."""
        if not any(c.kind in ("phrase", "prefix") for c in parsed.clauses):
            yield
            return
        if not self._heavy.acquire(blocking=False):
            raise SearchBusy("too many phrase searches are running; try again in a moment")
        try:
            yield
        finally:
            self._heavy.release()
    def match_ids(self, reqs: Sequence[SearchRequest]) -> list[set[str]]:
        """For each request, the ids of every article it matches with all its words: no
        fallback, ranking, facets or snippets. One searcher and one postings cache serve
        them all, so many standing searches sharing words read each word's postings once."""
        with self.searcher() as (s, _state):
            table = self._tables.get(s)
            cache = PostingsCache(s)
            out = []
            for req in reqs:
                built = build_query(parse_query(req.q), s.reader(), "all", self.params)
                matched = docs(s, built.match, cache) & table.articles
                out.append({table.ids[d] for d in self._filter(s, table, req, matched)[0]})
            return out

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
              cache: PostingsCache, relaxed: Relaxation | None,
              applied: dict[int, float] | None = None) -> list[tuple[int, float | None]]:
        top = rank(s, built, need + TIE_MARGIN, allowed, self.params, cache, table.lengths, relaxed, applied)
        ids = table.ids
        first = relaxed.first if relaxed is not None else None
        scored = [(d, sc) for d, sc in top if d in allowed]
        scored.sort(key=lambda p: (first is not None and p[0] not in first, -round(p[1], 9), ids[p[0]]))
        return [(d, round(sc, 4)) for d, sc in scored[:need]]

    def _explain(self, hits: list[Hit], page, table: DocTable, built: BuiltQuery, cache: PostingsCache,
                 relaxed: Relaxation | None, applied: dict[int, float]) -> None:
        """Attach each ranked hit's score breakdown (hits sorted by date have no score to explain)."""
        for hit, (d, score) in zip(hits, page):
            if score is None:
                hit.explain = None
                continue
            hit.explain = explain(cache, built, d, self.params, table.lengths, relaxed, applied.get(d))
            hit.explain["relaxation"]["missing_words"] = hit.missing_words

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
                    marks.terms.update(expand_prefix(s.reader(), fieldname, c.words[0])[:50])
                elif c.kind == "fuzzy":
                    marks.terms.update(expand_fuzzy(s.reader(), fieldname, term_text(c.words[0]), c.distance))
        return marks

    @staticmethod
    def _duplicates(table: DocTable, doc_id: str) -> list[str]:
        return list(table.duplicates.get(doc_id, ()))

    def _hits(self, s: Searcher, table: DocTable, page: list[tuple[int, float | None]], parsed: ParsedQuery,
              cache: PostingsCache | None = None, relaxed: Relaxation | None = None) -> list[Hit]:
        if not page:
            return []
        cache = cache or PostingsCache(s)
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
                duplicates=self._duplicates(table, f["id"]),
                missing_words=relaxed.missing(d, lambda w, doc: has_word(cache, w, doc)) if relaxed else [],
            ))
        return hits

    # -- article, stats, health ------------------------------------------------------------

    def article(self, doc_id: str, q: str | None = None) -> ArticleResponse | None:
        """One whole article (a copy's id resolves to its original), or None."""
        t0 = time.perf_counter()
        if not valid_id(doc_id):
            return None
        parsed = parse_query(" ".join(q.split())[:1000]) if q else None
        if parsed is not None:
            check_size(parsed)  # highlighting reads each term's postings: the same bounds
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
            if parsed is not None:
                marks = self.marks(s, parsed)
                if marks:
                    spans = find_spans(s.reader(), "body", [d], marks)[d]
            related = []
            try:
                # key terms from a bounded sample: re-analysing a 2 MB body took seconds
                similar = s.more_like(d, "body", text=body[:RELATED_SAMPLE_CHARS] or None,
                                      top=RELATED, filter=table.articles)
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
                duplicates=self._duplicates(table, f["id"]),
                related=related,
                took_ms=_ms(t0),
                index=state,
            )

    def stats(self) -> dict:
        """Document counts, index size and the last indexer run."""
        with self.searcher() as (s, state):
            table = self._tables.get(s)
            version = current_version(self.index_dir)
            size = sum(p.stat().st_size for p in version.iterdir() if p.is_file()) if version else 0
            articles = len(table.articles)
            return {
                "documents": articles,
                # doc_frequency counts deleted documents until their segment merges
                "duplicates": len(term_docs(s, "kind", KIND_DUPLICATE)),
                "skipped_files": len(term_docs(s, "kind", KIND_SKIPPED)),
                "undated": len(table.undated),
                "segments": len(s.leaf_searchers()),
                "index_size_bytes": size,
                "last_run": public_run(read_last_run(self.index_dir)),
                "index": state.to_dict(),
            }

    def health(self) -> dict:
        """Raise IndexUnavailable unless the index opens and answers a query."""
        t0 = time.perf_counter()
        check_index(self.index_dir)  # a pooled searcher would not notice a damaged segment
        with self.searcher() as (s, state):
            n = s.doc_count()
            return {"status": "ok", "documents": n, "took_ms": _ms(t0), "index": state.to_dict()}
