"""Did-you-mean from the index's own vocabulary.

The index holds Snowball stems, not words, so a typo is corrected stem against stem
("survelance" -> stem "survel" -> nearest indexed stem "surveil"), then mapped back to
the surface word most often written for that stem, read from the stored text at the
stem's character offsets ("surveil" -> "surveillance"). No separate word list to keep
in sync: the suggestion always comes from what the index holds.
"""

from __future__ import annotations

import re
from collections import Counter

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract
from whoosh.searching import Searcher

from common.analysis import fold, is_stopword, stem
from common.lru import LruCache
from search.query import ParsedQuery

SAMPLE_DOCS = 5
# Per segment and first letter, the segment's body terms as one newline-joined string
# (segments never change; a string holds a term in a few bytes where a list of str
# objects takes ~60). Filled on the first correction that needs that letter.
_TERMS = LruCache(2048)
_WORD = re.compile(r"\w+")


def _df(searcher: Searcher, term: str) -> int:
    return searcher.doc_frequency("body", term) + searcher.doc_frequency("title", term)


def surface_form(searcher: Searcher, term: str, fieldname: str = "body") -> str | None:
    """The surface word most often written for an indexed stem (from a few documents)."""
    reader = searcher.reader()
    if (fieldname, term) not in reader:
        return None
    m = reader.postings(fieldname, term)
    seen: Counter[str] = Counter()
    n = 0
    while m.is_active() and n < SAMPLE_DOCS:
        text = searcher.stored_fields(m.id()).get(fieldname) or ""
        for _pos, s, e in m.value_as("characters"):
            word = text[s:e].lower().replace("’", "'")
            if word.endswith("'s"):
                word = word[:-2]
            if stem(fold(word)) == term:
                seen[word] += 1
        n += 1
        m.next()
    return seen.most_common(1)[0][0] if seen else None


def _terms_starting(searcher: Searcher, letter: str) -> list[list[str]]:
    """The body terms starting with ``letter``, one list per segment, read once per
    segment: Whoosh's ``terms_within`` walks the term dictionary in Python on every call
    (~50 ms a word at 20k stories, most of a long query's time)."""
    lists = []
    for reader, _offset in searcher.reader().leaf_readers():
        segment = reader.segment() if hasattr(reader, "segment") else None
        key = (segment.segment_id(), letter) if segment is not None else None
        joined = _TERMS.get(key) if key is not None else _TERMS
        if joined is _TERMS:
            terms = (t.decode("utf-8") if isinstance(t, bytes) else t
                     for t in reader.expand_prefix("body", letter))
            joined = "\n".join(terms)
            if key is not None:
                _TERMS.put(key, joined)
        if joined:
            lists.append(joined.split("\n"))
    return lists


def close_terms(searcher: Searcher, probe: str, maxdist: int) -> set[str]:
    """Indexed body terms within ``maxdist`` edits (optimal string alignment, as Whoosh's
    ``terms_within``) of ``probe``, sharing its first letter; compared in C (rapidfuzz)."""
    found: set[str] = set()
    for terms in _terms_starting(searcher, probe[0]):
        found.update(t for t, _d, _i in extract(probe, terms, scorer=OSA.distance,
                                                 score_cutoff=maxdist, limit=None))
    return found


def correct_word(searcher: Searcher, word: str) -> str | None:
    """A known word close to an unknown one, or None."""
    target = stem(word)
    maxdist = 1 if len(target) <= 4 else 2
    cands: set[str] = set()
    for probe in {target, word}:
        if probe:
            cands |= close_terms(searcher, probe, maxdist)
    best = None
    for t in cands:
        if not t.isalpha() or t == target:
            continue
        key = (min(OSA.distance(t, target), OSA.distance(t, word)), -_df(searcher, t), t)
        if best is None or key < best[0]:
            best = (key, t)
    if best is None:
        return None
    return surface_form(searcher, best[1]) or surface_form(searcher, best[1], "title")


def suggest(searcher: Searcher, parsed: ParsedQuery) -> str | None:
    """A corrected query string (the user's text with unknown words replaced), or None."""
    fixes: dict[str, str] = {}
    for word in parsed.plain_words:
        if word in fixes or is_stopword(word) or len(word) < 3 or not word.isalpha():
            continue
        if _df(searcher, stem(word)) > 0:
            continue
        fixed = correct_word(searcher, word)
        if fixed and fixed != word:
            fixes[word] = fixed
    if not fixes:
        return None
    # Query words are folded: the text's "Müllr" is the word "mullr".
    text = _WORD.sub(lambda m: fixes.get(fold(m.group().lower()), m.group()), parsed.text)
    return text if text.lower() != parsed.text.lower() else None
