"""The one analyzer used for indexing and querying: NLTK tokens inside a Whoosh chain.

Why not Whoosh's own analyzer: the product promises NLTK tokenization and Snowball
stems; what matters is that index and query share this chain, so a stem that NLTK and
Whoosh's Porter would disagree on can never split a query from its documents.

The classes are importable and hold no closures or caches as attributes, because Whoosh
pickles the schema (analyzer included) into the index.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from collections import Counter
from itertools import chain
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from pickle import dumps

from whoosh.analysis import Filter, Token, Tokenizer
from whoosh.system import pack_uint

# Order matters: the first alternative that matches wins at each position.
TOKEN_PATTERN = r"""
    (?:[^\W\d_]\.){2,}                  # acronyms with dots: U.S., U.K.
  | \d+(?:[.,]\d+)+                     # numbers with separators: 1.5, 13,000
  | \w+(?:[-'’]\w+)*(?:\+\+|\#)?        # words, hyphenated words, Face++, C#
"""



@lru_cache(maxsize=1)
def nltk_tokenizer():
    """NLTK's RegexpTokenizer over TOKEN_PATTERN: the tokenizer this analysis is.
    ``span_tokenize`` and ``query_tokens`` run its pattern in its regex engine directly
    (NLTK wraps every match in a wall-clock guard that cost more than the matching);
    tests hold their output equal to this tokenizer's on real text."""
    from nltk.tokenize import RegexpTokenizer

    return RegexpTokenizer(TOKEN_PATTERN, flags=re.UNICODE | re.VERBOSE)


@lru_cache(maxsize=1)
def _stemmer():
    """NLTK's Snowball stemmer, made on first use: importing NLTK takes a quarter second,
    and opening an index (which unpickles this module's classes) must stay fast for a
    cron run with nothing to do."""
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


def warm_up() -> None:
    """Load NLTK and run the analyzer once. A server calls this before it accepts
    connections (and before it forks): otherwise the first search after a start paid
    for the import, 1.4-1.9 s on the seeds instead of ~15 ms."""
    index_postings("Warming up the analysis: Müller's re-education, 10 June 2019.")
    query_words("warming up")


# Texts are tokenized in pieces of this many characters (ending at white space): each
# piece is one regex call, and a multi-megabyte text in one call once outlived NLTK's
# wall-clock bound on a busy machine.
TOKENIZE_PIECE = 65536
_SPACE = re.compile(r"\s")


def span_tokenize(text: str) -> Iterator[tuple[int, int]]:
    """NLTK's token spans (start, end) over ``text``, tokenized in bounded pieces.

    The same pattern, flags and regex engine as NLTK's RegexpTokenizer.span_tokenize
    (a test compares them on real text), called directly: NLTK wraps each match in a
    generator that re-checks a wall-clock timeout, a sixth of a worker's time. Our
    pattern is linear, and the indexer bounds each file's time itself (SIGALRM).
    Pieces end at white space, which no token contains, so the spans are the same as
    those of one call over the whole text.
    """
    finditer = _token_regexp().finditer
    start, n = 0, len(text)
    while start < n:
        end = min(start + TOKENIZE_PIECE, n)
        if end < n:
            space = _SPACE.search(text, end, end + 1024)
            end = space.end() if space else end
        for match in finditer(text[start:end]):
            left, right = match.span()
            yield start + left, start + right
        start = end

STOPWORDS: frozenset[str] = frozenset(
    line.strip()
    for line in (Path(__file__).with_name("stopwords.txt")).read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)


# Bump when the terms a text analyses to change: an index whose pickled NewsFilter has
# another version no longer matches the schema, and the next indexer run rebuilds it.
# 1: the first analysis (no attribute); 2: accents folded.
ANALYSIS_VERSION = 2

# Combining diacritical marks (the blocks Latin, Greek and Cyrillic letters decompose
# into). Other scripts' marks stay: a Japanese voicing mark changes the word.
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters NFKD leaves whole, folded as Lucene's ASCIIFoldingFilter folds them (lowercase:
# fold runs after lower()).
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d",
                          "þ": "th", "ı": "i", "ŀ": "l", "ħ": "h", "ŧ": "t"})


def fold(word: str) -> str:
    """A lowercase word without accents ("müller" -> "muller", "straße" -> "strasse").

    Names in the news are written both ways; folding at analysis, on both sides, lets
    either spelling find the other. NFKD also maps compatibility forms (ligatures,
    full-width letters); NFC then recomposes what other scripts decomposed (Hangul).
    """
    if word.isascii():
        return word
    bare = _ACCENTS.sub("", unicodedata.normalize("NFKD", word)).translate(_LETTERS)
    return unicodedata.normalize("NFC", bare)


def normalize(word: str) -> str:
    """Lowercase and fold a raw token and drop a possessive, so Megvii’s and Megvii meet."""
    word = fold(word.lower().replace("’", "'"))
    if word.endswith("'s"):
        word = word[:-2]
    return word.strip("'")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball stem for plain alphabetic words; symbols and digits are kept verbatim.

    Cached because stemming dominates analysis time (measured: about 2x faster).
    """
    if word.isalpha():
        return _stemmer().stem(word)
    return word


def is_stopword(word: str) -> bool:
    """True for words the query side drops unless the query has nothing else."""
    return word in STOPWORDS


class NltkTokenizer(Tokenizer):
    """Whoosh tokenizer over NLTK's tokenizer (``span_tokenize``), filling positions and offsets."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        pos = start_pos
        for start, end in span_tokenize(value):
            t.text = value[start:end]
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = t.text
            if positions:
                t.pos = pos
                pos += 1
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class NewsFilter(Filter):
    """Normalize, stem, and (when indexing) also emit the parts of hyphenated words.

    Indexing "re-education" yields "re-education", "re" and "educ" at one position, so
    both "re-education" and "education" find it; a query only yields the whole word, so
    the phrase structure of a query is never changed by the parts.

    ``version`` is pickled with the schema: an index analysed by another version is
    not equal to this code's schema (common.schema.schema_matches), so it is rebuilt.
    """

    def __init__(self) -> None:
        self.version = ANALYSIS_VERSION

    def __eq__(self, other: object) -> bool:
        # vars(): a filter pickled before versions existed has no attribute (version 1)
        return type(other) is type(self) and vars(other).get("version", 1) == vars(self).get("version", 1)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            written = t.text
            term = index_term(written)
            if not term:
                continue
            t.text = term
            yield t
            if "-" in term and t.mode != "query":
                start = getattr(t, "startchar", None)
                for part, idx, end in hyphen_parts(term, written):
                    t.text = part
                    if start is not None:
                        t.startchar, t.endchar = start + idx, start + end
                    yield t


# Raw token -> index term. Analysis is dominated by normalising and stemming the same
# few thousand words again and again; a plain dict (module-level, so never pickled
# with the schema) makes that a lookup.
_TERMS: dict[str, str] = {}
_MEMO_MAX = 500_000


def index_term(raw: str) -> str:
    """The term a raw token indexes as ("" for none), memoized."""
    term = _TERMS.get(raw)
    if term is None:
        word = normalize(raw)
        term = word if "-" in word else stem(word)
        if len(_TERMS) < _MEMO_MAX:
            _TERMS[raw] = term
    return term


def hyphen_parts(whole: str, written: str | None = None) -> Iterator[tuple[str, int, int]]:
    """(stemmed part, start, end) of each part of a hyphenated term.

    Offsets are within ``written``, the token as the text has it, when given: folding
    can make a term longer or shorter than its text ("Groß-Berlin" -> "gross-berlin"),
    and highlighting marks the text. Otherwise they are within ``whole``.
    """
    parts = whole.split("-")
    spans = parts
    if written is not None:
        if written[-2:].lower() in ("'s", "’s"):
            written = written[:-2]  # the possessive normalize() dropped
        if written.count("-") == whole.count("-"):
            spans = written.split("-")
    offset = 0
    for part, span in zip(parts, spans):
        if part:
            yield stem(part), offset, offset + len(span)
        offset += len(span) + 1


def term_spans(text: str) -> dict[str, list[tuple[int, int, int]]]:
    """Each index term of ``text`` with its (position, start, end) occurrences, in order:
    the one loop both ``index_postings`` and ``index_block`` are built on."""
    seen: dict[str, list[tuple[int, int, int]]] = {}
    for pos, (start, end) in enumerate(span_tokenize(text)):
        written = text[start:end]
        term = index_term(written)
        if not term:
            continue
        seen.setdefault(term, []).append((pos, start, end))
        if "-" in term:
            for part, idx, part_end in hyphen_parts(term, written):
                seen.setdefault(part, []).append((pos, start + idx, start + part_end))
    return seen


def term_counts(text: str) -> Counter:
    """Each index term of ``text`` with its number of occurrences: ``term_spans``' counts
    without the spans, for a caller that only counts (pseudo-relevance feedback reads
    five articles per verbose query, and the spans were most of its time)."""
    counts = Counter(term for term in map(index_term, _token_regexp().findall(text)) if term)
    for term in [t for t in counts if "-" in t]:
        for part, _start, _end in hyphen_parts(term):
            counts[part] += counts[term]
    return counts


def index_postings(text: str, field_boost: float = 1.0, encode=None) -> list[tuple[bytes, int, float, bytes]]:
    """The postings Whoosh's TEXT(chars=True) field makes from ``text`` with this analyzer.

    ``encode``: the field format's encoder of (pos, start, end) lists (default: Whoosh's
    Characters). Same terms, positions, offsets and encoding as ``TEXT.index`` over ``news_analyzer``
    (a test compares them on real text), in one loop instead of a generator per token:
    indexing spent about half its analysis time in Whoosh's token plumbing.
    """
    seen = term_spans(text)
    encode = encode or _encode_characters
    return [(word.encode("utf-8"), len(spans), len(spans) * field_boost, encode(spans)) for word, spans in seen.items()]


TERM_SEP = b"\0"  # no token holds a NUL (TOKEN_PATTERN matches word characters and . , - ' ’ + #)


def index_block(text: str) -> tuple[bytes, bytes, bytes]:
    """``text``'s postings in three flat byte strings, for the bulk writer: the terms
    (UTF-8, NUL-separated), their frequencies (uint32) and every occurrence as uint32
    (position, start, end), term by term in the same order.

    What ``index_postings`` gives as one tuple per term, packed so the writer process
    unpickles three objects and appends arrays instead of handling each posting.
    """
    seen = term_spans(text)
    terms = TERM_SEP.join(word.encode("utf-8") for word in seen)
    freqs = array("I", map(len, seen.values()))
    occurrences = array("I", chain.from_iterable(chain.from_iterable(seen.values())))
    if sys.byteorder != "little":
        freqs.byteswap()
        occurrences.byteswap()
    return terms, freqs.tobytes(), occurrences.tobytes()


def _encode_characters(spans: list[tuple[int, int, int]]) -> bytes:
    """whoosh.formats.Characters.encode: delta-coded (position, start, length), pickled."""
    deltas = []
    posbase = charbase = 0
    for pos, startchar, endchar in spans:
        deltas.append((pos - posbase, startchar - charbase, endchar - startchar))
        posbase, charbase = pos, endchar
    return pack_uint(len(deltas)) + dumps(deltas, 2)


def news_analyzer():
    """The analyzer for title and body: NLTK tokens, normalized and Snowball-stemmed.

    Stopwords stay in the index so that phrases and all-stopword queries ("the who")
    still match; the query side drops them when other words are present.
    """
    return NltkTokenizer() | NewsFilter()


def query_words(text: str) -> list[str]:
    """The normalized (unstemmed) words of free text, as the query side sees them."""
    return [w for w in (normalize(m) for m in query_tokens(text)) if w]


@lru_cache(maxsize=1)
def _token_regexp():
    import regex  # the engine NLTK's RegexpTokenizer compiles TOKEN_PATTERN with

    return regex.compile(TOKEN_PATTERN, flags=re.UNICODE | re.VERBOSE)


def query_tokens(text: str) -> list[str]:
    """NLTK's tokens of a query (at most 1,000 characters): the same pattern, flags and
    regex engine as its RegexpTokenizer, without its per-call wall-clock guard, which
    cost 15x the matching itself (about 25 us per call, several calls per query)."""
    return _token_regexp().findall(text)
