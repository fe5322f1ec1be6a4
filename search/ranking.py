"""Ranking: BM25F over title and body, plus a boost for query words near each other.

BM25F proper: for each query word, its title and body frequencies are length-normalised
per field, added (a title occurrence counts ``title_weight`` body occurrences) and only
then saturated, with one Robertson/Sparck Jones idf per word:

    x     = title_weight * tf_title / norm_title + tf_body / norm_body
    norm  = (1 - b_field) + b_field * len_field / avg_len_field
    score = idf * (k1 + 1) * x / (x + k1),   idf = log((N - n + 0.5) / (n + 0.5))

(Whoosh's stock BM25F scores each field separately and adds the saturated scores, with
idf = log(N / (n + 1)) + 1; both lose measurably on TIME and Cranfield.) Each field's
term matcher scores its own part f(x_field) and the combined matcher turns the parts
back into x (f is invertible) to score f(x_title + x_body). f is concave with f(0) = 0,
so the sum of the parts' block maxima still bounds the combined score and Whoosh's
block-max skipping stays valid.

The parameters were tuned on the odd query ids of the TIME and Cranfield collections
(``bench/relevance.py --tune``) and reported on the even ids and on all of them.

Proximity: the top candidates are re-ranked by the share of adjacent query-word pairs that
occur within ``prox_slop`` positions of each other in the body, in either order unless
``prox_ordered`` (score * (1 + prox_boost * share)). It never changes which documents
match, only their order.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from dataclasses import dataclass, replace
from itertools import islice
from math import log

from whoosh import matching
from whoosh import query as wq
from whoosh import scoring
from whoosh.reading import IndexReader

from common.analysis import stem
from common.schema import KIND_ARTICLE
from search.docset import PostingsCache, docs, postings_values
from search.query import Clause, ParsedQuery

MAX_PREFIX_TERMS = 200


@dataclass(frozen=True)
class RankingParams:
    """Free parameters of the ranking (defaults are the tuned values)."""

    k1: float = 1.6
    body_b: float = 0.75
    title_b: float = 0.9
    title_weight: float = 3.0  # one title occurrence counts as this many body occurrences
    prox_boost: float = 0.5
    prox_slop: int = 8
    prox_ordered: bool = False
    or_coord: float = 0.0  # bonus per extra matched group in OR mode (Whoosh's Or scale)

    def weighting(self) -> scoring.WeightingModel:
        """The Whoosh weighting model for these parameters."""
        return NewsBM25F(self)

    def with_(self, **changes: object) -> "RankingParams":
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT = RankingParams()

TEXT_FIELDS = ("title", "body")


def rsj_idf(n_docs: int, df: int) -> float:
    """Robertson/Sparck Jones idf, floored just above 0 (as SQLite FTS5 and Lucene do)."""
    return max(log((n_docs - df + 0.5) / (df + 0.5)), 1e-6)


class NewsBM25F(scoring.WeightingModel):
    """Whoosh weighting for the title and body parts of BM25F (see the module docstring).

    A word's idf is shared by both fields: its document frequency is the larger of the
    two fields' (a lower bound of the union's that needs no posting merge; equal to it
    on both test collections). Other fields get plain BM25 with the same idf formula.
    """

    def __init__(self, params: "RankingParams") -> None:
        self.params = params

    def supports_block_quality(self) -> bool:
        return True

    def idf(self, searcher, fieldname, text) -> float:
        parent = searcher.get_parent()
        if fieldname in TEXT_FIELDS:
            df = max(parent.doc_frequency(f, text) for f in TEXT_FIELDS if f in parent.schema)
        else:
            df = parent.doc_frequency(fieldname, text)
        return rsj_idf(parent.doc_count_all(), df)

    def scorer(self, searcher, fieldname, text, qf=1):
        field = searcher.schema[fieldname]
        if not field.scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        p = self.params
        b = p.title_b if fieldname == "title" else p.body_b
        # Stored weights include the schema's index-time field boost; undo it so that
        # title_weight alone says what a title occurrence is worth.
        scale = 1.0 / (getattr(field.format, "field_boost", 1.0) or 1.0)
        if fieldname == "title":
            scale *= p.title_weight
        return FieldPartScorer(searcher, fieldname, text, b, p.k1, scale)


class FieldPartScorer(scoring.WeightLengthScorer):
    """f(x) for one field's part x of a word's BM25F frequency."""

    def __init__(self, searcher, fieldname, text, B, K1, scale):
        parent = searcher.get_parent()
        self.idf = parent.idf(fieldname, text)
        self.avgfl = parent.avg_field_length(fieldname) or 1
        self.B, self.K1, self.scale = B, K1, scale
        self.setup(searcher, fieldname, text)

    def _score(self, weight, length):
        x = weight * self.scale / ((1 - self.B) + self.B * length / self.avgfl)
        return self.idf * (self.K1 + 1) * x / (x + self.K1)


class FieldsMatcher(matching.UnionMatcher):
    """Union of one word's title and body postings, scored f(x_title + x_body)."""

    def __init__(self, a, b, top: float, k1: float):
        super().__init__(a, b)
        self.top = top  # idf * (k1 + 1): the supremum of f
        self.k1 = k1

    def copy(self):
        return self.__class__(self.a.copy(), self.b.copy(), self.top, self.k1)

    def replace(self, minquality=0):
        # Never become an intersection or AndMaybe (their scores would be f(x)+f(y)).
        a, b = self.a, self.b
        if not (a.is_active() or b.is_active()):
            return matching.NullMatcher()
        if not a.is_active():
            return b.replace(minquality)  # one part alone is already f(x)
        if not b.is_active():
            return a.replace(minquality)
        na, nb = a.replace(), b.replace()
        if na is not a or nb is not b:
            return self.__class__(na, nb, self.top, self.k1)
        self._id = None
        return self

    def _x(self, s: float) -> float:
        return self.k1 * s / (self.top - s) if s < self.top else 1e12

    def score(self):
        a, b = self.a, self.b
        if not a.is_active():
            return b.score()
        if not b.is_active():
            return a.score()
        ida, idb = a.id(), b.id()
        if ida < idb:
            return a.score()
        if idb < ida:
            return b.score()
        x = self._x(a.score()) + self._x(b.score())
        return self.top * x / (x + self.k1)


class FieldsTerm(wq.Or):
    """One word in title or body, scored as one BM25F term when the weighting is NewsBM25F.

    It is an ``Or`` of the two field terms for everything but scoring (match sets,
    highlighting, term listing), so the rest of the code needs no special case.
    """

    def __init__(self, text, boost: float = 1.0, **_kw):
        if isinstance(text, str):
            subs = [wq.Term(f, text) for f in TEXT_FIELDS]
        else:  # Whoosh's generic copies (apply, simplify) pass the subqueries
            subs = list(text)
            text = subs[0].text
        super().__init__(subs, boost=boost)
        self.text = text

    def normalize(self):
        return self  # never merged into a parent Or: it must keep its own scoring

    def matcher(self, searcher, context=None):
        w = context.weighting if context is not None else searcher.weighting
        subs = [q.matcher(searcher, context) for q in self.subqueries]
        subs = [m for m in subs if m.is_active()]
        if not subs:
            return matching.NullMatcher()
        if len(subs) == 1:
            return subs[0]
        if not isinstance(w, NewsBM25F) or len(subs) != 2:
            return super().matcher(searcher, context)
        idf = searcher.get_parent().idf(self.subqueries[0].fieldname, self.text)
        return FieldsMatcher(subs[0], subs[1], idf * (w.params.k1 + 1), w.params.k1)


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
    if clause.kind == "word" and clause.field is None:
        return FieldsTerm(term_text(clause.words[0]))
    subs: list[wq.Query] = []
    for fname in _text_fields(clause):
        if clause.kind == "word":
            subs.append(wq.Term(fname, term_text(clause.words[0])))
        elif clause.kind == "phrase":
            subs.append(wq.Phrase(fname, [term_text(w) for w in clause.words]))
        elif clause.kind == "prefix":
            terms = _expand_prefix(reader, fname, clause.words[0])
            subs.append(wq.Or([wq.Term(fname, t) for t in terms]) if terms else wq.NullQuery)
    return subs[0] if len(subs) == 1 else wq.Or(subs)


def _group_query(group: tuple[Clause, ...], reader: IndexReader, params: RankingParams) -> wq.Query:
    subs = [clause_query(c, reader, params) for c in group]
    return subs[0] if len(subs) == 1 else wq.Or(subs)


def _positions(reader: IndexReader, term: str, docnums: list[int]) -> dict[int, list[int]]:
    return postings_values(reader, "body", term, docnums, "positions")


def _cached_positions(cache: PostingsCache, term: str, docnums: list[int]) -> dict[int, list[int]]:
    fmt = cache.searcher.schema["body"].format
    p = cache.get("body", term)
    out: dict[int, list[int]] = {}
    for d in docnums:
        v = p.value(d)
        if v is not None:
            out[d] = fmt.decode_positions(v)
    return out


def _near(pa: list[int], pb: list[int], slop: int, ordered: bool) -> bool:
    """True when some position in pb follows (or, unordered, neighbours) one in pa within slop."""
    if len(pa) > len(pb) and not ordered:
        pa, pb = pb, pa
    n = len(pb)
    for p in pa:  # pb is sorted: look at the first position after p - slop
        i = bisect_left(pb, p - slop)
        while i < n and pb[i] <= p + slop:
            q = pb[i]
            if q != p and (q > p or not ordered):
                return True
            i += 1
    return False


def proximity(reader: IndexReader, docnums: list[int], words: list[str], params: RankingParams,
              cache: PostingsCache | None = None) -> dict[int, float]:
    """Share (0-1) of adjacent query-word pairs found within prox_slop of each other, per document."""
    stems = [term_text(w) for w in words]
    pairs = [(a, b) for a, b in zip(stems, stems[1:]) if a != b]
    if not pairs or params.prox_boost <= 0:
        return {}
    order = sorted(docnums)
    if cache is not None:
        pos = {t: _cached_positions(cache, t, order) for t in set(stems)}
    else:
        pos = {t: _positions(reader, t, order) for t in set(stems)}
    out: dict[int, float] = {}
    for d in order:
        near = 0
        for a, b in pairs:
            pa, pb = pos[a].get(d), pos[b].get(d)
            if pa and pb and _near(pa, pb, params.prox_slop, params.prox_ordered):
                near += 1
        if near:
            out[d] = near / len(pairs)
    return out


# -- scoring a whole match set from the request's postings ---------------------------------
#
# Totals and facets already need every match, so the postings of the query's terms are
# read in full anyway (search.docset.PostingsCache). Scoring the match set from those
# same arrays costs a few dict operations per posting; Whoosh's top-N collector would
# read the same blocks a second time through one skip_to()/score() call per posting,
# which measured about 3x slower than the whole rest of a request at 20k stories.
# The scores are Whoosh's own (NewsBM25F; checked against it in tests/test_ranking.py).


class _Unsupported(Exception):
    pass


def _term_parts(cache: PostingsCache, table_lengths, params: RankingParams, fieldname: str, text,
                cand: set[int]) -> dict[int, float]:
    """x (the length-normalised, weighted frequency) of one term in one field, per candidate."""
    s = cache.searcher
    field = s.schema[fieldname]
    p = cache.get(fieldname, text)
    if not p.ids:
        return {}
    b = params.title_b if fieldname == "title" else params.body_b
    scale = 1.0 / (getattr(field.format, "field_boost", 1.0) or 1.0)
    if fieldname == "title":
        scale *= params.title_weight
    avg = s.avg_field_length(fieldname) or 1
    c0, c1 = 1 - b, b / avg
    lengths = table_lengths.get(fieldname)
    if lengths is None:
        lengths = {d: s.doc_field_length(d, fieldname, 1) for d in p.ids}
    if len(cand) < len(p.ids):  # dict(zip()) runs in C; then one step per candidate
        wd = dict(zip(p.ids, p.weights))
        get = wd.get
        return {d: w * scale / (c0 + c1 * lengths[d]) for d in cand if (w := get(d)) is not None}
    return {d: w * scale / (c0 + c1 * lengths[d]) for d, w in zip(p.ids, p.weights) if d in cand}


def _f_sum(parts: list[dict[int, float]], top: float, k1: float) -> dict[int, float]:
    if not parts:
        return {}
    if len(parts) == 1:
        return {d: top * x / (x + k1) for d, x in parts[0].items()}
    x: dict[int, float] = dict(parts[0])
    for part in parts[1:]:
        for d, v in part.items():
            x[d] = x.get(d, 0.0) + v
    return {d: top * v / (v + k1) for d, v in x.items()}


def _idf_top(s, fieldname: str, text, k1: float) -> float:
    field = s.schema[fieldname]
    btext = field.to_bytes(text) if not isinstance(text, bytes) else text
    return s.idf(fieldname, btext) * (k1 + 1)


def _scores(q: wq.Query, cache: PostingsCache, lengths, params: RankingParams, cand: set[int]) -> dict[int, float]:
    """{docnum: score} for the candidates q matches, as Whoosh would score them."""
    s = cache.searcher
    k1 = params.k1
    if isinstance(q, FieldsTerm):
        parts = [_term_parts(cache, lengths, params, t.fieldname, t.text, cand) for t in q.subqueries]
        return _f_sum([p for p in parts if p], _idf_top(s, q.subqueries[0].fieldname, q.text, k1), k1)
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return {}
    if isinstance(q, wq.Term):
        if q.fieldname not in TEXT_FIELDS or q.boost != 1.0:
            raise _Unsupported
        part = _term_parts(cache, lengths, params, q.fieldname, q.text, cand)
        return _f_sum([part], _idf_top(s, q.fieldname, q.text, k1), k1) if part else {}
    if getattr(q, "boost", 1.0) != 1.0:
        raise _Unsupported
    if isinstance(q, wq.Phrase):
        return _phrase_scores(q, cache, lengths, params, cand)
    if isinstance(q, wq.AndNot):
        excluded = docs(s, q.b, cache)
        return {d: v for d, v in _scores(q.a, cache, lengths, params, cand).items() if d not in excluded}
    if isinstance(q, (wq.And, wq.Or)) and not isinstance(q, (wq.AndMaybe,)):
        if isinstance(q, wq.Or) and q.scale:
            raise _Unsupported
        subs = [_scores(sub, cache, lengths, params, cand) for sub in q.subqueries]
        if not subs:
            return {}
        if isinstance(q, wq.And):
            subs.sort(key=len)
            out = dict(subs[0])
            for sub in subs[1:]:
                out = {d: v + sub[d] for d, v in out.items() if d in sub}
            return out
        out = dict(subs[0])
        for sub in subs[1:]:
            for d, v in sub.items():
                out[d] = out.get(d, 0.0) + v
        return out
    raise _Unsupported


def _phrase_scores(q: wq.Phrase, cache: PostingsCache, lengths, params: RankingParams,
                   cand: set[int]) -> dict[int, float]:
    """Whoosh scores a phrase match as the sum of its words' scores: the same here, over
    the documents the phrase matches (positions checked once, in search.docset)."""
    if q.slop != 1 or q.fieldname not in TEXT_FIELDS:
        raise _Unsupported
    within = cand & docs(cache.searcher, q, cache)
    return _scores(wq.And([wq.Term(q.fieldname, w) for w in q.words]), cache, lengths, params, within)


def rank(searcher, built: "BuiltQuery", limit: int, allowed: set[int] | None = None,
         params: RankingParams = DEFAULT, cache: PostingsCache | None = None,
         lengths: dict | None = None) -> list[tuple[int, float]]:
    """Top documents by BM25F, then a proximity re-rank of the first RERANK_DEPTH.

    ``allowed``: the documents that may rank (None: every match). With ``cache`` the
    whole candidate set is scored from the request's postings (see above); queries
    with clauses that path cannot score (phrases, source:/tag: filters, Whoosh
    boosts) use Whoosh's block-max top-N search instead, with the same scores.
    Re-ranking only the candidates keeps the proximity work bounded; a sloppy-phrase
    clause inside the query measured several times slower at 20k stories.
    """
    depth = max(limit, RERANK_DEPTH)
    own_cache = cache is None
    if own_cache:
        cache = PostingsCache(searcher)
    top = None
    try:
        cand = allowed if allowed is not None else docs(searcher, built.match, cache)
        scores = _scores(built.match, cache, lengths or {}, params, cand)
        top = heapq.nlargest(depth, scores.items(), key=lambda kv: (kv[1], -kv[0]))
    except _Unsupported:
        results = searcher.search(built.match, limit=depth, filter=allowed)
        top = [(d, sc) for sc, d in results.top_n]
    bonus = proximity(searcher.reader(), [d for d, _ in top], built.words, params, cache) if built.words else {}
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
