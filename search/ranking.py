"""Ranking: BM25F over title and body, plus a boost for query words near each other.

The parameters were tuned on the odd query ids of the TIME and Cranfield collections
(``bench/relevance.py``) and reported on the even ids and on all of them.

Proximity: the top candidates are re-ranked by the share of adjacent query-word pairs that
occur in order within ``prox_slop`` positions in the body (score * (1 + prox_boost * share)).
It never changes which documents match, only their order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import islice

from whoosh import query as wq
from whoosh import scoring
from whoosh.reading import IndexReader

from common.analysis import stem
from common.schema import KIND_ARTICLE
from search.query import Clause, ParsedQuery

MAX_PREFIX_TERMS = 200


@dataclass(frozen=True)
class RankingParams:
    """Free parameters of the ranking (defaults are the tuned values)."""

    k1: float = 1.2
    body_b: float = 0.75
    title_b: float = 0.5
    title_weight: float = 1.0  # on top of the schema's index-time title boost
    prox_boost: float = 0.3
    prox_slop: int = 3
    or_coord: float = 0.0  # bonus per extra matched group in OR mode (Whoosh's Or scale)

    def weighting(self) -> scoring.WeightingModel:
        """The Whoosh weighting model for these parameters."""
        return scoring.BM25F(B=self.body_b, K1=self.k1, title_B=self.title_b, body_B=self.body_b)

    def with_(self, **changes: object) -> "RankingParams":
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT = RankingParams()


def term_text(word: str) -> str:
    """The index term for a normalized query word (the same Snowball stem as indexing)."""
    return stem(word)


def _text_fields(clause: Clause) -> tuple[str, ...]:
    return (clause.field,) if clause.field else ("title", "body")


def _expand_prefix(reader: IndexReader, fname: str, prefix: str) -> list[str]:
    try:
        return [
            t.decode("utf-8") if isinstance(t, bytes) else t
            for t in islice(reader.expand_prefix(fname, prefix), MAX_PREFIX_TERMS)
        ]
    except KeyError:
        return []


def clause_query(clause: Clause, reader: IndexReader, params: RankingParams) -> wq.Query:
    """The Whoosh query for one clause (ignoring its negation)."""
    if clause.kind == "filter":
        fname = "source_key" if clause.field == "source" else "tags"
        return wq.Term(fname, clause.words[0])
    subs: list[wq.Query] = []
    for fname in _text_fields(clause):
        boost = params.title_weight if fname == "title" else 1.0
        if clause.kind == "word":
            subs.append(wq.Term(fname, term_text(clause.words[0]), boost=boost))
        elif clause.kind == "phrase":
            subs.append(wq.Phrase(fname, [term_text(w) for w in clause.words], boost=boost))
        elif clause.kind == "prefix":
            terms = _expand_prefix(reader, fname, clause.words[0])
            subs.append(wq.Or([wq.Term(fname, t, boost=boost) for t in terms]) if terms else wq.NullQuery)
    return subs[0] if len(subs) == 1 else wq.Or(subs)


def _group_query(group: tuple[Clause, ...], reader: IndexReader, params: RankingParams) -> wq.Query:
    subs = [clause_query(c, reader, params) for c in group]
    return subs[0] if len(subs) == 1 else wq.Or(subs)


def _positions(reader: IndexReader, term: str, docnums: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    if ("body", term) not in reader:
        return out
    m = reader.postings("body", term)
    for d in docnums:  # ascending
        if not m.is_active():
            break
        if m.id() < d:
            m.skip_to(d)
            if not m.is_active():
                break
        if m.id() == d:
            out[d] = m.value_as("positions")
    return out


def proximity(reader: IndexReader, docnums: list[int], words: list[str], params: RankingParams) -> dict[int, float]:
    """Share (0-1) of adjacent query-word pairs found in order within prox_slop, per document."""
    stems = [term_text(w) for w in words]
    pairs = [(a, b) for a, b in zip(stems, stems[1:]) if a != b]
    if not pairs or params.prox_boost <= 0:
        return {}
    order = sorted(docnums)
    pos = {t: _positions(reader, t, order) for t in set(stems)}
    out: dict[int, float] = {}
    for d in order:
        near = 0
        for a, b in pairs:
            pa, pb = pos[a].get(d), pos[b].get(d)
            if not pa or not pb:
                continue
            sb = set(pb)
            if any(p + k in sb for p in pa for k in range(1, params.prox_slop + 1)):
                near += 1
        if near:
            out[d] = near / len(pairs)
    return out


def rank(searcher, built: "BuiltQuery", limit: int, allowed: set[int] | None = None,
         params: RankingParams = DEFAULT) -> list[tuple[int, float]]:
    """Top documents: BM25F (Whoosh's optimized top-N), then a proximity re-rank of the
    first RERANK_DEPTH candidates. Re-ranking only the candidates keeps the block-max
    skipping of the top-N search; a sloppy-phrase clause inside the query measured
    several times slower at 20k stories."""
    depth = max(limit, RERANK_DEPTH)
    results = searcher.search(built.match, limit=depth, filter=allowed)
    top = [(d, sc) for sc, d in results.top_n]
    bonus = proximity(searcher.reader(), [d for d, _ in top], built.words, params) if built.words else {}
    return [(d, sc * (1.0 + params.prox_boost * bonus.get(d, 0.0))) for d, sc in top]


RERANK_DEPTH = 100


@dataclass
class BuiltQuery:
    """The Whoosh queries for one parsed query: ``match`` decides membership, ``score`` ranks."""

    match: wq.Query
    words: list[str]


def build_query(
    parsed: ParsedQuery, reader: IndexReader, mode: str = "all", params: RankingParams = DEFAULT
) -> BuiltQuery:
    """Whoosh queries for a parsed query; mode "all" ANDs plain words, "any" ORs them."""
    if parsed.is_empty:
        every = wq.Term("kind", KIND_ARTICLE)
        return BuiltQuery(every, [])
    positive = parsed.positive_groups
    plain = [g for g in positive if len(g) == 1 and g[0].is_plain_word]
    required = [g for g in positive if g not in plain] if mode == "any" else positive
    parts = [_group_query(g, reader, params) for g in required]
    if mode == "any" and plain:
        words = [_group_query(g, reader, params) for g in plain]
        parts.append(wq.Or(words, scale=params.or_coord) if params.or_coord else wq.Or(words))
    if not parts and parsed.negative_clauses:
        parts = [wq.Term("kind", KIND_ARTICLE)]
    if not parts:
        return BuiltQuery(wq.NullQuery, [])
    match: wq.Query = parts[0] if len(parts) == 1 else wq.And(parts)
    negatives = [clause_query(c, reader, params) for c in parsed.negative_clauses]
    if negatives:
        match = wq.AndNot(match, wq.Or(negatives) if len(negatives) > 1 else negatives[0])
    return BuiltQuery(match, parsed.plain_words)
