"""A SearchRequest as Solr parameters: our grammar written as Lucene syntax, the
minimum-should-match relaxation as edismax ``mm``, filters as ``fq``, the sort.

The relaxation follows the Whoosh backend's rule (``search.relax``): the relaxable words
are optional clauses of which a match needs ``min_words``; every other clause stays
required (``+``); all-words matches rank first for short queries, by a sort on whether
the all-words query matches (``if(exists(query($aw)),0,1) asc``) before the score. A
request with ``all_words`` (library only) requires every word, as ``match(..., "all")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from common.schema import KIND_ARTICLE, TITLE_BOOST
from search.query import Clause, ParsedQuery
from search.ranking import DEFAULT, RankingParams
from search.relax import all_first, min_words, relaxes
from search.match import clause_text
from search.request import SearchRequest

_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/&|\s])')
SORTS = {"relevance": "score desc,id asc", "newest": "date_start desc,id asc", "oldest": "date_start asc,id asc"}
TIER_SORT = "if(exists(query($aw)),0,1) asc"  # all-words matches first (param aw)


def escape_term(word: str) -> str:
    """A word as one Lucene term (every query-syntax character escaped)."""
    return _SPECIAL.sub(r"\\\1", word)


def quote(text: str) -> str:
    """Text as a Lucene phrase or exact value in double quotes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def clause_query(c: Clause) -> str:
    """One clause over its field(s): title boosted like the Whoosh schema's field_boost."""
    if c.kind == "filter":
        return f"{'source_key' if c.field == 'source' else 'tag_keys'}:{quote(c.words[0])}"
    if c.kind == "phrase":
        term = quote(" ".join(c.words))
    elif c.kind == "prefix":
        term = escape_term(c.words[0]) + "*"
    elif c.kind == "fuzzy":
        term = f"{escape_term(c.words[0])}~{c.distance}"
    else:
        term = escape_term(c.words[0])
    fields = (c.field,) if c.field else ("title", "body")
    parts = [f"{f}:{term}^{TITLE_BOOST:g}" if f == "title" else f"{f}:{term}" for f in fields]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def group_query(group: tuple[Clause, ...]) -> str:
    """A group's clauses ORed."""
    inner = " OR ".join(clause_query(c) for c in group)
    return f"({inner})" if len(group) > 1 else inner


def lucene_query(parsed: ParsedQuery, mode: str = "all") -> str:
    """The parsed query as Lucene syntax: groups ANDed ("all") or ORed ("any"), -exclusions kept."""
    if parsed.is_empty or not parsed.groups:
        return "*:*"
    out, positive = [], False
    for group in parsed.groups:
        if group[0].negated:
            out.append(f"-{group_query(group)}")
        else:
            positive = True
            out.append(f"+{group_query(group)}" if mode == "all" else group_query(group))
    if not positive:
        out.insert(0, "*:*")
    return " ".join(out)


def has_all_words(clause: Clause) -> str:
    """Every word of a relaxable clause, each in title or body (as search.relax.has_word
    checks an unquoted token such as "U.N" word by word)."""
    return " ".join("+" + clause_query(Clause("word", (w,))) for w in clause.words)


@dataclass(frozen=True)
class QueryPlan:
    """How Solr reads one parsed query: the main query (edismax with ``mm`` when relaxed)
    and what the response needs to say about the relaxation."""

    q: str
    words: list[str] = field(default_factory=list)  # the relaxed words, as written
    word_queries: list[str] = field(default_factory=list)  # one "has this word" query each
    need: int = 0  # edismax mm: the least number of them a match has
    all_q: str | None = None  # every relaxed word (the first tier, the all-words count)
    tier: bool = False  # all-words matches sort first

    @property
    def relaxed(self) -> bool:
        return bool(self.words)


def plan(parsed: ParsedQuery, all_words: bool = False, params: RankingParams = DEFAULT) -> QueryPlan:
    """The query plan of the Whoosh backend's rule (search.relax) for this query."""
    plain = [] if all_words else parsed.relaxable_groups
    required = [g for g in parsed.positive_groups if g not in plain]
    if parsed.is_empty or not relaxes(len(plain), len(required)):
        return QueryPlan(lucene_query(parsed, "all"))
    parts = [f"+{group_query(g)}" for g in required] + [group_query(g) for g in plain]
    parts += [f"-{group_query(g)}" for g in parsed.groups if g[0].negated]
    return QueryPlan(
        q=" ".join(parts),
        words=[clause_text(g[0]) for g in plain],
        word_queries=[has_all_words(g[0]) for g in plain],
        need=min_words(len(plain), params),
        all_q=" ".join(f"+{group_query(g)}" for g in plain),
        tier=all_first(len(plain), params),
    )


def query_params(p: QueryPlan, sort: str) -> list[tuple[str, str]]:
    """q, the parser (edismax with mm when relaxed), the sort (tier first) and the
    all-words count (a facet.query: every match, not just the page, before story clusters
    are collapsed, as the Whoosh backend counts it)."""
    if not p.relaxed:
        return [("q", p.q), ("defType", "lucene"), ("q.op", "OR"), ("sort", SORTS[sort])]
    order = f"{TIER_SORT},{SORTS[sort]}" if p.tier and sort == "relevance" else SORTS[sort]
    out = [("q", p.q), ("defType", "edismax"), ("qf", f"title^{TITLE_BOOST:g} body"), ("mm", str(p.need)),
           ("aw", p.all_q or ""), ("sort", order), ("facet.query", "{!key=all_words ex=collapse v=$aw}")]
    for i, wq in enumerate(p.word_queries):
        out.append((f"w{i}", wq))
    return out


def word_fields(p: QueryPlan) -> str:
    """fl pseudo-fields saying which relaxed words each hit has (w0, w1, ...)."""
    return ",".join(f"w{i}:exists(query($w{i}))" for i in range(len(p.word_queries)))


def filter_queries(req: SearchRequest) -> list[str]:
    """fq parameters: articles only, source and tag values, date overlap (tagged dt), ids."""
    fqs = [f"kind:{KIND_ARTICLE}"]
    if req.source:
        fqs.append("source_key:(" + " OR ".join(quote(v.strip().lower()) for v in req.source) + ")")
    if req.tag:
        fqs.append("tag_keys:(" + " OR ".join(quote(v.strip().lower()) for v in req.tag) + ")")
    if req.has_date_filter:
        lo = _solr_time(req.date_from.start) if req.date_from else "*"
        hi = _solr_time(req.date_to.end) if req.date_to else "*"
        fqs.append(f"{{!tag=dt}}date_start:[* TO {hi}] AND date_end:[{lo} TO *]")
    if req.ids is not None:
        fqs.append(ids_filter(req.ids))
    return fqs


def edit_filters(req: SearchRequest) -> list[str]:
    """fq parameters of the version filters (fields the Solr sink keeps: indexer/solr_edits.py)."""
    return [f"{name}:true" for name in ("changed", "headline_changed") if getattr(req, name)]


def ids_filter(ids: frozenset[str]) -> str:
    """Only these article ids (none: nothing). The terms parser has no clause limit (a run
    may add thousands); an id holding its separator (a comma) names no article of ours."""
    listed = sorted(i for i in ids if "," not in i)
    return "{!terms f=id}" + ",".join(listed) if listed else "-*:*"


def _solr_time(dt) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
