"""The Solr backend: the search interface (search/backend.py) over a SolrCloud collection.

The same SearchRequest in, the same SearchResponse/ArticleResponse out, so the JSON API,
the pages, Atom and watch/ work unchanged on an archive past one machine. The query is
parsed by our own grammar (search/query.py) and written as a Lucene query over title
(boosted) and body, so both backends read a query the same way; Solr ranks (BM25),
filters, counts facets, corrects spelling and finds related articles. Snippets are cut by
our own snippet code from the match offsets Solr's highlighter reports, so they are
escaped and shaped exactly as with Whoosh.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Sequence

from markupsafe import escape

from common.layout import IndexUnavailable
from common.schema import KIND_ARTICLE, KIND_DUPLICATE
from common.solr_http import SolrClient, SolrRequestError, SolrUnavailable
from search.engine import valid_id
from search.highlight import Span, mark_all, snippet
from search.history import History
from search.provenance import ProvenanceState
from search.query import ParsedQuery, parse_query
from search.relax import summary
from search.solr_clusters import cluster_dicts, collapse_filter, members_params, outlet_facet
from search.solr_explain import explain_hit
from search.solr_query import (
    QueryPlan,
    edit_filters,
    filter_queries,
    lucene_query,
    plan,
    query_params,
    quote,
    word_fields,
)
from search.request import SearchRequest
from search.results import ArticleResponse, Hit, IndexState, Related, SearchResponse

SUGGEST_BELOW = 3
FACET_TOP = 20
RELATED = 5
MATCH_PAGE = 1000  # ids per request in match_ids
RUN_DOC_ID = "_indexer_last_run"  # written by indexer/solr_sink.py
STATE_TTL = 5.0  # seconds the last-run summary is cached between searches
MARK_PRE, MARK_POST = "\x02", "\x03"  # highlight markers that cleaned text never holds
EDITS = ("changed", "headline_changed")  # boolean fields the sink keeps (indexer/solr_edits.py)
HIT_FIELDS = "id,path,title,url,source,date,date_precision,tags,body,score,cluster,cluster_size"
def spans_from_marked(marked: str, text: str) -> list[Span]:
    """Match spans from Solr's whole-field highlight, checked against the stored text."""
    spans, out, start, n = [], [], None, 0
    for piece in re.split(f"([{MARK_PRE}{MARK_POST}])", marked):
        if piece == MARK_PRE:
            start = n
        elif piece == MARK_POST and start is not None:
            spans.append((start, n))
            start = None
        else:
            out.append(piece)
            n += len(piece)
    return spans if "".join(out) == text else []


def highlight_params(query: str) -> list[tuple[str, str]]:
    """Ask for the whole body with matches between markers (offsets, not Solr's snippets)."""
    return [
        ("hl", "true"), ("hl.method", "unified"), ("hl.fl", "body"), ("hl.q", query),
        ("hl.fragsize", "0"), ("hl.requireFieldMatch", "true"), ("hl.defaultSummary", "false"),
        ("hl.tag.pre", MARK_PRE), ("hl.tag.post", MARK_POST), ("hl.maxAnalyzedChars", "10000000"),
    ]


def _facet_params() -> list[tuple[str, str]]:
    params = [("facet", "true"), ("facet.mincount", "1"), ("json.nl", "map")]
    for name, limit in (("year", -1), ("month", -1), ("source", FACET_TOP), ("tags", FACET_TOP),
                        ("cluster_outlets", -1)):
        params += [("facet.field", name), (f"f.{name}.facet.limit", str(limit))]
    params.append(("facet.query", "{!ex=dt key=undated}(*:* -dated:true)"))
    params += [("facet.query", f"{{!key={name}}}{name}:true") for name in EDITS]
    return params


def facets_from(data: dict) -> dict[str, dict[str, int]]:
    """Solr's facet counts in the Whoosh backend's order (dates newest first, others by count)."""
    fields = (data.get("facet_counts") or {}).get("facet_fields") or {}

    def top(c: dict[str, int]) -> dict[str, int]:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_TOP])

    return {
        "year": dict(sorted((fields.get("year") or {}).items(), reverse=True)),
        "month": dict(sorted((fields.get("month") or {}).items(), reverse=True)),
        "source": top(fields.get("source") or {}),
        "tag": top(fields.get("tags") or {}),
    }


def edits_from(data: dict) -> dict[str, int]:
    """The ``edits`` facet: matches with more than one version, and with a changed headline."""
    queries = (data.get("facet_counts") or {}).get("facet_queries") or {}
    return {name: int(queries[name]) for name in EDITS if queries.get(name)}


def suggestion_from(data: dict, parsed: ParsedQuery) -> str | None:
    """The user's text with each unknown word replaced by Solr's first correction."""
    found = (data.get("spellcheck") or {}).get("suggestions") or {}
    text = parsed.text
    for word in dict.fromkeys(parsed.plain_words):
        entry = found.get(word)
        options = entry.get("suggestion") if isinstance(entry, dict) else None
        if options:
            fixed = options[0]["word"] if isinstance(options[0], dict) else str(options[0])
            text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", fixed, text, flags=re.IGNORECASE)
    return text if text.lower() != parsed.text.lower() else None


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


class SolrBackend:
    """Answers searches, article look-ups, stats and health checks from a Solr collection."""

    def __init__(self, client: SolrClient, state_dir: str | Path | None = None) -> None:
        self.client = client
        # Versions are read from the Solr sink's state folder (its --index), as on Whoosh.
        self.history = History(ProvenanceState(Path(state_dir))) if state_dir else None
        self._state: tuple[float, IndexState] | None = None
        self._state_lock = threading.Lock()

    def _call(self, handler: str, params) -> dict:
        """One request; an unreachable or failing cluster becomes IndexUnavailable (a 503)."""
        try:
            return self.client.get(handler, params)
        except SolrUnavailable as exc:
            raise IndexUnavailable(str(exc)) from exc
        except SolrRequestError as exc:
            raise IndexUnavailable(f"the Solr collection {self.client.collection!r} could not answer ({exc})") from exc

    # -- search ------------------------------------------------------------------------

    def search(self, req: SearchRequest) -> SearchResponse:
        """Ranked, filtered, faceted, highlighted results for one request."""
        t0 = time.perf_counter()
        parsed = parse_query(req.q)
        p = plan(parsed, req.all_words)
        data = self._select(req, parsed, p)
        total = data["response"]["numFound"]
        queries = (data.get("facet_counts") or {}).get("facet_queries") or {}
        all_total = int(queries.get("all_words", 0)) if p.relaxed else None
        fallback = "any_words" if p.relaxed and total and not all_total else None
        ranked = self._sort(req, parsed) == "relevance"
        hits = self._hits(data, p, with_score=ranked)
        if req.explain and ranked:
            trees = (data.get("debug") or {}).get("explain") or {}
            for hit in hits:
                if isinstance(trees.get(hit.id), dict):
                    hit.explain = explain_hit(trees[hit.id], hit.missing_words, p.tier)
        suggestion = None
        if parsed.plain_words and (total < SUGGEST_BELOW or fallback):
            suggestion = suggestion_from(data, parsed)
        return SearchResponse(
            request=req, total=total, hits=hits, took_ms=_ms(t0),
            facets=facets_from(data) | {"outlets": outlet_facet(data), "edits": edits_from(data)},
            index=self.index_state(), suggestion=suggestion, fallback=fallback,
            syntax_error=parsed.syntax_error, undated_hidden=queries.get("undated", 0) if req.has_date_filter else 0,
            ignored_words=list(parsed.dropped_stopwords),
            matching=summary(parsed, p.words, p.need, all_total),
        )

    @staticmethod
    def _sort(req: SearchRequest, parsed: ParsedQuery) -> str:
        if req.sort == "relevance" and not parsed.has_text_clauses:
            return "newest"
        return req.sort

    def _select(self, req: SearchRequest, parsed: ParsedQuery, p: QueryPlan) -> dict:
        fl = HIT_FIELDS + ("," + word_fields(p) if p.relaxed else "")
        params: list[tuple[str, str]] = [
            *query_params(p, self._sort(req, parsed)), ("fl", fl),
            ("start", str((req.page - 1) * req.size)), ("rows", str(req.size)),
        ]
        params += [("fq", fq) for fq in filter_queries(req) + edit_filters(req)]
        collapse = collapse_filter(req, p)
        if collapse:
            params.append(("fq", collapse))
        params += _facet_params()
        if parsed.has_text_clauses:
            params += highlight_params(lucene_query(parsed, "any"))
        if req.explain and self._sort(req, parsed) == "relevance":
            params += [("debug", "results"), ("debug.explain.structured", "true")]
        if parsed.plain_words:
            params += [("spellcheck", "true"), ("spellcheck.q", " ".join(parsed.plain_words)),
                       ("spellcheck.count", "5")]
        return self._call("select", params)

    def _hits(self, data: dict, p: QueryPlan, with_score: bool) -> list[Hit]:
        docs = data["response"]["docs"]
        marked = data.get("highlighting") or {}
        copies = self._duplicates([d["id"] for d in docs])
        stories = self._clusters([d["cluster"] for d in docs if d.get("cluster_size", 0) > 1])
        hits = []
        for d in docs:
            body = d.get("body") or ""
            hl = (marked.get(d["id"]) or {}).get("body") or []
            spans = spans_from_marked(hl[0], body) if hl else []
            hits.append(Hit(
                id=d["id"], path=d.get("path", ""), title=d.get("title") or "", url=d.get("url") or None,
                source=d.get("source") or None, date=d.get("date") or None,
                date_precision=d.get("date_precision") or None, tags=list(d.get("tags") or []),
                score=round(d["score"], 4) if with_score and "score" in d else None,
                snippet=snippet(body, spans), duplicates=copies.get(d["id"], []),
                missing_words=[w for i, w in enumerate(p.words) if not d.get(f"w{i}", True)],
                cluster=stories.get(d.get("cluster") or ""),
            ))
        return hits

    def match_ids(self, reqs: Sequence[SearchRequest]) -> list[set[str]]:
        """For each request, the ids of every article it matches with all its words (as
        SearchEngine.match_ids: no ranking, facets or snippets), a page of ids at a time."""
        out = []
        for req in reqs:
            parsed = parse_query(req.q)
            query = plan(parsed, all_words=True)
            found: set[str] = set()
            while True:
                data = self._call("select", [
                    *query_params(query, "newest"), ("fl", "id"), ("start", str(len(found))),
                    ("rows", str(MATCH_PAGE)), *(("fq", fq) for fq in filter_queries(req)),
                ])
                docs = data["response"]["docs"]
                found.update(d["id"] for d in docs)
                if len(docs) < MATCH_PAGE or len(found) >= data["response"]["numFound"]:
                    break
            out.append(found)
        return out

    def _story(self, doc: dict) -> dict | None:
        """An article's ``cluster`` (None when its story has no other member)."""
        return self._clusters([doc["cluster"]]).get(doc["cluster"]) if doc.get("cluster_size", 0) > 1 else None

    def _clusters(self, clusters: list[str]) -> dict[str, dict]:
        """cluster -> its ``cluster`` dict, for the stories of two or more (one request)."""
        if not clusters:
            return {}
        data = self._call("select", members_params(sorted(set(clusters))))
        return cluster_dicts(data["response"]["docs"])

    def _duplicates(self, ids: list[str]) -> dict[str, list[str]]:
        """Article id -> ids of its exact copies, sorted (one request for the page)."""
        if not ids:
            return {}
        data = self._call("select", [
            ("q", "*:*"), ("fq", f"kind:{KIND_DUPLICATE}"), ("fq", "{!terms f=dup_of}" + ",".join(ids)),
            ("fl", "id,dup_of"), ("rows", "10000"), ("sort", "id asc"),
        ])
        out: dict[str, list[str]] = {}
        for d in data["response"]["docs"]:
            out.setdefault(d["dup_of"], []).append(d["id"])
        return out

    # -- article, stats, health ------------------------------------------------------------

    def _get(self, doc_id: str) -> dict | None:
        # a query, not a real-time get: documents are routed by story (router.field), so a
        # get by id alone would ask the wrong shard; the sink commits every batch
        data = self._call("select", [("q", "*:*"), ("fq", "{!terms f=id}" + doc_id), ("rows", "1")])
        docs = data["response"]["docs"]
        return docs[0] if docs else None

    def article(self, doc_id: str, q: str | None = None) -> ArticleResponse | None:
        """One whole article (a copy's id resolves to its original), or None."""
        t0 = time.perf_counter()
        doc = self._resolve(doc_id)
        if doc is None:
            return None
        body = doc.get("body") or ""
        spans = self._article_spans(doc["id"], body, q) if q else []
        return ArticleResponse(
            id=doc["id"], path=doc.get("path", ""), title=doc.get("title") or "", url=doc.get("url") or None,
            source=doc.get("source") or None, author=doc.get("author") or None, date=doc.get("date") or None,
            date_precision=doc.get("date_precision") or None, tags=list(doc.get("tags") or []), text=body,
            text_html=mark_all(body, spans) if spans else escape(body), duplicates=self._duplicates([doc["id"]]).get(doc["id"], []),
            related=self._related(doc["id"]), took_ms=_ms(t0), index=self.index_state(),
            versions=self.history.versions(doc["id"]) if self.history else [], cluster=self._story(doc),
        )

    def _resolve(self, doc_id: str) -> dict | None:
        """The article document an id names (a copy's id resolves to its original), or None."""
        if not valid_id(doc_id) or doc_id == RUN_DOC_ID:
            return None
        doc = self._get(doc_id)
        if doc and doc.get("kind") == KIND_DUPLICATE:
            doc = self._get(doc.get("dup_of") or "") if doc.get("dup_of") else None
        return doc if doc and doc.get("kind") == KIND_ARTICLE else None

    def diff(self, doc_id: str, old: int, new: int) -> str | None:
        """Word diff (safe HTML) between two of an article's ``versions``; None if no article.

        Raises IndexError when ``old`` or ``new`` is not an index into its versions.
        """
        doc = self._resolve(doc_id)
        return None if doc is None else self.diff_versions(doc["id"], old, new)

    def diff_versions(self, article_id: str, old: int, new: int) -> str:
        """Word diff between versions ``old`` and ``new`` of an article (its resolved id)."""
        if self.history is None:  # no state folder configured: no versions recorded here
            raise IndexError(0)
        return self.history.diff(article_id, old, new)

    def _article_spans(self, doc_id: str, body: str, q: str) -> list[Span]:
        parsed = parse_query(" ".join(q.split())[:1000])
        if not parsed.has_text_clauses:
            return []
        query = lucene_query(parsed, "any")
        data = self._call("select", [("q", f"id:{quote(doc_id)}"), ("fl", "id"), *highlight_params(query)])
        hl = ((data.get("highlighting") or {}).get(doc_id) or {}).get("body") or []
        return spans_from_marked(hl[0], body) if hl else []

    def _related(self, doc_id: str) -> list[Related]:
        """More-like-this over the body, articles only.

        The MoreLikeThis component, not the ``{!mlt}`` parser: in SolrCloud that parser
        fetches the document by a real-time get on its id alone, which misses documents
        routed by story (router.field); the component finds it by query on every shard.
        Distributed, it lists only ids: a second request reads the articles among them.
        """
        data = self._call("select", [
            ("q", "{!terms f=id}" + doc_id), ("fl", "id"), ("rows", "1"), ("mlt", "true"), ("mlt.fl", "body"),
            ("mlt.mintf", "1"), ("mlt.mindf", "1"), ("mlt.maxqt", "25"), ("mlt.count", str(RELATED * 2)),
        ])
        found = data.get("moreLikeThis") or {}
        if isinstance(found, list):  # json.nl=flat (the default): [id, {docs}, ...]
            found = dict(zip(found[::2], found[1::2]))
        ids = [d["id"] for d in (found.get(doc_id) or {}).get("docs") or [] if d["id"] != doc_id]
        if not ids:
            return []
        data = self._call("select", [("q", "*:*"), ("fq", "{!terms f=id}" + ",".join(ids)), ("fq", f"kind:{KIND_ARTICLE}"),
                                     ("fl", "id,title,date,source"), ("rows", str(len(ids)))])
        docs = {d["id"]: d for d in data["response"]["docs"]}
        return [Related(i, docs[i].get("title") or "", docs[i].get("date") or None, docs[i].get("source") or None)
                for i in ids if i in docs][:RELATED]

    def index_state(self) -> IndexState:
        """The collection and the indexer's last run (cached a few seconds)."""
        with self._state_lock:
            if self._state and time.monotonic() - self._state[0] < STATE_TTL:
                return self._state[1]
        doc = self._get(RUN_DOC_ID)
        last = None
        if doc and doc.get("run"):
            try:
                last = {k: v for k, v in json.loads(doc["run"]).items() if not isinstance(v, (list, dict))}
            except (ValueError, AttributeError):
                last = None
        state = IndexState(f"solr:{self.client.collection}", None, last)
        with self._state_lock:
            self._state = (time.monotonic(), state)
        return state

    def stats(self) -> dict:
        """Document counts by kind and the last indexer run."""
        data = self._call("select", [
            ("q", "*:*"), ("rows", "0"), ("facet", "true"), ("facet.field", "kind"), ("json.nl", "map"),
            ("facet.query", "{!key=undated}(+kind:article -dated:true)"),
        ])
        counts = data.get("facet_counts") or {}
        kinds = counts.get("facet_fields", {}).get("kind", {})
        run = self._get(RUN_DOC_ID)
        size, segments = self._size()
        return {
            "documents": kinds.get(KIND_ARTICLE, 0),
            "duplicates": kinds.get(KIND_DUPLICATE, 0),
            "skipped_files": kinds.get("skipped", 0),
            "undated": counts.get("facet_queries", {}).get("undated", 0),
            "segments": segments,
            "index_size_bytes": size,
            "last_run": json.loads(run["run"]) if run and run.get("run") else None,
            "index": self.index_state().to_dict(),
        }

    def _size(self) -> tuple[int, int]:
        """(bytes, segments) of one copy of the collection: the shard leaders' indexes."""
        try:
            data = self.client.admin("collections", {"action": "COLSTATUS", "collection": self.client.collection,
                                                     "coreInfo": "true"})
        except (SolrUnavailable, SolrRequestError) as exc:
            raise IndexUnavailable(f"the Solr cluster could not report its size ({exc})") from exc
        size = segments = 0
        for shard in ((data.get(self.client.collection) or {}).get("shards") or {}).values():
            info = ((shard.get("leader") or {}).get("segInfos") or {}).get("info") or {}
            segments += int(info.get("numSegments") or 0)
            size += round(float((info.get("core") or {}).get("sizeInGB") or 0) * 2**30)
        return size, segments

    def health(self) -> dict:
        """Raise IndexUnavailable unless the collection answers a query."""
        t0 = time.perf_counter()
        data = self._call("select", [("q", "*:*"), ("rows", "0")])
        return {"status": "ok", "documents": data["response"]["numFound"], "took_ms": _ms(t0),
                "index": self.index_state().to_dict()}

    def close(self) -> None:
        """Close this thread's connections (a later call reconnects)."""
        self.client.close()

    def warm(self) -> None:
        """Nothing to load: Solr keeps its caches in its own JVM."""

    def keep_warm(self) -> None:
        """Nothing to load: Solr warms its own searchers on commit."""
