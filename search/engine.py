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

import os
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from whoosh import query as wq
from whoosh.index import IndexError as WhooshIndexError
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import ReaderClosed
from whoosh.searching import Searcher

from common.codec import foreign_segments
from common.column_arrays import ColumnFileDamaged
from common.layout import (
    LAST_RUN, IndexUnavailable, check_index, current_version, read_last_run, segment_sizes, sizes_changed,
)
from common.schema import KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED
from search import clusters
from search.backend import SearchBusy
from search.collect import apply_filters, by_date, facets
from search.columns import KINDS, Columns, ColumnsCache
from search.highlight import MarkTerms, find_spans, mark_all, snippet
from search.history import History
from search.keepwarm import KeepWarm
from search.match import expanded_terms, match, term_text, word_terms
from search.provenance import ProvenanceState
from search.query import ParsedQuery, check_size, parse_query
from search.ranking import DEFAULT, RankingParams
from search.relax import Relaxation, matching_summary, missing_words, relax
from search.score import explain, rank
from search.view import IndexView
from search.request import RequestError, SearchRequest
from search.results import ArticleResponse, Hit, IndexState, Related, SearchResponse
from search.suggest import suggest

SUGGEST_BELOW = 3
RELATED = 5
RELATED_SAMPLE_CHARS = 20_000  # the start of an article that picks its related articles
MAX_ID_LEN = 512
POOL_IDLE = 4  # idle searchers kept open for reuse
# Seconds of phrase matching one search may use before its phrases are matched as
# "all of the phrase's words" (the response says deadline_exceeded); create_app's
# SEARCH_BUDGET_S overrides it.
SEARCH_BUDGET_S = 2.0
HEAVY_SLOTS = 2  # phrase/prefix searches at once (the machine has two cores)
OPEN_TRIES = 5  # opens of the live index that may meet a commit or a swap (see _open_live)


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


def published_state(version: Path) -> tuple:
    """The tables of contents a version's folder holds now: changes with every commit."""
    try:
        return tuple(sorted(p.name for p in version.glob("*.toc")))
    except OSError:
        return ()


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
        self.budget_s = budget_s  # position work per search (see IndexView.deadline)
        self._heavy = threading.BoundedSemaphore(heavy_slots)
        self._pool: list[tuple[Path, Searcher, dict]] = []  # idle (version, searcher, file sizes), LIFO
        self._pool_lock = threading.Lock()
        # Searchers hold open index files: close them when the engine goes away.
        weakref.finalize(self, _close_all, self._pool)
        self._columns = ColumnsCache()
        self._last_run: tuple | None = None
        self._provenance = ProvenanceState(self.index_dir)  # versions, story clusters (read-only)
        self._history = History(self._provenance)
        self._doc_clusters = clusters.DocClusterCache()
        self._keep_warm: KeepWarm | None = None

    # -- searcher lifecycle ------------------------------------------------------------

    def _open(self, version: Path) -> tuple[Searcher, dict[str, int]]:
        """A searcher on a version, checked first (a damaged segment is a 503 here, not
        mid-search), and the sizes of its segment files (checked again on each reuse)."""
        check_index(self.index_dir)
        try:
            ix = open_index(version)
            searcher = ix.searcher()
        except (OSError, EOFError, ValueError, WhooshIndexError) as exc:
            raise IndexUnavailable(
                f"index in {version} cannot be read ({exc.__class__.__name__}): "
                f"run `python -m indexer --rebuild --index {self.index_dir}`"
            ) from exc
        if foreign_segments(searcher.reader()):
            _quiet_close(searcher)
            raise IndexUnavailable(
                f"index in {version} was written by an earlier version of this software in another "
                f"postings format: the next indexer run rebuilds it (`python -m indexer --corpus DIR "
                f"--index {self.index_dir}`); it serves again when that run finishes"
            )
        return searcher, segment_sizes(ix, searcher.reader())

    def _open_live(self) -> tuple[Path, Searcher, dict[str, int]]:
        """The live version and a new searcher on it.

        Publishing a state and deleting what it replaced are two steps: a commit writes
        its table of contents, then deletes the files of the segments it merged; a
        ``--rebuild`` swaps ``current``, then deletes the old version. An open that falls
        between them fails on files that are gone, which is not damage: it is retried on
        the state published since. Only a failure on a state that did not move is a 503.
        """
        for attempt in range(OPEN_TRIES):
            version = current_version(self.index_dir)
            if version is None:
                raise IndexUnavailable(
                    f"no index in {self.index_dir}: run `python -m indexer --corpus DIR --index {self.index_dir}`"
                )
            before = published_state(version)
            try:
                return (version, *self._open(version))
            except IndexUnavailable:
                moved = current_version(self.index_dir) != version or published_state(version) != before
                if not moved or attempt + 1 == OPEN_TRIES:
                    raise
        raise AssertionError("unreachable")

    @contextmanager
    def searcher(self) -> Iterator[tuple[Searcher, IndexState]]:
        """This thread's searcher, brought up to date with the last commit or swap."""
        version = current_version(self.index_dir)
        searcher, sizes = None, {}
        with self._pool_lock:
            idle = self._pool.pop() if self._pool else None
        if idle is not None:
            try:
                if idle[0] == version and idle[1].up_to_date():
                    searcher, sizes = idle[1], idle[2]
            except (OSError, EOFError, ValueError):
                pass
            if searcher is not None and sizes_changed(sizes):
                if self._same_state(version, searcher):
                    # Same commit, other bytes: damaged under us (see segment_sizes).
                    _quiet_close(searcher)
                    raise self._problem() or IndexUnavailable(f"the segment files of {version} changed while open")
                # A commit landed since the check above and removed the segments it merged.
                searcher = None
            if searcher is None:
                # Not Searcher.refresh(): it reuses the readers of segments that only
                # gained deletions, and Whoosh-Reloaded caches a reader's deleted set,
                # so deleted documents stayed visible after an incremental run
                # (tests/test_concurrency.py caught it). A new commit opens afresh.
                _quiet_close(idle[1])
        if searcher is None:
            version, searcher, sizes = self._open_live()
        broken = False
        try:
            last = self._last_run_brief()
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
            self._release(version, searcher, sizes, broken)

    def _same_state(self, version: Path, searcher: Searcher) -> bool:
        """Whether the index is still at the state this searcher opened (same version
        folder, same commit generation)."""
        try:
            return current_version(self.index_dir) == version and searcher.up_to_date()
        except (OSError, EOFError, ValueError):
            return False

    def _release(self, version: Path, searcher: Searcher, sizes: dict[str, int], broken: bool) -> None:
        """Back to the pool (the oldest idle ones beyond POOL_IDLE closed), or closed if broken."""
        if broken:
            _quiet_close(searcher)
            return
        with self._pool_lock:
            self._pool.append((version, searcher, sizes))
            extra = self._pool[:-POOL_IDLE] if len(self._pool) > POOL_IDLE else []
            del self._pool[: len(extra)]
        for _v, old, _sizes in extra:
            _quiet_close(old)

    def _problem(self) -> IndexUnavailable | None:
        """What is wrong with the live index on disk, or None when it checks out whole."""
        try:
            check_index(self.index_dir)
        except IndexUnavailable as exc:
            return exc
        return None

    def _last_run_brief(self) -> dict | None:
        """The last run's summary without its lists, re-read only when the file changes."""
        try:
            st = (Path(self.index_dir) / LAST_RUN).stat()
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            key = None
        cached = self._last_run
        if cached is not None and cached[0] == key:
            return cached[1]
        last = read_last_run(self.index_dir)
        last = public_run(last)
        if last:
            last = {k: v for k, v in last.items() if not isinstance(v, (list, dict))}
        self._last_run = (key, last)
        return last

    def close(self) -> None:
        """Close the idle searchers (a later request opens a new one); stop keeping warm."""
        if self._keep_warm is not None:
            self._keep_warm.stop()
            self._keep_warm = None
        with self._pool_lock:
            idle = self._pool[:]
            del self._pool[:]  # the same list object the finalizer holds
        for _v, s, _sizes in idle:
            _quiet_close(s)

    def prepare(self) -> None:
        """Load the live state's columns and story clusters (what a first search needs)."""
        with self.view() as (v, _state):
            self._clusters(v.columns)

    def published(self) -> tuple:
        """What changes whenever a run publishes: live version, its commits, state file."""
        version = current_version(self.index_dir)
        return version, published_state(version) if version else (), self._provenance.stamp()

    def warm(self) -> None:
        """Prepare the live state, then close the searchers.

        A server calls this before it forks: its processes inherit the arrays (shared
        copy-on-write) instead of each paying for them on its first requests (seconds at
        200k stories), and no open index file is shared across a fork."""
        try:
            self.prepare()
        except IndexUnavailable:
            pass  # requests answer 503 with the fix until an index is there
        finally:
            self.close()

    def keep_warm(self) -> None:
        """Prepare each newly published state in the background (search/keepwarm.py);
        a server process calls it once, after it forks."""
        if self._keep_warm is None:
            self._keep_warm = KeepWarm(self)
            self._keep_warm.start()

    @contextmanager
    def view(self, deadline: float | None = None) -> Iterator[tuple[IndexView, IndexState]]:
        """A per-request view of the live index (see search/view.py)."""
        with self.searcher() as (s, state):
            try:
                v = IndexView(s, self._columns, deadline)
            except (ColumnFileDamaged, OSError, EOFError, ValueError) as exc:
                raise IndexUnavailable(
                    f"index in {state.version} cannot be read ({exc}): "
                    f"rebuild it with `python -m indexer --rebuild --index {self.index_dir}`"
                ) from exc
            yield v, state

    # -- search --------------------------------------------------------------------------

    def search(self, req: SearchRequest) -> SearchResponse:
        """Ranked, filtered, faceted, highlighted results for one request."""
        t0 = time.perf_counter()
        parsed = parse_query(req.q)
        check_size(parsed)
        with self._slot(parsed), self.view(deadline=time.perf_counter() + self.budget_s) as (v, state):
            m = match(v, parsed, "all" if req.all_words else "relaxed")
            filtered, undated_hidden = apply_filters(v, req, m.docs)
            filtered, relaxed = relax(m, filtered, self.params)
            dc = self._clusters(v.columns)
            filtered = clusters.apply(dc, v.columns.ids, filtered, changed=req.changed,
                                      headline_changed=req.headline_changed,
                                      collapse=req.copies == "collapse" and req.ids is None,  # watch sees each
                                      prefer=relaxed.all_words if relaxed is not None else None)
            fallback = "any_words" if relaxed is not None and len(filtered) and not len(relaxed.all_words) else None
            total = len(filtered)
            shares: dict[int, float] | None = {} if req.explain else None
            expanded: list = []  # the feedback expansion rank used, if any (for explain)
            page = self._page(v, m, filtered, req, parsed, relaxed, shares, expanded)
            hits = self._hits(v, page, parsed, relaxed)
            for hit in hits:
                hit.cluster = clusters.cluster_dict(dc, hit.id)
            if shares is not None:
                self._explain(v, m, hits, page, relaxed, shares, expanded[0] if expanded else None)
            suggestion = None
            if parsed.plain_words and (total < SUGGEST_BELOW or fallback):
                suggestion = suggest(v.searcher, parsed)
            return SearchResponse(
                request=req,
                total=total,
                hits=hits,
                facets=facets(v.columns, filtered) | clusters.facets(dc, v.columns.ids, filtered),
                took_ms=_ms(t0),
                index=state,
                suggestion=suggestion,
                fallback=fallback,
                syntax_error=parsed.syntax_error,
                undated_hidden=undated_hidden,
                ignored_words=list(parsed.dropped_stopwords),
                deadline_exceeded=v.over_budget,
                matching=matching_summary(parsed, relaxed),
            )

    def _page(self, v, m, filtered, req: SearchRequest, parsed: ParsedQuery, relaxed,
              shares: dict[int, float] | None, expanded: list) -> list[tuple[int, float | None]]:
        """The requested page of (docnum, score): ranked, or by date when asked or when
        the query has no words to rank by."""
        offset = (req.page - 1) * req.size
        if offset >= len(filtered):
            return []
        sort = req.sort
        if sort == "relevance" and not parsed.has_text_clauses:
            sort = "newest"
        if sort == "relevance":
            ranked = rank(v, m, filtered, offset + req.size, self.params, v.columns.id_rank, relaxed, shares,
                          expanded)
            page = [(d, round(sc, 4)) for d, sc in ranked]
        else:
            page = by_date(v.columns, filtered, sort, offset + req.size)
        return page[offset:]

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
        fallback, ranking, facets or snippets. One view serves them all, so many standing
        searches sharing words read each word's postings once."""
        with self.view() as (v, _state):
            ids = v.columns.ids
            return [{ids[d] for d in apply_filters(v, req, match(v, parse_query(req.q), "all").docs)[0].tolist()}
                    for req in reqs]

    # -- hits ----------------------------------------------------------------------------

    def marks(self, v: IndexView, parsed: ParsedQuery, fieldname: str = "body") -> MarkTerms:
        """The terms and phrases of a query to mark in a field."""
        marks = MarkTerms()
        for group in parsed.positive_groups:
            for c in group:
                if c.kind == "filter" or c.field not in (None, fieldname):
                    continue
                if c.kind == "word":
                    marks.terms.update(word_terms(c))
                elif c.kind == "phrase":
                    marks.phrases.append([term_text(w) for w in c.words])
                elif c.kind in ("prefix", "fuzzy"):
                    marks.terms.update(expanded_terms(v, fieldname, c)[:50])
        return marks

    def _explain(self, v: IndexView, m, hits: list[Hit], page, relaxed: Relaxation | None,
                 shares: dict[int, float], expansion=None) -> None:
        """Attach each ranked hit's score breakdown (hits sorted by date have no score to explain)."""
        for hit, (d, score) in zip(hits, page):
            if score is None:
                continue
            hit.explain = explain(v, m, d, self.params, relaxed, shares.get(d), expansion)
            hit.explain["relaxation"]["missing_words"] = hit.missing_words

    def _hits(self, v: IndexView, page: list[tuple[int, float | None]], parsed: ParsedQuery,
              relaxed: Relaxation | None = None) -> list[Hit]:
        if not page:
            return []
        marks = self.marks(v, parsed)
        spans = find_spans(v, "body", [d for d, _ in page], marks) if marks else {}
        hits = []
        for d, score in page:
            f = v.stored_fields(d)
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
                duplicates=list(v.columns.duplicates.get(f["id"], ())),
                missing_words=missing_words(v, relaxed, d),
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
        with self.view() as (v, state):
            found = v.postings("id", doc_id).ids
            if not len(found):
                return None
            d = int(found[0])
            f = v.stored_fields(d)
            if f.get("kind") not in (KIND_ARTICLE, KIND_DUPLICATE):
                return None  # a skipped file has no article to show
            if f.get("kind") == KIND_DUPLICATE:
                orig = v.postings("id", f.get("dup_of") or "").ids
                orig = orig[v.columns.articles[orig]]
                if not len(orig):
                    return None
                d = int(orig[0])
                f = v.stored_fields(d)
            body = f.get("body") or ""
            spans: list = []
            if parsed is not None:
                marks = self.marks(v, parsed)
                if marks:
                    spans = find_spans(v, "body", [d], marks)[d]
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
                duplicates=list(v.columns.duplicates.get(f["id"], ())),
                related=self._related(v, d, body),
                took_ms=_ms(t0),
                index=state,
                versions=self._history.versions(f["id"]),
                cluster=clusters.cluster_dict(self._clusters(v.columns), f["id"]),
            )

    def _clusters(self, columns: Columns) -> clusters.DocClusters:
        """Story clusters mapped onto this index state (cached per state and state file)."""
        return self._doc_clusters.get(self._provenance.view(), columns)

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
        return self._history.diff(article_id, old, new)

    def _related(self, v: IndexView, d: int, body: str) -> list[Related]:
        """Similar articles by Whoosh's more_like_this over the body (key terms of d)."""
        try:
            # key terms from a bounded sample: re-analysing a 2 MB body took seconds
            similar = v.searcher.more_like(d, "body", text=body[:RELATED_SAMPLE_CHARS] or None,
                                           top=RELATED, filter=wq.Term("kind", KIND_ARTICLE))
        except (ValueError, KeyError):  # empty body: nothing to compare
            return []
        return [Related(r["id"], r.get("title") or "", r.get("date") or None, r.get("source") or None)
                for r in similar]

    def stats(self) -> dict:
        """Document counts, index size and the last indexer run."""
        with self.view() as (v, state):
            cols = v.columns
            version = current_version(self.index_dir)
            size = sum(p.stat().st_size for p in version.iterdir() if p.is_file()) if version else 0
            live_kind = lambda k: int((cols.alive & (cols.kinds == KINDS.index(k))).sum())  # noqa: E731
            return {
                "documents": int(cols.articles.sum()),
                "duplicates": live_kind(KIND_DUPLICATE),
                "skipped_files": live_kind(KIND_SKIPPED),
                "undated": int(cols.undated.sum()),
                "segments": len(v.leaves),
                "index_size_bytes": size,
                "last_run": public_run(read_last_run(self.index_dir)),
                "index": state.to_dict(),
            }

    def index_state(self) -> IndexState:
        """The index state a search would see now (version, generation, last run), without
        searching: watch/ keys cached totals by it, as the Solr backend's ``index_state``."""
        with self.searcher() as (_s, state):
            return state

    def health(self) -> dict:
        """Raise IndexUnavailable unless the index opens and answers a query."""
        t0 = time.perf_counter()
        check_index(self.index_dir)  # a pooled searcher would not notice a damaged segment
        with self.searcher() as (s, state):
            n = s.doc_count()
            return {"status": "ok", "documents": n, "took_ms": _ms(t0), "index": state.to_dict()}
