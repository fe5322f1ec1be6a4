"""Solr's score explanation (``debug=results``, structured) in the per-hit ``explain`` shape
of the Whoosh backend (``search.score.explain``): words with their per-field parts, other
clauses (phrases, prefixes), the relaxation, the proximity step, the score.

Lucene scores each field on its own (BM25, ``boost * idf * freq / (freq + k1 * norm)``,
idf from the shard's statistics) and adds the fields, where our BM25F adds the fields
before saturating: so each field part also carries its own ``idf``, ``k1`` and ``score``,
and a word's score is the sum of its field scores. ``x`` is written as ours
(weight * tf / length_norm) so the two read side by side. Solr has no proximity re-rank
and no coordination factor: those steps say so (factor 1, not applied).
"""

from __future__ import annotations

import re
from typing import Iterator

_WEIGHT = re.compile(r"^weight\((\w+):(.*) in \d+\)")
_CONSTANT = re.compile(r"^(\w+):(.+?)(?:\^[\d.]+)?$")  # a prefix's constant score: "title:econ*^2.0"


def _leaves(node: dict) -> Iterator[tuple[str, str, dict]]:
    """(field, term or clause text, node) for each scoring leaf of an explanation tree."""
    desc = node.get("description") or ""
    m = _WEIGHT.match(desc)
    if m:
        yield m.group(1), m.group(2), node
        return
    details = node.get("details") or []
    if not details:
        m = _CONSTANT.match(desc)
        if m and node.get("match", True) and float(node.get("value") or 0) > 0:
            yield m.group(1), m.group(2), node
        return
    for d in details:
        yield from _leaves(d)


def _named(details: list[dict]) -> dict[str, float]:
    """Explanation details by the name their description starts with (boost, idf, tf, freq...)."""
    return {re.split(r"[,=(]", d.get("description") or "", maxsplit=1)[0].strip(): float(d.get("value") or 0)
            for d in details}


def field_part(node: dict) -> dict:
    """One field's BM25 part from a ``weight(field:term in doc)`` node."""
    scored = (node.get("details") or [{}])[0]
    parts = _named(scored.get("details") or [])
    tf_node = next((d for d in scored.get("details") or [] if (d.get("description") or "").startswith("tf")), {})
    tf = _named(tf_node.get("details") or [])
    freq = tf.get("freq", tf.get("phraseFreq", 0.0))
    b, dl, avgdl = tf.get("b", 0.0), tf.get("dl", 0.0), tf.get("avgdl", 1.0) or 1.0
    norm = (1 - b) + b * dl / avgdl
    weight = parts.get("boost", 1.0)
    return {"tf": round(freq, 4), "weight": weight, "length": int(dl), "avg_length": round(avgdl, 2), "b": b,
            "length_norm": round(norm, 4), "x": round(weight * freq / norm, 4) if norm else 0.0,
            "idf": round(parts.get("idf", 0.0), 4), "k1": tf.get("k1", 0.0), "score": round(float(node["value"]), 4)}


def _label(text: str, fields: list[str]) -> str:
    parts = [f"{f}:{text}" for f in fields]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def explain_hit(tree: dict, missing: list[str], tiered: bool) -> dict:
    """One hit's explain from its Solr explanation tree; ``missing`` are the relaxed words it
    lacks, ``tiered`` whether all-words matches were ranked first."""
    words: dict[str, dict] = {}
    raw: dict[str, float] = {}  # unrounded sums, so the parts add up to the score
    clauses: dict[str, dict[str, float]] = {}
    for fname, text, node in _leaves(tree):
        if _WEIGHT.match(node.get("description") or "") and not text.startswith('"'):
            words.setdefault(text, {})[fname] = field_part(node)
            raw[text] = raw.get(text, 0.0) + float(node["value"])
        else:
            clauses.setdefault(text, {})[fname] = float(node["value"])
    word_list = [{"term": t, "idf": min(p["idf"] for p in f.values()), "fields": f,
                  "x": round(sum(p["x"] for p in f.values()), 4), "score": round(raw[t], 4)}
                 for t, f in words.items()]
    clause_list = [{"clause": _label(t, list(f)), "score": round(sum(f.values()), 4)} for t, f in clauses.items()]
    total = sum(raw.values()) + sum(sum(f.values()) for f in clauses.values())
    return {
        "words": word_list,
        "clauses": clause_list,
        "bm25f": round(total, 4),
        "relaxation": {"all_words": not missing, "ranked_first": not (tiered and missing), "coord_factor": 1.0,
                       "missing_words": list(missing)},
        "proximity": {"share": 0.0, "slop": 0, "boost": 0.0, "factor": 1.0, "applied": False},
        "score": round(float(tree.get("value") or 0), 4),
    }
