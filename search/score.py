"""BM25F on arrays, the one implementation: a whole candidate array scored at once.

For each query word, its title and body frequencies are length-normalised per field,
added (a title occurrence counts ``title_weight`` body occurrences) and then saturated,
with one idf per word (the formula and parameters are ``search.ranking``'s):

    x     = title_weight * tf_title / norm_title + tf_body / norm_body
    norm  = (1 - b_field) + b_field * len_field / avg_len_field
    score = idf * (k1 + 1) * x / (x + k1)

idf = log(1 + (N + m - n + 0.5) / (n + 0.5)) (Lucene's over N articles and m pseudo-
articles without the word, which steadies a small folder's counts; ``search.ranking.bm25_idf``),
n the larger of the word's title and body document frequencies.

A document's score is the sum over the query's positive text clauses it matches: a
word (both fields, or the one named); a phrase, in each field where it occurs, the sum
of its words' scores in that field (as Whoosh scores a phrase); each term of a prefix's
expansion, one field at a time. source:/tag: filters select and do not score. Partial
matches of a relaxed query are scaled by their coordination factor (``search.relax``);
a verbose query adds its feedback terms' BM25F (``search.feedback``); then the top
candidates are re-ranked by proximity, on positions read for them alone.
"""

from __future__ import annotations

import numpy as np

from search.feedback import Expansion, expansion
from search.match import Matches, clause_fields, contains, expanded_terms, phrase_docs, term_text, word_terms
from search.query import Clause
from search.ranking import RankingParams, bm25_idf
from search.view import IndexView

RERANK_DEPTH = 100


def idf(view: IndexView, text: str, params: RankingParams) -> float:
    """One idf per word: its document frequency is the larger of the title's and body's."""
    df = max(view.doc_frequency(f, text) for f in ("title", "body"))
    return bm25_idf(view.doc_count_all, df, params.idf_m)


def field_x(view: IndexView, fieldname: str, text: str, cand: np.ndarray, params: RankingParams) -> np.ndarray:
    """x (length-normalised, weighted frequency) of a term in one field, per candidate."""
    out = np.zeros(len(cand), dtype=np.float64)
    p = view.postings(fieldname, text)
    if not len(p) or not len(cand):
        return out
    i = np.searchsorted(cand, p.ids)
    i[i == len(cand)] = 0
    hit = cand[i] == p.ids
    if not hit.any():
        return out
    docs, w = p.ids[hit], p.weights[hit].astype(np.float64)
    b = params.title_b if fieldname == "title" else params.body_b
    scale = 1.0 / (getattr(view.schema[fieldname].format, "field_boost", 1.0) or 1.0)
    if fieldname == "title":
        scale *= params.title_weight
    lengths = view.columns.lengths[fieldname][docs]
    norm = (1 - b) + b * lengths / view.avg_field_length(fieldname)
    out[i[hit]] = w * scale / norm
    return out


def saturate(x: np.ndarray, top: float, k1: float) -> np.ndarray:
    return top * x / (x + k1)


def word_score(view: IndexView, text: str, fields: tuple[str, ...], cand: np.ndarray,
               params: RankingParams) -> np.ndarray:
    """BM25F of one term over the given fields (parts added before saturation)."""
    x = sum(field_x(view, f, text, cand, params) for f in fields)
    return saturate(x, idf(view, text, params) * (params.k1 + 1), params.k1)


def clause_score(view: IndexView, clause: Clause, cand: np.ndarray, params: RankingParams) -> np.ndarray:
    """One positive text clause's score per candidate (0 where it does not match)."""
    fields = clause_fields(clause)
    if clause.kind == "word":
        return sum(word_score(view, t, fields, cand, params) for t in word_terms(clause))
    if clause.kind == "phrase":
        total = np.zeros(len(cand), dtype=np.float64)
        for f in fields:
            stems = [term_text(w) for w in clause.words]
            inside = contains(phrase_docs(view, f, stems), cand)
            if inside.any():
                total += inside * sum(word_score(view, t, (f,), cand, params) for t in stems)
        return total
    total = np.zeros(len(cand), dtype=np.float64)
    for f in fields:  # prefix or fuzzy: each expanded term in each field on its own
        for t in expanded_terms(view, f, clause):
            total += word_score(view, t, (f,), cand, params)
    return total


def bm25f(view: IndexView, m: Matches, cand: np.ndarray, params: RankingParams) -> np.ndarray:
    """Scores of the candidates (a sorted subset of m.docs)."""
    total = np.zeros(len(cand), dtype=np.float64)
    for c in m.scored:
        total += clause_score(view, c, cand, params)
    return total


def query_terms(m: Matches) -> set[str]:
    """The index terms of the query's scored clauses (what feedback must not add again)."""
    terms: set[str] = set()
    for c in m.scored:
        terms.update(word_terms(c) if c.kind == "word" else (term_text(w) for w in c.words))
    return terms


def expansion_scores(view: IndexView, exp: Expansion, cand: np.ndarray, params: RankingParams) -> np.ndarray:
    """What the feedback terms add per candidate: scale * sum of weight * BM25F."""
    total = np.zeros(len(cand), dtype=np.float64)
    for t, w in exp.terms:
        total += w * word_score(view, t, ("title", "body"), cand, params)
    return exp.scale * total


def top_k(scores: np.ndarray, cand: np.ndarray, k: int, tie: np.ndarray, first: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k best candidates, best first: the first tier (mask ``first``) before
    the rest, then by score, equal scores by tie[cand] ascending."""
    if not len(cand):
        return np.zeros(0, dtype=np.int64)
    tier = np.zeros(len(cand), dtype=np.int8) if first is None else (~first).astype(np.int8)
    if len(cand) > k:
        key = scores - tier * (scores.max() - scores.min() + 1.0)  # tier 1 below all of tier 0
        part = np.argpartition(-key, k - 1)[:k]
        sel = np.flatnonzero(key >= key[part].min())  # every tie at the edge
    else:
        sel = np.arange(len(cand))
    order = np.lexsort((tie[cand[sel]], -np.round(scores[sel], 9), tier[sel]))
    return sel[order[:k]]


def near_docs(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], slop: int,
              ordered: bool) -> np.ndarray:
    """Docs where some occurrence of b follows (or, unordered, neighbours) one of a within
    slop positions, never at the same position; a and b are (doc, position) arrays."""
    if not len(a[0]) or not len(b[0]):
        return np.zeros(0, dtype=np.int64)
    ka = (a[0] << 32) | a[1]
    kb = (b[0] << 32) | b[1]  # sorted: docs ascending, positions ascending within a doc
    hi = np.searchsorted(kb, ka + slop, "right")
    if ordered:
        found = hi - np.searchsorted(kb, ka, "right")
    else:
        same = np.searchsorted(kb, ka, "right") - np.searchsorted(kb, ka, "left")
        found = hi - np.searchsorted(kb, ka - slop, "left") - same
    return np.unique(a[0][found > 0])


def proximity(view: IndexView, docs: list[int], words: list[str], params: RankingParams) -> dict[int, float]:
    """Share (0-1) of adjacent query-word pairs found within prox_slop of each other, per document."""
    stems = [term_text(w) for w in words]
    pairs = [(a, b) for a, b in zip(stems, stems[1:]) if a != b]
    if not pairs or params.prox_boost <= 0 or not docs:
        return {}
    order = np.array(sorted(docs), dtype=np.int64)
    occ = {t: view.occurrences("body", t, order) for t in set(stems)}
    found = np.concatenate([near_docs(occ[a], occ[b], params.prox_slop, params.prox_ordered) for a, b in pairs])
    if not len(found):
        return {}
    docs_, counts = np.unique(found, return_counts=True)
    return {d: c / len(pairs) for d, c in zip(docs_.tolist(), counts.tolist())}


def shares_of(view: IndexView, docs: list[int], words: list[str], params: RankingParams,
              known: dict[int, float]) -> dict[int, float]:
    """Proximity shares of ``docs``, computed once per document (``known`` keeps them: the
    feedback's first pass and the final order re-rank overlapping heads)."""
    todo = [d for d in docs if d not in known]
    if todo:
        found = proximity(view, todo, words, params) if words else {}
        known.update({d: found.get(d, 0.0) for d in todo})
    return known


def ordered(view: IndexView, m: Matches, cand: np.ndarray, scores: np.ndarray, need: int, params: RankingParams,
            tie: np.ndarray, first: np.ndarray | None, known: dict[int, float]) -> list[tuple[int, float]]:
    """The best ``need`` (doc, score) by score, the head re-ranked by proximity."""
    best = top_k(scores, cand, max(need, RERANK_DEPTH), tie, first)
    docs = cand[best].tolist()
    # Only the fixed head is re-ranked, whatever ``need`` is: a head that grew with the
    # page asked for gave each page its own order (a hit repeated or skipped between
    # pages). The boost never lowers a score, so the head stays ahead of the rest.
    bonus = shares_of(view, docs[:RERANK_DEPTH], m.words, params, known)
    boost = np.fromiter((bonus.get(d, 0.0) for d in docs), dtype=np.float64, count=len(docs))
    final = (scores[best] * (1.0 + params.prox_boost * boost)).tolist()
    later = np.zeros(len(docs), dtype=bool) if first is None else ~first[best]
    # Python's round (correctly rounded), as ties were always compared
    order = np.lexsort((tie[cand[best]], -np.array([round(x, 9) for x in final]), later))[:need]
    return [(docs[i], final[i]) for i in order.tolist()]


def rank(view: IndexView, m: Matches, cand: np.ndarray, need: int, params: RankingParams, tie: np.ndarray,
         relaxed=None, shares: dict[int, float] | None = None,
         expanded: list[Expansion] | None = None) -> list[tuple[int, float]]:
    """The best ``need`` candidates as (doc, score): BM25F (times the coordination factor of
    a partial match), plus a verbose query's feedback terms (``search.feedback``, from the
    first pass's top ``prf_docs``), then the proximity re-rank of the first RERANK_DEPTH;
    all-words matches first when ``relaxed`` says so, equal scores in id order (tie: rank
    by id). ``shares`` (if given) receives each re-ranked document's proximity share,
    ``expanded`` the expansion used (if any)."""
    scores = bm25f(view, m, cand, params)
    first = None
    if relaxed is not None:
        scores = scores * relaxed.coord(cand, params)
        first = relaxed.in_first(cand) if relaxed.first is not None else None
    known: dict[int, float] = {}
    if params.prf_docs > 0 and len(m.words) >= params.prf_min_words and len(cand) > 1:
        top = ordered(view, m, cand, scores, params.prf_docs, params, tie, first, known)
        exp = expansion(view, [d for d, _ in top], np.array([s for _, s in top]), query_terms(m),
                        params.prf_terms, params.prf_weight)
        if exp is not None:
            scores = scores + expansion_scores(view, exp, cand, params)
            if expanded is not None:
                expanded.append(exp)
    result = ordered(view, m, cand, scores, need, params, tie, first, known)
    if shares is not None:
        head = cand[top_k(scores, cand, RERANK_DEPTH, tie, first)].tolist()
        shares.update({d: known.get(d, 0.0) for d in head})
    return result


# -- explain: one hit's score broken down -----------------------------------------------


def _word_explain(view: IndexView, word: str, doc: int, params: RankingParams) -> dict:
    """One word's BM25F part: per field tf, length, norm and x; then idf and f(x)."""
    return _term_explain(view, term_text(word), doc, params)


def _term_explain(view: IndexView, t: str, doc: int, params: RankingParams) -> dict:
    """One index term's BM25F part in one document."""
    d = np.array([doc], dtype=np.int64)
    fields, x = {}, 0.0
    for f in ("title", "body"):
        part = float(field_x(view, f, t, d, params)[0])
        if not part:
            continue
        weight = params.title_weight if f == "title" else 1.0
        b = params.title_b if f == "title" else params.body_b
        avg = view.avg_field_length(f)
        length = float(view.columns.lengths[f][doc])
        norm = (1 - b) + b * length / avg
        fields[f] = {"tf": round(part * norm / weight, 4), "weight": weight, "length": int(length),
                     "avg_length": round(avg, 2), "b": b, "length_norm": round(norm, 4), "x": round(part, 4)}
        x += part
    i = idf(view, t, params)
    score = i * (params.k1 + 1) * x / (x + params.k1) if x else 0.0
    return {"term": t, "idf": round(i, 4), "fields": fields, "x": round(x, 4), "score": round(score, 4)}


def _clause_label(clause) -> str:
    """A clause in Whoosh's query notation (stems, fields spelled out)."""
    fields = clause_fields(clause)
    if clause.kind == "phrase":
        parts = [f'{f}:"{" ".join(term_text(w) for w in clause.words)}"' for f in fields]
    elif clause.kind == "prefix":
        parts = [f"{f}:{clause.words[0]}*" for f in fields]
    elif clause.kind == "fuzzy":
        parts = [f"{f}:{term_text(clause.words[0])}~{clause.distance}" for f in fields]
    else:
        parts = [f"{f}:{term_text(clause.words[0])}" for f in fields]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def _expansion_explain(view: IndexView, exp: Expansion | None, doc: int, params: RankingParams) -> dict | None:
    """What each feedback term added to one hit: scale * weight * its BM25F there."""
    if exp is None:
        return None
    terms, total = [], 0.0
    for t, w in exp.terms:
        part = _term_explain(view, t, doc, params)
        if part["fields"]:
            part["weight"] = round(w, 4)
            part["added"] = round(exp.scale * w * part["score"], 4)
            terms.append(part)
            total += exp.scale * w * part["score"]
    return {"from_docs": len(exp.docs), "scale": round(exp.scale, 4), "terms": terms,
            "all_terms": [t for t, _w in exp.terms], "score": round(total, 4)}


def explain(view: IndexView, m: Matches, doc: int, params: RankingParams, relaxed=None,
            share: float | None = None, fed: Expansion | None = None) -> dict:
    """Why a hit scored what it did: each word's BM25F part per field, the other clauses,
    the relaxation (coordination), the feedback terms and the proximity boost, in the order
    they apply."""
    d = np.array([doc], dtype=np.int64)
    words, clauses, total = [], [], 0.0
    for c in m.scored:
        if c.kind == "word" and c.field is None:
            w = _word_explain(view, c.words[0], doc, params)
            if w["fields"]:
                words.append(w)
                total += w["score"]
        else:
            sc = float(clause_score(view, c, d, params)[0])
            if sc:
                clauses.append({"clause": _clause_label(c), "score": round(sc, 4)})
                total += sc
    coord = float(relaxed.coord(d, params)[0]) if relaxed is not None else 1.0
    has_all = relaxed is None or relaxed.has_all(doc)
    ranked_first = relaxed is None or relaxed.first is None or bool(relaxed.in_first(d)[0])
    s = share or 0.0
    fed_part = _expansion_explain(view, fed, doc, params)
    added = fed_part["score"] if fed_part else 0.0
    return {
        "words": words,
        "clauses": clauses,
        "bm25f": round(total, 4),
        "relaxation": {"all_words": has_all, "ranked_first": ranked_first, "coord_factor": round(coord, 4)},
        "expansion": fed_part,
        "proximity": {"share": round(s, 4), "slop": params.prox_slop, "boost": params.prox_boost,
                      "factor": round(1 + params.prox_boost * s, 4), "applied": share is not None},
        "score": round((total * coord + added) * (1 + params.prox_boost * s), 4),
    }
