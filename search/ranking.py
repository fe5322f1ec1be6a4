"""Ranking: BM25F over title and body, plus a boost for query words near each other.

The parameters were tuned on the odd query ids of the TIME and Cranfield collections
(``bench/relevance.py``) and reported on the even ids and on all of them.

Proximity: for each pair of adjacent query words an optional sloppy phrase on the body
adds to the score of documents where the two words occur within ``prox_slop`` positions
of each other in order. It never changes which documents match, only their order.
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


def proximity_query(words: list[str], params: RankingParams) -> wq.Query | None:
    """Optional sloppy phrases over adjacent query-word pairs (body field)."""
    if params.prox_boost <= 0 or len(words) < 2:
        return None
    stems = [term_text(w) for w in words]
    pairs = [
        wq.Phrase("body", [a, b], slop=params.prox_slop, boost=params.prox_boost)
        for a, b in zip(stems, stems[1:])
        if a != b
    ]
    return wq.Or(pairs) if pairs else None


@dataclass
class BuiltQuery:
    """The Whoosh queries for one parsed query: ``match`` decides membership, ``score`` ranks."""

    match: wq.Query
    score: wq.Query


def build_query(
    parsed: ParsedQuery, reader: IndexReader, mode: str = "all", params: RankingParams = DEFAULT
) -> BuiltQuery:
    """Whoosh queries for a parsed query; mode "all" ANDs plain words, "any" ORs them."""
    if parsed.is_empty:
        every = wq.Term("kind", KIND_ARTICLE)
        return BuiltQuery(every, every)
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
        return BuiltQuery(wq.NullQuery, wq.NullQuery)
    match: wq.Query = parts[0] if len(parts) == 1 else wq.And(parts)
    negatives = [clause_query(c, reader, params) for c in parsed.negative_clauses]
    if negatives:
        match = wq.AndNot(match, wq.Or(negatives) if len(negatives) > 1 else negatives[0])
    score = match
    prox = proximity_query(parsed.plain_words, params)
    if prox is not None:
        score = wq.AndMaybe(match, prox)
    return BuiltQuery(match, score)
