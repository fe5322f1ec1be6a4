"""The one analyzer used for indexing and querying: NLTK tokens inside a Whoosh chain.

Why not Whoosh's own analyzer: the product promises NLTK tokenization and Snowball
stems; what matters is that index and query share this chain, so a stem that NLTK and
Whoosh's Porter would disagree on can never split a query from its documents.

The classes are importable and hold no closures or caches as attributes, because Whoosh
pickles the schema (analyzer included) into the index.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer
from whoosh.analysis import Filter, Token, Tokenizer

# Order matters: the first alternative that matches wins at each position.
TOKEN_PATTERN = r"""
    (?:[^\W\d_]\.){2,}                  # acronyms with dots: U.S., U.K.
  | \d+(?:[.,]\d+)+                     # numbers with separators: 1.5, 13,000
  | \w+(?:[-'’]\w+)*(?:\+\+|\#)?        # words, hyphenated words, Face++, C#
"""

_tokenizer = RegexpTokenizer(TOKEN_PATTERN, flags=re.UNICODE | re.VERBOSE)
_stemmer = SnowballStemmer("english")

STOPWORDS: frozenset[str] = frozenset(
    line.strip()
    for line in (Path(__file__).with_name("stopwords.txt")).read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)


def normalize(word: str) -> str:
    """Lowercase a raw token and drop a possessive, so Megvii’s and Megvii meet."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return word.strip("'")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball stem for plain alphabetic words; symbols and digits are kept verbatim.

    Cached because stemming dominates analysis time (measured: about 2x faster).
    """
    if word.isalpha():
        return _stemmer.stem(word)
    return word


def is_stopword(word: str) -> bool:
    """True for words the query side drops unless the query has nothing else."""
    return word in STOPWORDS


class NltkTokenizer(Tokenizer):
    """Whoosh tokenizer over NLTK's RegexpTokenizer.span_tokenize, filling positions and offsets."""

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
        for start, end in _tokenizer.span_tokenize(value):
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
    """

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        memo = _TERMS
        for t in tokens:
            raw = t.text
            term = memo.get(raw)
            if term is None:
                term = _term(raw)
                if len(memo) < _MEMO_MAX:
                    memo[raw] = term
            if not term:
                continue
            t.text = term
            yield t
            if "-" in term and t.mode != "query":
                yield from _hyphen_parts(t, term)


# Raw token -> index term. Analysis is dominated by normalising and stemming the same
# few thousand words again and again; a plain dict (module-level, so never pickled
# with the schema) makes that a lookup.
_TERMS: dict[str, str] = {}
_MEMO_MAX = 500_000


def _term(raw: str) -> str:
    word = normalize(raw)
    return word if "-" in word else stem(word)


def _hyphen_parts(t: Token, whole: str) -> Iterator[Token]:
    """The stemmed parts of a hyphenated word, at the word's position, with their offsets."""
    start = getattr(t, "startchar", None)
    offset = 0
    for part in whole.split("-"):
        if not part:
            offset += 1
            continue
        idx = whole.find(part, offset)
        offset = idx + len(part)
        t.text = stem(part)
        if start is not None:
            t.startchar = start + idx
            t.endchar = start + idx + len(part)
        yield t


def news_analyzer():
    """The analyzer for title and body: NLTK tokens, normalized and Snowball-stemmed.

    Stopwords stay in the index so that phrases and all-stopword queries ("the who")
    still match; the query side drops them when other words are present.
    """
    return NltkTokenizer() | NewsFilter()


def query_words(text: str) -> list[str]:
    """The normalized (unstemmed) words of free text, as the query side sees them."""
    return [w for w in (normalize(m) for m in _tokenizer.tokenize(text)) if w]
