"""Relevance through the product path, next to four peers on the same texts (not a test).

    PYTHONPATH=. python bench/relevance.py [--only time cranfield reuters] [--no-pools]
                                           [--max-pools N] [--diagnostics] [--workdir DIR]
    PYTHONPATH=. python bench/relevance.py --tune --workdir DIR   # odd ids, DIR's indexes

Ours: each collection is written as a corpus of files as a scraper would leave them (one
file per document: TIME's text as it comes, Cranfield's title line then its hard-wrapped
abstract, Reuters' headline, blank line, hard-wrapped wire copy, with a manifest of dates),
indexed by ``python -m indexer`` (``indexer.__main__.main``) and queried through the search
library, ``SearchEngine(index).search(SearchRequest(q=<query text>, size=10))``, with
default parameters. Peers get the same title and text and the same query words (the
query's words minus the project's stopword list), OR semantics: SQLite FTS5 ``bm25()``,
bm25s with Lucene's idf, tantivy (its ``en_stem`` tokenizer) and plain Whoosh BM25F.

Collections: ``ir/time`` (83 queries), ``ir/cranfield`` (225), Reuters-21578 with the 31
topic queries of ``reuters21578/dev_queries.tsv`` (query id = line number; a story is
relevant when its topics hold the query's label; stories with no topic judgement retrieved
count as not relevant, for every system alike), and topical pools built from each: for
every query, its relevant documents (at most 40, sampled with a fixed seed) plus the top 40
of a neutral first-stage BM25 (bm25s, Lucene idf) over the whole collection, deduplicated,
shuffled with a fixed seed and indexed as its own small corpus (ours by the indexer, in
process; each peer on the pool alone).

Metric: nDCG@10 (TIME and Reuters binary gains; Cranfield's graded gains used linearly),
reported on odd query ids (tuning), even ids (held out) and all, with a second table of
ours minus the best peer query by query (mean and standard error: a gap inside about two
standard errors is not a measured difference). A labelled row gives ours with every copy
of a story cluster as its own hit (``copies=all``; the default collapses them, while the
judgments grade each copy). ``--diagnostics`` adds
labelled rows for the paths no user takes: the texts written straight into the schema
(no cleaning) and the indexer's index ranked with every query forced to OR.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import itertools
import json
import math
import random
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpora import DATA  # noqa: E402
from common.analysis import is_stopword, query_words, stem  # noqa: E402
from indexer.__main__ import main as indexer_main  # noqa: E402
from search.engine import SearchEngine  # noqa: E402
from search.ranking import DEFAULT, RankingParams  # noqa: E402
from search.request import SearchRequest  # noqa: E402

# Pools per collection in the default run: every judged query's (0). The issue asks for
# a pool per query, and the first 40 of TIME's and Cranfield's (--max-pools 40, a quicker
# sample: the first judged ids in file order) disagreed in sign with all of them on the
# idf smoothing. Each pool is a run of the real indexer (~3 s at a load average of 4-8,
# ~15 s at 10-13): TIME's and Cranfield's 308 took 16 minutes, Reuters' 31 add 1-2.
DEFAULT_POOLS = 0
POOL_RELEVANT = 40
POOL_FIRST_STAGE = 40
SEED = 10


@dataclass
class Doc:
    id: str
    title: str
    text: str
    date: str | None = None


@dataclass
class Collection:
    name: str
    docs: list[Doc]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    wire: bool = False  # Reuters: subfolders and a manifest of dates
    extra: dict = field(default_factory=dict)


# -- loading the collections -------------------------------------------------------------


def _ir_qrels(name: str) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in (DATA / f"ir/{name}/qrels.tsv").read_text().splitlines()[1:]:
        q, d, rel = line.split("\t")
        qrels.setdefault(q, {})[d] = int(rel)
    return qrels


def _ir_queries(name: str) -> dict[str, str]:
    with open(DATA / f"ir/{name}/queries.jsonl") as fh:
        return {(r := json.loads(line))["id"]: r["text"] for line in fh}


def load_time() -> Collection:
    with open(DATA / "ir/time/docs.jsonl", encoding="utf-8") as fh:
        docs = [Doc(d["id"], "", d["text"]) for d in map(json.loads, fh)]
    return Collection("TIME", docs, _ir_queries("time"), _ir_qrels("time"))


def load_cranfield() -> Collection:
    with open(DATA / "ir/cranfield/docs.jsonl", encoding="utf-8") as fh:
        docs = [Doc(d["id"], d["title"] or "", d["text"] or "") for d in map(json.loads, fh)]
    return Collection("Cranfield", docs, _ir_queries("cranfield"), _ir_qrels("cranfield"))


def load_reuters() -> Collection:
    docs, topics = [], {}
    with gzip.open(DATA / "reuters21578/docs.jsonl.gz", "rt", encoding="utf-8") as fh:
        for d in map(json.loads, fh):
            if (d.get("text") or "").strip():
                docs.append(Doc(d["id"], d["title"] or "", d["text"], d["date"]))
                topics[d["id"]] = set(d.get("topics") or ())
    queries, qrels = {}, {}
    lines = (DATA / "reuters21578/dev_queries.tsv").read_text().splitlines()[1:]
    for n, line in enumerate(lines, 1):
        text, label = line.split("\t")
        queries[str(n)] = text
        qrels[str(n)] = {d: 1 for d, ts in topics.items() if label in ts}
    return Collection("Reuters", docs, queries, qrels, wire=True)


LOADERS = {"time": load_time, "cranfield": load_cranfield, "reuters": load_reuters}


# -- the product path ----------------------------------------------------------------------


def file_name(c: Collection, doc_id: str) -> str:
    return f"{int(doc_id) // 1000:02d}/{doc_id}.txt" if c.wire else f"{doc_id}.txt"


def write_corpus(c: Collection, docs: list[Doc], dest: Path) -> None:
    """One file per document as a scraper would leave it (see the module docstring)."""
    dest.mkdir(parents=True, exist_ok=True)
    manifest = []
    for d in docs:
        path = dest / file_name(c, d.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{d.title}\n\n{d.text}\n" if d.title else f"{d.text}\n", "utf-8")
        if d.date:
            manifest.append(json.dumps({"file": file_name(c, d.id), "date": d.date, "source": "Reuters"}))
    if manifest:
        (dest / "manifest.jsonl").write_text("\n".join(manifest) + "\n", "utf-8")


def warm_up() -> None:
    """Import and load in this process what the indexer's workers load lazily (dateparser's
    language data, NLTK), so each small pool's forked workers inherit it instead of
    loading it again: that was most of a pool's indexing time."""
    from indexer.dates import parse_phrase

    parse_phrase("June 10th, 2019")
    analysed("warming up the stemmer")


def run_indexer(corpus: Path, index: Path, workers: int = 2) -> None:
    argv = ["--corpus", str(corpus), "--index", str(index), "--quiet", "--workers", str(workers)]
    with contextlib.redirect_stdout(io.StringIO()):
        status = indexer_main(argv)
    if status != 0:
        raise SystemExit(f"indexer failed on {corpus} ({status})")


def doc_id_of(path: str) -> str:
    return Path(path).stem


class Ours:
    """The search library with default request parameters."""

    label = "ours (indexer + search defaults)"
    copies = "collapse"  # the default: one hit per story cluster

    def __init__(self, index: Path, params: RankingParams = DEFAULT):
        self.engine = SearchEngine(index, params)

    def run(self, queries: dict[str, str]) -> dict[str, list[str]]:
        out = {}
        for qid, text in queries.items():
            resp = self.engine.search(SearchRequest(q=" ".join(text.split())[:1000], size=10, copies=self.copies))
            out[qid] = [doc_id_of(h.path) for h in resp.hits]
        return out


class OursEveryCopy(Ours):
    """Ours with every copy of a story cluster its own hit (``copies=all``): what default
    collapsing changes, since judgments grade each copy separately."""

    label = "diagnostic: ours, every copy (copies=all)"
    copies = "all"


# -- peers -------------------------------------------------------------------------------------


def bag_of_words(text: str) -> list[str]:
    words = query_words(text)
    kept = [w for w in words if not is_stopword(w)]
    return kept or words


def plain_terms(text: str) -> list[str]:
    """Words made of letters and digits only (for peers whose parsers have syntax)."""
    return [t for w in bag_of_words(text) for t in re.split(r"[^0-9a-z]+", w) if t]


class Fts5:
    label = "SQLite FTS5 bm25()"

    def __init__(self, docs: list[Doc]):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, title, body, tokenize='porter unicode61')")
        self.db.executemany("INSERT INTO t VALUES (?,?,?)", ((d.id, d.title, d.text) for d in docs))

    def run(self, queries: dict[str, str]) -> dict[str, list[str]]:
        out = {}
        for qid, text in queries.items():
            match = " OR ".join('"' + w.replace('"', '""') + '"' for w in bag_of_words(text))
            rows = self.db.execute("SELECT id FROM t WHERE t MATCH ? ORDER BY bm25(t, 0, 2.0, 1.0) LIMIT 10",
                                   (match,)).fetchall() if match else []
            out[qid] = [r[0] for r in rows]
        return out


def analysed(text: str) -> list[str]:
    return [stem(w) for w in query_words(text) if not is_stopword(w)]


class Bm25s:
    label = "bm25s (Lucene idf)"

    def __init__(self, docs: list[Doc]):
        import bm25s

        self.ids = [d.id for d in docs]
        self.model = bm25s.BM25(method="lucene")
        self.model.index([analysed(f"{d.title} {d.text}") for d in docs], show_progress=False)
        self.vocab = self.model.vocab_dict

    def top(self, text: str, k: int) -> list[str]:
        terms = [t for t in analysed(text) or [stem(w) for w in query_words(text)] if t in self.vocab]
        if not terms:
            return []
        scores = self.model.get_scores(terms)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [self.ids[i] for i in order if scores[i] > 0]

    def run(self, queries: dict[str, str]) -> dict[str, list[str]]:
        return {qid: self.top(text, 10) for qid, text in queries.items()}


class Tantivy:
    label = "tantivy (en_stem, OR)"

    def __init__(self, docs: list[Doc]):
        import tantivy

        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("title", tokenizer_name="en_stem")
        sb.add_text_field("body", tokenizer_name="en_stem")
        self.index = tantivy.Index(sb.build())
        w = self.index.writer(heap_size=50_000_000, num_threads=1)
        for d in docs:
            w.add_document(tantivy.Document(id=d.id, title=d.title, body=d.text))
        w.commit()
        w.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def run(self, queries: dict[str, str]) -> dict[str, list[str]]:
        out = {}
        for qid, text in queries.items():
            terms = plain_terms(text)
            if not terms:
                out[qid] = []
                continue
            q = self.index.parse_query(" ".join(terms), ["title", "body"], field_boosts={"title": 2.0})
            hits = self.searcher.search(q, 10).hits
            out[qid] = [self.searcher.doc(addr)["id"][0] for _score, addr in hits]
        return out


class PlainWhoosh:
    label = "plain Whoosh BM25F (OR)"

    def __init__(self, docs: list[Doc]):
        from whoosh import fields
        from whoosh import index as windex
        from whoosh.analysis import StemmingAnalyzer

        schema = fields.Schema(id=fields.ID(stored=True), title=fields.TEXT(analyzer=StemmingAnalyzer()),
                               body=fields.TEXT(analyzer=StemmingAnalyzer()))
        # On disk in a private folder: RamStorage spills to a fixed /tmp/MAIN.tmp name that
        # two processes running at once overwrite.
        self._dir = tempfile.TemporaryDirectory(prefix="plain-whoosh-")  # removed with this object
        self.ix = windex.create_in(self._dir.name, schema)
        with self.ix.writer() as w:
            for d in docs:
                w.add_document(id=d.id, title=d.title, body=d.text)

    def run(self, queries: dict[str, str]) -> dict[str, list[str]]:
        from whoosh import qparser

        parser = qparser.MultifieldParser(["title", "body"], self.ix.schema, group=qparser.OrGroup)
        out = {}
        with self.ix.searcher() as s:
            for qid, text in queries.items():
                terms = plain_terms(text)
                out[qid] = [h["id"] for h in s.search(parser.parse(" ".join(terms)), limit=10)] if terms else []
        return out


PEERS = (Fts5, Bm25s, Tantivy, PlainWhoosh)


# -- diagnostics (paths no user takes) ------------------------------------------------------


class DirectOr:
    """The texts written straight into the schema (no cleaning), every query ORed."""

    label = "diagnostic: direct indexing, forced OR"

    def __init__(self, c: Collection, docs: list[Doc], dest: Path):
        from bench.corpora import build_index
        from common.dates import PubDate
        from common.documents import Article

        arts = (Article(id=d.id, path=file_name(c, d.id), title=d.title, body=d.text, content_hash=d.id,
                        source=c.name, date=PubDate.parse(d.date[:10]) if d.date else None) for d in docs)
        self.forced = ForcedOr(build_index(dest, arts))

    def run(self, queries):
        return self.forced.run(queries)


class ForcedOr:
    """Our ranking with every query's plain words ORed (the old benchmark's mode)."""

    label = "diagnostic: indexer, forced OR"

    def __init__(self, index: Path, params: RankingParams = DEFAULT):
        from whoosh import index as windex

        from common.layout import current_version

        self.ix, self.params = windex.open_dir(str(current_version(index))), params

    def run(self, queries):
        from search.query import parse_query
        from search.columns import ColumnsCache
        from search.match import match
        from search.score import rank
        from search.view import IndexView

        out = {}
        with self.ix.searcher() as s:
            view = IndexView(s, ColumnsCache())
            for qid, text in queries.items():
                m = match(view, parse_query(" ".join(bag_of_words(text))), "any")
                top = rank(view, m, m.docs, 10, self.params, view.columns.id_rank)
                out[qid] = [doc_id_of(s.stored_fields(d)["path"]) for d, _ in top]
        return out


# -- metrics -------------------------------------------------------------------------------------


def ndcg10(ranked: list[str], rels: dict[str, int]) -> float:
    gains = [max(rels.get(d, 0), 0) for d in ranked[:10]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted((g for g in rels.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def split_ids(qids) -> dict[str, list[str]]:
    qids = list(qids)
    return {"odd": [q for q in qids if int(q) % 2], "even": [q for q in qids if not int(q) % 2], "all": qids}


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


# -- topical pools --------------------------------------------------------------------------


def make_pools(c: Collection, first_stage: Bm25s, max_pools: int | None) -> list[tuple[str, list[Doc]]]:
    """Per judged query: its relevant documents (capped) plus a neutral BM25's top 40."""
    by_id = {d.id: d for d in c.docs}
    pools = []
    qids = [q for q in c.queries if any(g > 0 for g in c.qrels.get(q, {}).values())]
    if max_pools:
        qids = qids[:max_pools]
    for qid in qids:
        rng = random.Random(f"{SEED}-{c.name}-{qid}")
        rel = sorted(d for d, g in c.qrels[qid].items() if g > 0 and d in by_id)
        if len(rel) > POOL_RELEVANT:
            rel = sorted(rng.sample(rel, POOL_RELEVANT))
        ids = list(dict.fromkeys(rel + first_stage.top(c.queries[qid], POOL_FIRST_STAGE)))
        rng.shuffle(ids)
        pools.append((qid, [by_id[i] for i in ids]))
    return pools


# -- running --------------------------------------------------------------------------------


def per_query(runs: dict[str, dict[str, list[str]]], qrels, qids) -> dict[str, dict[str, float]]:
    """nDCG@10 of each system on each query."""
    return {label: {q: ndcg10(run.get(q, []), qrels.get(q, {})) for q in qids} for label, run in runs.items()}


def summarise(scores: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean nDCG@10 per system on the odd, even and all query ids."""
    return {label: {part: mean(per[q] for q in ids) for part, ids in split_ids(per).items()}
            for label, per in scores.items()}


def evaluate(runs: dict[str, dict[str, list[str]]], qrels, qids) -> dict[str, dict[str, float]]:
    return summarise(per_query(runs, qrels, qids))


def paired(scores: dict[str, dict[str, float]], part: str) -> tuple[str, float, float, int, int]:
    """Ours minus the best peer (by mean) on one part, per query: mean, its standard error,
    wins and losses. A gap inside about two standard errors is not a measured difference."""
    ids = split_ids(scores[Ours.label])[part]
    peers = [label for label in scores if label in {p.label for p in PEERS}]
    best = max(peers, key=lambda label: mean(scores[label][q] for q in ids))
    diffs = [scores[Ours.label][q] - scores[best][q] for q in ids]
    m = mean(diffs)
    se = math.sqrt(sum((d - m) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs)) if len(diffs) > 1 else 0.0
    return best, m, se, sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)


def systems_on(c: Collection, docs: list[Doc], work: Path, diagnostics: bool, workers: int,
               params: RankingParams) -> dict[str, object]:
    corpus, index = work / "corpus", work / "index"
    t0 = time.perf_counter()
    write_corpus(c, docs, corpus)
    run_indexer(corpus, index, workers)
    took = {"indexer": time.perf_counter() - t0}
    systems: dict[str, object] = {Ours.label: Ours(index, params), OursEveryCopy.label: OursEveryCopy(index, params)}
    for peer in PEERS:
        t0 = time.perf_counter()
        systems[peer.label] = peer(docs)
        took[peer.__name__] = time.perf_counter() - t0
    if len(docs) > 1000:
        print(f"  {c.name}: built in " + ", ".join(f"{k} {v:.0f} s" for k, v in took.items()), file=sys.stderr)
    if diagnostics:
        systems[ForcedOr.label] = ForcedOr(index, params)
        systems[DirectOr.label] = DirectOr(c, docs, work / "direct")
    return systems


def run_collection(c: Collection, work: Path, args, params: RankingParams) -> tuple[dict, dict, dict]:
    """Per-query nDCG@10 of every system on the whole collection and on its pools."""
    t0 = time.perf_counter()
    systems = systems_on(c, c.docs, work / "whole", args.diagnostics, 2, params)
    whole = per_query({k: s.run(c.queries) for k, s in systems.items()}, c.qrels, list(c.queries))
    print(f"  {c.name}: whole collection in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    pool_runs: dict[str, dict[str, list[str]]] = {}
    engines = []
    if not args.no_pools:
        t0 = time.perf_counter()
        first_stage = systems[Bm25s.label]
        for qid, docs in make_pools(c, first_stage, args.max_pools):
            pool = systems_on(c, docs, work / f"pool-{qid}", args.diagnostics, 1, params)
            engines.append((qid, pool[Ours.label]))
            for label, s in pool.items():
                pool_runs.setdefault(label, {}).update(s.run({qid: c.queries[qid]}))
        print(f"  {c.name}: {len(engines)} pools in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    pools = per_query(pool_runs, c.qrels, [q for q, _ in engines]) if pool_runs else {}
    return whole, pools, {"whole": systems[Ours.label], "pools": engines}


def print_table(results: list[tuple[str, str, dict]]) -> None:
    print("| collection | queries (odd / even) | system | nDCG@10 odd (tuning) | even (held out) | all |")
    print("|---|---|---|---|---|---|")
    for name, n, scores in results:
        table = summarise(scores)
        best_peer = {part: max(v[part] for k, v in table.items() if k in {p.label for p in PEERS})
                     for part in ("odd", "even", "all")}
        for label, v in table.items():
            cells = [f"**{v[p]:.3f}**" if label == Ours.label and v[p] > best_peer[p] else f"{v[p]:.3f}"
                     for p in ("odd", "even", "all")]
            print(f"| {name} | {n} | {label} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", choices=list(LOADERS), default=list(LOADERS))
    ap.add_argument("--no-pools", action="store_true")
    ap.add_argument("--max-pools", type=int, default=DEFAULT_POOLS,
                    help="pools per collection, the first judged query ids (default 0: every judged query's)")
    ap.add_argument("--diagnostics", action="store_true")
    ap.add_argument("--tune", action="store_true",
                    help="grid-search RankingParams on the odd ids over the indexes of an earlier run's --workdir")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.tune:
        if not args.workdir:
            ap.error("--tune needs the --workdir of an earlier run")
        return tune(args.workdir, args.only)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="relevance-"))
    warm_up()
    print(f"params: {DEFAULT}", file=sys.stderr)
    results = []
    for name in args.only:
        c = LOADERS[name]()
        whole, pools, engines = run_collection(c, work / name, args, DEFAULT)
        results.append((c.name, f"{len(c.queries)}", whole))
        if pools:
            results.append((f"{c.name} pools", f"{len(engines['pools'])}", pools))
    print_table(results)
    print_paired(results)


def print_paired(results: list[tuple[str, str, dict]]) -> None:
    """Ours minus the best peer, query by query, with the standard error of the mean gap."""
    print("\n| collection | part | best peer | ours − best peer (mean ± s.e., per query) | wins / losses |")
    print("|---|---|---|---|---|")
    for name, _n, scores in results:
        for part in ("even", "all"):
            best, m, se, wins, losses = paired(scores, part)
            print(f"| {name} | {part} | {best} | {m:+.3f} ± {se:.3f} | {wins} / {losses} |")


# -- tuning on the odd ids only -------------------------------------------------------------

# The neighbourhood of the shipped defaults; they came from a staged search on the odd
# ids (k1 1.2-3.0, title weight 2-3, body b 0.5-0.9, title b 0.5-0.9, proximity boost
# 0-0.7, slop 4-10, all-words tier up to 0/2/3 words); idf_m (pseudo-documents smoothing
# a small folder's document frequencies) was added for the Cranfield pools (k1 2.0-3.0,
# idf_m 0-100), then the feedback of verbose queries (weight 0: feedback computed, added
# at nothing, i.e. off).
GRID = {
    "prf_docs": [3, 5],
    "prf_weight": [0.0, 0.1, 0.15, 0.2, 0.3],
}


def odd_per_query(c: Collection, work: Path, params: RankingParams) -> dict[tuple[str, str], float]:
    """Odd-id nDCG@10 of ours per (set, query) on the collection and on its pools, from a
    run's indexes."""
    odd = split_ids(c.queries)["odd"]
    run = Ours(work / "whole" / "index", params).run({q: c.queries[q] for q in odd})
    out = {(c.name, q): ndcg10(run[q], c.qrels.get(q, {})) for q in odd}
    for p in sorted(work.glob("pool-*")):
        q = p.name[5:]
        if int(q) % 2 and (p / "index").is_dir():
            out[(f"{c.name} pools", q)] = ndcg10(Ours(p / "index", params).run({q: c.queries[q]})[q],
                                                 c.qrels.get(q, {}))
    return out


def pooled_gap(variant: dict, base: dict) -> tuple[float, float]:
    """Mean and standard error of the per-query gap, every set's queries pooled: a 20-query
    pool set weighs 20 queries, not as much as a 225-query collection."""
    diffs = [variant[k] - base[k] for k in base]
    m = mean(diffs)
    se = math.sqrt(sum((d - m) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs)) if len(diffs) > 1 else 0.0
    return m, se


def tune(work: Path, names: list[str]) -> None:
    """Grid-search RankingParams on the odd query ids over the indexes a previous run left
    in ``work`` (``--workdir``): each point's per-query gap to the shipped defaults, pooled
    over every collection and pool set. A point replaces the defaults only if it wins by
    more than two standard errors here and then loses on no set's even ids beyond noise."""
    colls = [(LOADERS[n](), work / n) for n in names]
    base = {k: v for c, w in colls for k, v in odd_per_query(c, w, DEFAULT).items()}
    keys = list(GRID)
    best = None
    for values in itertools.product(*GRID.values()):
        p = DEFAULT.with_(**dict(zip(keys, values)))
        got = {k: v for c, w in colls for k, v in odd_per_query(c, w, p).items()}
        m, se = pooled_gap(got, base)
        if best is None or m > best[0]:
            best = (m, se, p)
        sets = sorted({s for s, _ in base})
        per_set = " ".join(f"{s} {mean(got[k] - base[k] for k in base if k[0] == s):+.3f}" for s in sets)
        print(f"tune: {m:+.4f} ± {se:.4f} (n={len(base)}){' passes' if m > 2 * se else ''} | {per_set} | "
              f"{dict(zip(keys, values))}", flush=True)
    m, se, p = best
    print(f"best: {m:+.4f} ± {se:.4f} {'passes the rule on odd ids' if m > 2 * se else 'not a measured gain'} {p}")


if __name__ == "__main__":
    main()
