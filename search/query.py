"""The query language: plain words, "phrases", -exclusions, OR, field:value and prefix*.

Parsing yields a small typed tree (``ParsedQuery``) that is independent of Whoosh; the
matches are found by ``search.match``. Broken syntax never fails: the text
is read again as plain words and ``syntax_error`` says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from common.analysis import is_stopword, query_words
from search.request import RequestError

TEXT_FIELDS = ("title", "body")
FILTER_FIELDS = ("source", "tag")
FIELDS = TEXT_FIELDS + FILTER_FIELDS
_FIELD = re.compile(r"([A-Za-z]+):")
_BARE = re.compile(r'[^\s"]+')
MIN_PREFIX = 2
# Per query, after identical clauses are merged (each phrase and prefix costs a pass over
# the postings of its words; a deadline bounds the rest, see search.engine).
MAX_CLAUSES = 32
MAX_PHRASES = 8
MAX_PREFIXES = 8
_FUZZY = re.compile(r"(.+)~([12])")


class QuerySyntaxError(ValueError):
    """Query text the grammar cannot read; the caller falls back to plain words."""


@dataclass(frozen=True)
class Clause:
    """One unit of a query.

    kind: "word" (one word), "phrase" (words in order), "prefix" (word start),
    "fuzzy" (a word within ``distance`` edits: ``word~1``) or "filter" (exact source/tag
    value). ``field`` None means title and body.
    """

    kind: str
    words: tuple[str, ...]
    field: str | None = None
    negated: bool = False
    quoted: bool = False
    distance: int = 0

    @property
    def is_plain_word(self) -> bool:
        return self.kind == "word" and self.field is None and not self.quoted

    @property
    def is_relaxable(self) -> bool:
        """A plain word, or words joined by punctuation in one unquoted token ("U.N", "3/4"):
        a partial match may lack it. Quoted phrases, fields and prefixes stay required."""
        return self.kind in ("word", "phrase") and self.field is None and not self.quoted and not self.negated


@dataclass(frozen=True)
class ParsedQuery:
    """Groups are ANDed; the clauses inside a group are ORed."""

    text: str
    groups: tuple[tuple[Clause, ...], ...] = ()
    syntax_error: str | None = None
    dropped_stopwords: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()

    @property
    def clauses(self) -> list[Clause]:
        return [c for g in self.groups for c in g]

    @property
    def positive_groups(self) -> list[tuple[Clause, ...]]:
        return [g for g in self.groups if not g[0].negated]

    @property
    def negative_clauses(self) -> list[Clause]:
        return [c for g in self.groups for c in g if c.negated]

    @property
    def plain_words(self) -> list[str]:
        """Plain (unquoted, unfielded, single) words, in query order: did-you-mean candidates."""
        return [g[0].words[0] for g in self.positive_groups if len(g) == 1 and g[0].is_plain_word]

    @property
    def relaxable_groups(self) -> list[tuple[Clause, ...]]:
        """Positive groups of one relaxable clause, in query order."""
        return [g for g in self.positive_groups if len(g) == 1 and g[0].is_relaxable]

    @property
    def has_text_clauses(self) -> bool:
        return any(c.kind != "filter" for g in self.positive_groups for c in g)


@dataclass
class _Token:
    negated: bool
    field: str | None
    text: str
    quoted: bool


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-"
        if negated:
            i += 1
        fname = None
        m = _FIELD.match(text, i)
        if m and m.group(1).lower() in FIELDS:
            fname = m.group(1).lower()
            i = m.end()
        if i < n and text[i] == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise QuerySyntaxError("unclosed quote")
            tokens.append(_Token(negated, fname, text[i + 1 : j], True))
            i = j + 1
            continue
        m = _BARE.match(text, i)
        if not m:
            if fname:
                raise QuerySyntaxError(f"nothing after {fname}:")
            raise QuerySyntaxError("a lone -")
        tokens.append(_Token(negated, fname, m.group(), False))
        i = m.end()
    return tokens


def _clause(tok: _Token) -> Clause | None:
    if tok.field in FILTER_FIELDS:
        value = " ".join(tok.text.split()).lower()
        if not value:
            raise QuerySyntaxError(f"nothing after {tok.field}:")
        return Clause("filter", (value,), tok.field, tok.negated, tok.quoted)
    raw = tok.text
    fuzzy = _FUZZY.fullmatch(raw) if not tok.quoted else None
    if fuzzy:
        words = query_words(fuzzy.group(1))
        if len(words) == 1:
            return Clause("fuzzy", (words[0],), tok.field, tok.negated, distance=int(fuzzy.group(2)))
    if not tok.quoted and raw.endswith("*") and raw.strip("*"):
        words = query_words(raw.rstrip("*"))
        if len(words) == 1 and len(words[0]) >= MIN_PREFIX:
            return Clause("prefix", (words[0],), tok.field, tok.negated)
    words = query_words(raw)
    if not words:
        if tok.field and tok.quoted:
            raise QuerySyntaxError(f"nothing after {tok.field}:")
        return None
    kind = "word" if len(words) == 1 else "phrase"
    return Clause(kind, tuple(words), tok.field, tok.negated, tok.quoted)


def _group(tokens: list[_Token]) -> list[tuple[Clause, ...]]:
    groups: list[list[Clause]] = []
    join_next = False
    for k, tok in enumerate(tokens):
        if tok.text == "OR" and not tok.quoted and not tok.negated and tok.field is None:
            if not groups or join_next or k == len(tokens) - 1:
                raise QuerySyntaxError("OR needs a word on each side")
            join_next = True
            continue
        clause = _clause(tok)
        if clause is None:
            join_next = False
            continue
        if join_next:
            if clause.negated or groups[-1][0].negated:
                raise QuerySyntaxError("OR cannot join an excluded word")
            groups[-1].append(clause)
            join_next = False
        else:
            groups.append([clause])
    return [tuple(g) for g in groups]


def _drop_stopwords(groups: list[tuple[Clause, ...]]) -> tuple[list[tuple[Clause, ...]], tuple[str, ...]]:
    """Drop plain stopwords when anything else carries the query; keep them if nothing else."""

    def is_stop_group(g: tuple[Clause, ...]) -> bool:
        return len(g) == 1 and g[0].is_plain_word and not g[0].negated and is_stopword(g[0].words[0])

    content = [g for g in groups if not g[0].negated and not is_stop_group(g)]
    if not any(c.kind != "filter" for g in content for c in g):
        return groups, ()
    dropped = tuple(g[0].words[0] for g in groups if is_stop_group(g))
    return [g for g in groups if not is_stop_group(g)], dropped


def merge_identical(groups: list[tuple[Clause, ...]]) -> list[tuple[Clause, ...]]:
    """Each clause once per group and each group once: repeating a clause changes nothing
    but the work (110 copies of one phrase were 110 phrase searches)."""
    out: list[tuple[Clause, ...]] = []
    for g in groups:
        g = tuple(dict.fromkeys(g))
        if g not in out:
            out.append(g)
    return out


def check_size(parsed: ParsedQuery) -> None:
    """Raise RequestError (400) when a query has more clauses or phrases than we serve."""
    clauses = parsed.clauses
    phrases = sum(c.kind == "phrase" for c in clauses)
    prefixes = sum(c.kind == "prefix" for c in clauses)
    for count, limit, what in ((len(clauses), MAX_CLAUSES, "words, phrases and filters"),
                               (phrases, MAX_PHRASES, "phrases"), (prefixes, MAX_PREFIXES, "prefix* words")):
        if count > limit:
            raise RequestError("query_too_complex",
                               f"the query has {count} different {what}; at most {limit} are allowed", "q")


def plain_words_query(text: str, error: str | None = None) -> ParsedQuery:
    """Read text as plain words only (the fallback for broken syntax)."""
    groups = merge_identical([(Clause("word", (w,)),) for w in query_words(text)])
    kept, dropped = _drop_stopwords(groups)
    return ParsedQuery(text, tuple(kept), error, dropped)


def parse_query(text: str) -> ParsedQuery:
    """Parse the user's query text; never raises."""
    try:
        groups = merge_identical(_group(_lex(text)))
    except QuerySyntaxError as exc:
        return plain_words_query(text, str(exc))
    kept, dropped = _drop_stopwords(groups)
    return ParsedQuery(text, tuple(kept), None, dropped)
