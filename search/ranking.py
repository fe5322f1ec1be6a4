"""Ranking: BM25F over title and body, plus a boost for query words near each other.

BM25F proper: for each query word, its title and body frequencies are length-normalised
per field, added (a title occurrence counts ``title_weight`` body occurrences) and only
then saturated, with one idf per word (Lucene's form of the Robertson/Sparck Jones idf):

    x     = title_weight * tf_title / norm_title + tf_body / norm_body
    norm  = (1 - b_field) + b_field * len_field / avg_len_field
    score = idf * (k1 + 1) * x / (x + k1),   idf = log(1 + (N - n + 0.5) / (n + 0.5))

The plain RSJ idf, log((N - n + 0.5) / (n + 0.5)), is 0 (or negative) for a word in half
the articles or more: on a focused folder (a watchdog's articles about one company) every
subject word then scored nothing and incidental rare words decided the order. Lucene's
``1 +`` keeps every matching word's idf above 0, so a matching article never scores 0.

(Whoosh's stock BM25F scores each field separately and adds the saturated scores, with
idf = log(N / (n + 1)) + 1; both lose measurably on TIME and Cranfield.) Each field's
term matcher scores its own part f(x_field) and the combined matcher turns the parts
back into x (f is invertible) to score f(x_title + x_body). f is concave with f(0) = 0,
so the sum of the parts' block maxima still bounds the combined score and Whoosh's
block-max skipping stays valid.

The parameters were tuned through the product path (files, indexer, search defaults) on
the odd query ids of TIME, Cranfield, the Reuters topic queries and the topical pools of
each, by the mean nDCG@10 over those six sets (``bench/relevance.py --tune``), and are
reported on the even ids and on all of them.

Proximity: the top candidates are re-ranked by the share of adjacent query-word pairs that
occur within ``prox_slop`` positions of each other in the body, in either order unless
``prox_ordered`` (score * (1 + prox_boost * share)). It never changes which documents
match, only their order.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from itertools import islice
from math import log

from whoosh import matching
from whoosh import query as wq
from whoosh import scoring
from whoosh.reading import IndexReader

from common.analysis import hyphen_parts, stem
from common.schema import KIND_ARTICLE
from search.docset import PostingsCache, docs, postings_values
from search.query import Clause, ParsedQuery

MAX_PREFIX_TERMS = 200


@dataclass(frozen=True)
class RankingParams:
    """Free parameters of the ranking (defaults are the tuned values)."""

    k1: float = 2.4
    body_b: float = 0.6
    title_b: float = 0.9
    title_weight: float = 2.5  # one title occurrence counts as this many body occurrences
    prox_boost: float = 0.6
    prox_slop: int = 10
    prox_ordered: bool = False
    or_coord: float = 0.0  # bonus per extra matched group in OR mode (Whoosh's Or scale)
    # Minimum-should-match relaxation (search.ranking.relax): a partial match needs at
    # least this share of the plain words (rounded down, at least one), and its score is
    # multiplied by (words it has / words) ** coord.
    min_match: float = 0.0
    coord: float = 0.0
    # Matches with all the words rank first for queries of up to all_first_max words;
    # longer ones (a pasted sentence) rank every match by score alone.
    all_first_max: int = 3
    hyphen_parts: bool = True  # a hyphenated query word also matches its parts (word_parts)

    def weighting(self) -> scoring.WeightingModel:
        """The Whoosh weighting model for these parameters."""
        return NewsBM25F(self)

    def with_(self, **changes: object) -> "RankingParams":
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT = RankingParams()

TEXT_FIELDS = ("title", "body")


def bm25_idf(n_docs: int, df: int) -> float:
    """Lucene's BM25 idf: positive for any word, however common (see the module docstring)."""
    return log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


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
        return bm25_idf(parent.doc_count_all(), df)

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


def word_parts(word: str) -> list[str]:
    """The index terms of a hyphenated word's parts ("interference-free": interfer, free).

    Documents index a hyphenated word whole and as its parts at one position, so a query
    word searched as its parts finds the exact word and also "wind tunnel interference"
    for "interference-free" (adding the whole word too scored lower on Cranfield).
    """
    if "-" not in word:
        return []
    return [t for t in dict.fromkeys(p for p, _s, _e in hyphen_parts(word)) if t != term_text(word)]


def _text_fields(clause: Clause) -> tuple[str, ...]:
    return (clause.field,) if clause.field else ("title", "body")


def expand_prefix(reader: IndexReader, fname: str, prefix: str) -> list[str]:
    """The index terms of a field that start with prefix (at most MAX_PREFIX_TERMS)."""
    try:
        return [
            t.decode("utf-8") if isinstance(t, bytes) else t
            for t in islice(reader.expand_prefix(fname, prefix), MAX_PREFIX_TERMS)
        ]
    except KeyError:
        return []


def expand_fuzzy(reader: IndexReader, fname: str, term: str, distance: int) -> list[str]:
    """Index terms within ``distance`` edits of term (first letter fixed, as Whoosh's fuzzy)."""
    try:
        found = reader.terms_within(fname, term, distance, prefix=1)
        return sorted(t.decode("utf-8") if isinstance(t, bytes) else t for t in found)[:MAX_PREFIX_TERMS]
    except KeyError:
        return []


def clause_query(clause: Clause, reader: IndexReader, params: RankingParams) -> wq.Query:
    """The Whoosh query for one clause (ignoring its negation)."""
    if clause.kind == "filter":
        fname = "source_key" if clause.field == "source" else "tags"
        return wq.Term(fname, clause.words[0])
    if clause.kind == "word" and clause.field is None:
        whole = term_text(clause.words[0])
        parts = word_parts(clause.words[0])
        if parts and params.hyphen_parts:
            return wq.Or([FieldsTerm(p) for p in parts])
        return FieldsTerm(whole)
    subs: list[wq.Query] = []
    for fname in _text_fields(clause):
        if clause.kind == "word":
            subs.append(wq.Term(fname, term_text(clause.words[0])))
        elif clause.kind == "phrase":
            subs.append(wq.Phrase(fname, [term_text(w) for w in clause.words]))
        elif clause.kind == "prefix":
            terms = expand_prefix(reader, fname, clause.words[0])
            subs.append(wq.Or([wq.Term(fname, t) for t in terms]) if terms else wq.NullQuery)
        elif clause.kind == "fuzzy":
            terms = expand_fuzzy(reader, fname, term_text(clause.words[0]), clause.distance)
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


def field_b_scale(field, fieldname: str, params: RankingParams) -> tuple[float, float]:
    """(b, scale) of a field: its length normalisation and what one stored occurrence is worth.

    Stored weights include the schema's index-time field boost; the scale undoes it so
    that title_weight alone says what a title occurrence is worth.
    """
    b = params.title_b if fieldname == "title" else params.body_b
    scale = 1.0 / (getattr(field.format, "field_boost", 1.0) or 1.0)
    return b, scale * (params.title_weight if fieldname == "title" else 1.0)


def _term_parts(cache: PostingsCache, table_lengths, params: RankingParams, fieldname: str, text,
                cand: set[int]) -> dict[int, float]:
    """x (the length-normalised, weighted frequency) of one term in one field, per candidate."""
    s = cache.searcher
    field = s.schema[fieldname]
    p = cache.get(fieldname, text)
    if not p.ids:
        return {}
    b, scale = field_b_scale(field, fieldname, params)
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
         lengths: dict | None = None, relaxed: "Relaxation | None" = None,
         applied: dict[int, float] | None = None) -> list[tuple[int, float]]:
    """Top documents by BM25F, then a proximity re-rank of the first RERANK_DEPTH.

    ``allowed``: the documents that may rank (None: every match). With ``cache`` the
    whole candidate set is scored from the request's postings (see above); queries
    with clauses that path cannot score (phrases, source:/tag: filters, Whoosh
    boosts) use Whoosh's block-max top-N search instead, with the same scores.
    Re-ranking only the candidates keeps the proximity work bounded; a sloppy-phrase
    clause inside the query measured several times slower at 20k stories.
    With ``relaxed``, articles with all the words come first and partial matches after,
    scaled by their coordination factor; the list is returned in that order.
    ``applied`` (if given) receives each re-ranked document's proximity share.
    """
    depth = max(limit, RERANK_DEPTH)
    if cache is None:
        cache = PostingsCache(searcher)
    first = relaxed.first if relaxed is not None else None
    try:
        cand = allowed if allowed is not None else docs(searcher, built.match, cache)
        scores = _scores(built.match, cache, lengths or {}, params, cand)
        if relaxed is not None:
            scores = relaxed.scale(scores, params)
        top = heapq.nlargest(depth, scores.items(),
                             key=lambda kv: (first is None or kv[0] in first, kv[1], -kv[0]))
    except _Unsupported:
        top = _whoosh_top(searcher, built, depth, allowed, first, relaxed, params)
    bonus = proximity(searcher.reader(), [d for d, _ in top], built.words, params, cache) if built.words else {}
    if applied is not None:
        applied.update({d: bonus.get(d, 0.0) for d, _ in top})
    out = [(d, sc * (1.0 + params.prox_boost * bonus.get(d, 0.0))) for d, sc in top]
    out.sort(key=lambda p: (first is not None and p[0] not in first, -p[1], p[0]))
    return out


def _whoosh_top(searcher, built: "BuiltQuery", depth: int, allowed: set[int] | None,
                first: set[int] | None, relaxed: "Relaxation | None", params: RankingParams):
    """Whoosh's own top-N, all-words tier first (each tier searched on its own)."""
    if first is None:
        return [(d, sc) for sc, d in searcher.search(built.match, limit=depth, filter=allowed).top_n]
    tiers = [first if allowed is None else first & allowed]
    rest = (allowed if allowed is not None else docs(searcher, built.match)) - first
    tiers.append(rest)
    top: list[tuple[int, float]] = []
    for tier in tiers:
        if tier and len(top) < depth:
            found = searcher.search(built.match, limit=depth - len(top), filter=tier).top_n
            top.extend(relaxed.scale({d: sc for sc, d in found}, params).items())
    return top


RERANK_DEPTH = 100


@dataclass
class BuiltQuery:
    """The Whoosh queries for one parsed query.

    ``match`` decides membership and scores; in "relaxed" mode it ORs the plain words
    (each other clause stays required) and ``word_queries`` holds one query per plain
    word, to tell the matches with all the words from the partial ones.
    """

    match: wq.Query
    words: list[str]
    word_queries: list[tuple[str, wq.Query]] = field(default_factory=list)
    required: int = 0  # clauses every match must have (phrases, fields, prefixes, OR groups)


@dataclass
class Relaxation:
    """How a relaxed query's matches split: all the words, or only some of them."""

    words: list[str]  # the plain words that a partial match may lack
    min_words: int  # the least number of them a partial match has
    all_words: set[int]  # matches with every word (ranked first)
    counts: dict[int, int]  # for partial matches: how many of the words each has
    first: set[int] | None = None  # the matches ranked before all others (None: one tier)

    def scale(self, scores: dict[int, float], params: RankingParams) -> dict[int, float]:
        """Partial matches' scores times their coordination factor (words had / words)."""
        if not params.coord or not self.words:
            return scores
        n, counts, full = len(self.words), self.counts, self.all_words
        return {d: sc if d in full else sc * (counts.get(d, 0) / n) ** params.coord for d, sc in scores.items()}

    def missing(self, doc: int, has_word) -> list[str]:
        """The words a match lacks (none for an all-words match)."""
        return [] if doc in self.all_words else [w for w in self.words if not has_word(w, doc)]


def has_word(cache: PostingsCache, word: str, doc: int) -> bool:
    """True when the document has the relaxable word in its title or body (each word of
    an implicit phrase, which is close enough for saying what a hit lacks)."""
    return all(any(doc in cache.get(f, t).docset for f in TEXT_FIELDS for t in [term_text(w)] + word_parts(w))
               for w in word.split())


def _clause_text(clause: Clause) -> str:
    text = " ".join(clause.words)
    if clause.kind == "phrase" and clause.quoted:
        text = f'"{text}"'
    elif clause.kind == "prefix":
        text += "*"
    return f"{clause.field}:{text}" if clause.field else text


def matching_summary(parsed: ParsedQuery, relaxed: "Relaxation | None") -> dict:
    """Which words and clauses every hit has, which words a partial match may lack."""
    relaxable = set(relaxed.words) if relaxed is not None else set()
    required = [" OR ".join(_clause_text(c) for c in g) for g in parsed.positive_groups
                if not (len(g) == 1 and g[0].is_relaxable and _clause_text(g[0]) in relaxable)]
    return {
        "required": required,
        "relaxed": relaxed.words if relaxed is not None else [],
        "min_relaxed_words": relaxed.min_words if relaxed is not None else 0,
        "all_words_total": len(relaxed.all_words) if relaxed is not None else None,
        "excluded": [_clause_text(c) for c in parsed.negative_clauses],
    }


def relax(searcher, built: BuiltQuery, matched: set[int], params: RankingParams,
          cache: PostingsCache | None = None) -> tuple[set[int], Relaxation | None]:
    """Keep the matches with at least the minimum share of the plain words; say which have all.

    Lucene/Elasticsearch's minimum-should-match: one ranked list where the articles with
    every word come first and the best partial matches follow, instead of all-or-nothing.
    """
    if len(built.word_queries) < (1 if built.required else 2):
        return matched, None
    per_word = [docs(searcher, q, cache) & matched for _w, q in built.word_queries]
    counts: dict[int, int] = {}
    for found in per_word:
        for d in found:
            counts[d] = counts.get(d, 0) + 1
    n = len(per_word)
    need = max(1, int(params.min_match * n))
    kept = {d for d in matched if counts.get(d, 0) >= need}
    full = {d for d in kept if counts.get(d, 0) == n}
    partial = {d: counts.get(d, 0) for d in kept if d not in full}
    first = full if n <= params.all_first_max else None
    return kept, Relaxation([w for w, _q in built.word_queries], need, full, partial, first)




def build_query(
    parsed: ParsedQuery, reader: IndexReader, mode: str = "all", params: RankingParams = DEFAULT
) -> BuiltQuery:
    """Whoosh queries for a parsed query; mode "all" ANDs plain words, "any" and
    "relaxed" OR them (relaxed also keeps one query per word, see ``relax``)."""
    if parsed.is_empty:
        every = wq.Term("kind", KIND_ARTICLE)
        return BuiltQuery(every, [])
    positive = parsed.positive_groups
    if mode == "relaxed":
        plain = parsed.relaxable_groups
    else:
        plain = [g for g in positive if len(g) == 1 and g[0].is_plain_word]
    or_words = mode in ("any", "relaxed")
    required = [g for g in positive if g not in plain] if or_words else positive
    parts = [_group_query(g, reader, params) for g in required]
    words: list[wq.Query] = []
    if or_words and plain:
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
    word_queries = list(zip((_clause_text(g[0]) for g in plain), words)) if mode == "relaxed" else []
    return BuiltQuery(match, parsed.plain_words, word_queries, len(required))


# -- explain: one hit's score broken down -----------------------------------------------


def _word_explain(cache: PostingsCache, lengths, params: RankingParams, q: FieldsTerm, doc: int) -> dict:
    """One word's BM25F part: per field tf, length, norm and x; then idf and f(x)."""
    s = cache.searcher
    fields, x = {}, 0.0
    for t in q.subqueries:
        p = cache.get(t.fieldname, t.text)
        i = bisect_left(p.ids, doc)
        if i >= len(p.ids) or p.ids[i] != doc:
            continue
        b, scale = field_b_scale(s.schema[t.fieldname], t.fieldname, params)
        col = (lengths or {}).get(t.fieldname)
        length = col[doc] if col is not None else s.doc_field_length(doc, t.fieldname, 1)
        avg = s.avg_field_length(t.fieldname) or 1
        norm = (1 - b) + b * length / avg
        part = p.weights[i] * scale / norm
        fields[t.fieldname] = {"tf": round(p.weights[i] * scale / (params.title_weight if t.fieldname == "title"
                                                                    else 1.0), 4),
                               "weight": params.title_weight if t.fieldname == "title" else 1.0,
                               "length": length, "avg_length": round(avg, 2), "b": b,
                               "length_norm": round(norm, 4), "x": round(part, 4)}
        x += part
    idf = _idf_top(s, q.subqueries[0].fieldname, q.text, params.k1) / (params.k1 + 1)
    score = idf * (params.k1 + 1) * x / (x + params.k1) if x else 0.0
    return {"term": q.text, "idf": round(idf, 4), "fields": fields, "x": round(x, 4), "score": round(score, 4)}


def _leaves(q: wq.Query) -> list[wq.Query]:
    """The scoring parts of a built query: its words and other clauses, exclusions left out."""
    if isinstance(q, wq.AndNot):
        return _leaves(q.a)
    if isinstance(q, (wq.And, wq.Or)) and not isinstance(q, FieldsTerm) and any(
            isinstance(sub, FieldsTerm) or isinstance(sub, (wq.And, wq.Or, wq.AndNot)) for sub in q.subqueries):
        return [leaf for sub in q.subqueries for leaf in _leaves(sub)]
    return [q]


def _clause_score(cache: PostingsCache, lengths, params: RankingParams, q: wq.Query, doc: int) -> float:
    try:
        return _scores(q, cache, lengths or {}, params, {doc}).get(doc, 0.0)
    except _Unsupported:
        found = cache.searcher.search(q, limit=1, filter={doc}).top_n
        return found[0][0] if found else 0.0


def explain(cache: PostingsCache, built: BuiltQuery, doc: int, params: RankingParams, lengths=None,
            relaxed: Relaxation | None = None, proximity_share: float | None = None) -> dict:
    """Why a hit scored what it did: each word's BM25F part per field, the other clauses,
    the relaxation (coordination) and the proximity boost, in the order they apply."""
    words, clauses, total = [], [], 0.0
    for leaf in _leaves(built.match):
        if isinstance(leaf, FieldsTerm):
            w = _word_explain(cache, lengths, params, leaf, doc)
            if w["fields"]:
                words.append(w)
                total += w["score"]
        else:
            sc = _clause_score(cache, lengths, params, leaf, doc)
            if sc:
                clauses.append({"clause": str(leaf), "score": round(sc, 4)})
                total += sc
    coord = 1.0
    if relaxed is not None and doc not in relaxed.all_words and params.coord and relaxed.words:
        coord = (relaxed.counts.get(doc, 0) / len(relaxed.words)) ** params.coord
    share = proximity_share or 0.0
    return {
        "words": words,
        "clauses": clauses,
        "bm25f": round(total, 4),
        "relaxation": {
            "all_words": relaxed is None or doc in relaxed.all_words,
            "ranked_first": relaxed is None or relaxed.first is None or doc in relaxed.first,
            "coord_factor": round(coord, 4),
        },
        "proximity": {"share": round(share, 4), "slop": params.prox_slop, "boost": params.prox_boost,
                      "factor": round(1 + params.prox_boost * share, 4), "applied": proximity_share is not None},
        "score": round(total * coord * (1 + params.prox_boost * share), 4),
    }
