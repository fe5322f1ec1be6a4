"""Sets of matching document numbers, and per-document columns for filters, sorts, facets.

Totals, facets and date filters need *every* match, not just the top 10. Whoosh's
generic matchers walk matches one Python call at a time; for the common query shapes
(terms combined with AND/OR/NOT) this module reads whole posting blocks and combines
them as Python sets, which is an order of magnitude faster at 200k documents. Anything
else falls back to Whoosh's own matcher.

A ``PostingsCache`` lives for one request: each term's postings (document numbers,
weights and the encoded positions/offsets) are read once and then serve the match set,
the scores (``search.ranking``), the proximity re-rank and the snippets. A block of
this codec is one pickled tuple of all three, so reading it once is the floor.

``DocTable`` holds the columns (id, dates, year, month, source, tags) for every document
of one reader state; it is built once per index state and shared by all threads.
"""

from __future__ import annotations

import pickle
import threading
import time
import zlib
from array import array
from io import BytesIO
from itertools import accumulate
from collections import Counter
from bisect import bisect_left
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Iterable

from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import FilterMatcher
from whoosh.searching import Searcher
from whoosh.util.times import datetime_to_long

from common.layout import IndexUnavailable
from common.schema import KIND_ARTICLE, KIND_DUPLICATE


def _deleted(reader) -> frozenset | set:
    """A segment reader's deleted document numbers (a method or, in Whoosh-Reloaded, a
    cached property)."""
    d = reader.deleted_docs_set
    return d() if callable(d) else d


def _leaf_term_ids(reader, fieldname: str, text) -> list[int]:
    if (fieldname, text) not in reader:
        return []
    m = reader.postings(fieldname, text)
    deleted = None
    if isinstance(m, FilterMatcher):
        deleted = _deleted(reader)
        m = m.child
    if hasattr(m, "_read_ids") and hasattr(m, "_next_block"):
        ids: list[int] = []
        while m.is_active():
            m._read_ids()
            ids.extend(m._ids)
            m._next_block()
    else:  # pragma: no cover - other codecs
        ids = list(m.all_ids())
    if deleted:
        ids = [i for i in ids if i not in deleted]
    return ids


def term_docs(searcher: Searcher, fieldname: str, text) -> set[int]:
    """Document numbers (top-level) containing a term, read block by block."""
    if fieldname not in searcher.schema:
        return set()
    field = searcher.schema[fieldname]
    btext = field.to_bytes(text) if not isinstance(text, bytes) else text
    out: set[int] = set()
    for leaf, offset in searcher.leaf_searchers():
        ids = _leaf_term_ids(leaf.reader(), fieldname, btext)
        out.update(ids if not offset else (i + offset for i in ids))
    return out


class Postings:
    """One term's postings in one field over all segments, top-level document numbers
    ascending, with the weights and the encoded values (positions, characters)."""

    __slots__ = ("ids", "weights", "values", "_set")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.weights: list[float] = []
        self.values: list = []
        self._set: set[int] | None = None

    @property
    def docset(self) -> set[int]:
        if self._set is None:
            self._set = set(self.ids)
        return self._set

    def value(self, docnum: int):
        """The encoded value of docnum's posting, or None."""
        ids = self.ids
        i = bisect_left(ids, docnum)
        return self.values[i] if i < len(ids) and ids[i] == docnum else None


def _read_leaf(out: Postings, reader, fieldname: str, btext: bytes, offset: int) -> None:
    if (fieldname, btext) not in reader:
        return
    m = reader.postings(fieldname, btext)
    deleted = None
    if isinstance(m, FilterMatcher):
        deleted = _deleted(reader)
        m = m.child
    ids, weights, values = out.ids, out.weights, out.values
    if isinstance(m, W3LeafMatcher) and _read_w3_whole(m, out, deleted, offset):
        return
    if hasattr(m, "_read_ids") and hasattr(m, "_next_block") and hasattr(m, "_read_values"):
        while m.is_active():
            m._read_ids()
            m._read_weights()
            m._read_values()
            bids, bw, bv = m._ids, m._weights, m._values
            if deleted:
                keep = [k for k, i in enumerate(bids) if i not in deleted]
                bids = [bids[k] for k in keep]
                bw = [bw[k] for k in keep]
                bv = [bv[k] for k in keep]
            ids.extend(bids if not offset else [i + offset for i in bids])
            weights.extend(bw)
            values.extend(bv)
            m._next_block()
    else:  # inlined short posting lists, other codecs
        while m.is_active():
            i = m.id()
            if not deleted or i not in deleted:
                ids.append(i + offset)
                weights.append(m.weight())
                values.append(m.value())
            m.next()


def _read_w3_whole(m: W3LeafMatcher, out: Postings, deleted, offset: int) -> bool:
    """Decode a whole whoosh3 posting list from one read of its bytes.

    The same decoding as W3LeafMatcher (block = int length, pickled info tuple, then
    the optionally zlib-compressed pickle of (ids, weights, values)), minus a seek and
    a few small reads per block through the segment file. Returns False (nothing
    appended) when the layout is not the one expected, and the caller reads blocks
    through the matcher instead.
    """
    try:
        start, length = m._baseoffset, m._length
        if isinstance(length, tuple):  # whoosh3 stores the unpacked struct tuple
            length = length[0]
        buf = m._postfile.get(start, m._startoffset + length - start)
        fixed, byteids = m._fixedsize, m._byteids
        blocks = _w3_blocks(buf, fixed, byteids)
    except (AttributeError, OSError, ValueError, TypeError, EOFError, zlib.error, pickle.UnpicklingError):
        return False
    if blocks is None:
        return False
    for bids, bw, bv in blocks:
        if deleted:
            keep = [k for k, i in enumerate(bids) if i not in deleted]
            bids = [bids[k] for k in keep]
            bw = [bw[k] for k in keep]
            bv = [bv[k] for k in keep]
        out.ids.extend(bids if not offset else [i + offset for i in bids])
        out.weights.extend(bw)
        out.values.extend(bv)
    return True


def _w3_blocks(buf: bytes, fixed, byteids) -> list | None:
    bio, view = BytesIO(buf), memoryview(buf)
    pos, n = 0, len(buf)
    blocks = []
    while pos + 4 <= n:
        length = int.from_bytes(buf[pos:pos + 4], "big", signed=True)
        last = length < 0
        nxt = pos + 4 + abs(length)
        bio.seek(pos + 4)
        count, _maxid, _maxw, compression, _mn, _mx = pickle.load(bio)
        data = view[bio.tell():nxt]
        if compression:
            data = zlib.decompress(data)
        bids, bw, bv = pickle.loads(data)
        if not byteids:
            bids = list(accumulate(bids))
        if bw is None:
            bw = [1.0] * count
        elif isinstance(bw, float):
            bw = [bw] * count
        if fixed == 0:
            bv = (None,) * count
        elif fixed is not None and fixed > 0:
            bv = tuple(bv[i:i + fixed] for i in range(0, len(bv), fixed))
        if len(bids) != count or len(bw) != count or len(bv) != count:
            return None
        blocks.append((bids, bw, bv))
        pos = nxt
        if last:
            return blocks
    return None


class PostingsCache:
    """Postings read during one request (never shared between requests or searchers).

    ``deadline`` (a ``time.perf_counter()`` value) bounds the request's position work:
    past it, a phrase matches every document holding all its words (a superset, never a
    wrong omission) and ``over_budget`` tells the caller to say so.
    """

    def __init__(self, searcher: Searcher, deadline: float | None = None) -> None:
        self.searcher = searcher
        self.deadline = deadline
        self.over_budget = False
        self._postings: dict[tuple[str, bytes], Postings] = {}
        self._phrases: dict[tuple[str, tuple], set[int]] = {}

    def out_of_time(self) -> bool:
        """True once the deadline has passed (and remembers it)."""
        if not self.over_budget and self.deadline is not None and time.perf_counter() > self.deadline:
            self.over_budget = True
        return self.over_budget

    def phrase_docs(self, fieldname: str, words: Iterable) -> set[int]:
        """Documents where the words occur at consecutive positions, from cached postings.

        Whoosh's own phrase matcher walks span objects one document at a time and cannot
        be stopped; this reads each word's postings once (shared with scoring and
        snippets) and checks the deadline every ``PHRASE_CHECK_EVERY`` candidates.
        """
        words = tuple(words)
        key = (fieldname, words)
        found = self._phrases.get(key)
        if found is not None:
            return found
        plist = [self.get(fieldname, w) for w in words]
        sets = sorted((p.docset for p in plist), key=len)
        cand = set.intersection(*sets) if sets else set()
        found = cand if len(plist) < 2 else self._phrase_filter(fieldname, plist, cand)
        self._phrases[key] = found
        return found

    def _phrase_filter(self, fieldname: str, plist: list[Postings], cand: set[int]) -> set[int]:
        decode = self.searcher.schema[fieldname].format.decode_positions
        out: set[int] = set()
        for k, d in enumerate(sorted(cand)):
            if k % PHRASE_CHECK_EVERY == 0 and self.out_of_time():
                return cand
            if consecutive([decode(p.value(d)) for p in plist]):
                out.add(d)
        return out

    def get(self, fieldname: str, text) -> Postings:
        field = self.searcher.schema[fieldname]
        btext = field.to_bytes(text) if not isinstance(text, bytes) else text
        key = (fieldname, btext)
        p = self._postings.get(key)
        if p is None:
            p = Postings()
            for leaf, offset in self.searcher.leaf_searchers():
                _read_leaf(p, leaf.reader(), fieldname, btext, offset)
            self._postings[key] = p
        return p


PHRASE_CHECK_EVERY = 32


def consecutive(positions: list[list[int]]) -> bool:
    """True when some p in positions[0] has p + i in positions[i] for every i."""
    starts = set(positions[0])
    for i, ps in enumerate(positions[1:], 1):
        starts.intersection_update(p - i for p in ps)
        if not starts:
            return False
    return bool(starts)


def docs(searcher: Searcher, q: wq.Query, cache: PostingsCache | None = None) -> set[int]:
    """All document numbers matching q (postings come from cache when one is given)."""
    if isinstance(q, wq.Term):
        if cache is not None and q.fieldname in searcher.schema:
            return cache.get(q.fieldname, q.text).docset
        return term_docs(searcher, q.fieldname, q.text)
    if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
        return set()
    if isinstance(q, wq.Phrase) and cache is not None and q.slop == 1 and q.fieldname in searcher.schema:
        return cache.phrase_docs(q.fieldname, q.words)
    if isinstance(q, wq.AndMaybe):
        return docs(searcher, q.a, cache)
    if isinstance(q, wq.AndNot):
        return docs(searcher, q.a, cache) - docs(searcher, q.b, cache)
    if isinstance(q, wq.And):
        sets = sorted((docs(searcher, s, cache) for s in q.subqueries), key=len)
        if not sets:
            return set()
        out = sets[0]
        for s in sets[1:]:
            if not out:
                break
            out = out & s
        return out
    if isinstance(q, wq.Or):
        out = set()
        for s in q.subqueries:
            out |= docs(searcher, s, cache)
        return out
    return set(q.docs(searcher))


@dataclass
class DocTable:
    """Per-document columns for one reader state, indexed by document number."""

    ids: list[str]
    start: list[int]  # date_start in Whoosh long form; 0 when undated (can exceed int64)
    end: list[int]
    articles: set[int]
    undated: set[int]
    tag_docs: dict[str, set[int]]
    # Facets: each document's (year, month, source, tags) combination as a small number,
    # so one C-level Counter pass over the matches counts every facet at once.
    facet_key: array = dc_field(default_factory=lambda: array("l"))
    facet_combos: list[tuple[str, str, str, tuple[str, ...]]] = dc_field(default_factory=list)
    # Field lengths as Whoosh's scorers see them (doc_field_length(d, f, 1)), for BM25F.
    lengths: dict[str, array] = dc_field(default_factory=dict)
    # Article id -> ids of its exact copies (duplicate documents), sorted.
    duplicates: dict[str, list[str]] = dc_field(default_factory=dict)

    def facet_counts(self, docnums: Iterable[int]) -> tuple[dict, dict, dict, dict]:
        """Counts of year, month, source and tag values over docnums."""
        year: dict[str, int] = {}
        month: dict[str, int] = {}
        source: dict[str, int] = {}
        tags: dict[str, int] = {}
        combos = self.facet_combos
        for key, n in Counter(map(self.facet_key.__getitem__, docnums)).items():
            y, m, src, ts = combos[key]
            if y:
                year[y] = year.get(y, 0) + n
            if m:
                month[m] = month.get(m, 0) + n
            if src:
                source[src] = source.get(src, 0) + n
            for t in ts:
                tags[t] = tags.get(t, 0) + n
        return year, month, source, tags


def column(searcher: Searcher, name: str, default) -> list:
    """One column's value for every document (top-level numbers), read segment by segment.

    Whoosh's combined column reader leaves out a segment that has no value for a column
    (a commit of only undated articles has no date column), so its list is short and
    every later document would take a neighbour's value. Each segment is read on its own
    here; a segment without the column gives ``default`` for its documents.
    """
    out: list = []
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        n = reader.doc_count_all()
        if offset != len(out):
            raise IndexUnavailable(f"column {name}: segment starts at document {offset}, expected {len(out)}")
        if not reader.has_column(name):
            out.extend([default] * n)
            continue
        values = list(reader.column_reader(name, translate=False))
        if len(values) != n:
            raise IndexUnavailable(
                f"column {name} holds {len(values)} values for a segment of {n} documents: "
                "the index is damaged; run `python -m indexer --rebuild`"
            )
        out.extend(values)
    return out


def _stamp(value) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        return datetime_to_long(value)
    except (AttributeError, TypeError, ValueError):
        return 0


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def tag_labels(searcher: Searcher) -> dict[str, str]:
    """Tag term -> its most common spelling in the articles ("china" -> "China").

    The tags field is lowercased so that a filter matches any case; facets show the tag
    as the articles write it. An index written before the column existed keeps the terms.
    """
    spellings: dict[str, Counter] = {}
    if "tag_labels" in searcher.schema:
        for value in column(searcher, "tag_labels", ""):
            for label in filter(None, (t.strip() for t in _text(value).split(","))):
                spellings.setdefault(label.lower(), Counter())[label] += 1
    return {term: counts.most_common(1)[0][0] for term, counts in spellings.items()}


def build_table(searcher: Searcher) -> DocTable:
    """Read the columns of every document (done once per index state)."""
    reader = searcher.reader()
    n = reader.doc_count_all()
    articles = term_docs(searcher, "kind", KIND_ARTICLE)
    dated = term_docs(searcher, "dated", True)
    tag_docs: dict[str, set[int]] = {}
    if "tags" in searcher.schema:
        for tag in reader.lexicon("tags"):
            tag_docs[_text(tag)] = term_docs(searcher, "tags", tag)
    lengths = {}
    for fname in ("title", "body"):
        if fname in searcher.schema and searcher.schema[fname].scorable:
            dfl = reader.doc_field_length
            lengths[fname] = array("l", (dfl(d, fname, 1) or 0 for d in range(n)))
    ids = [_text(v) for v in column(searcher, "id", "")]
    labels = tag_labels(searcher)
    tags_of: dict[int, list[str]] = {}
    for tag, members in sorted(tag_docs.items()):
        for d in members:
            tags_of.setdefault(d, []).append(labels.get(tag, tag))
    combos: dict[tuple, int] = {}
    facet_key = array("l")
    cols = (column(searcher, "year", ""), column(searcher, "month", ""), column(searcher, "source", ""))
    for d, (y, m, src) in enumerate(zip(*cols)):
        combo = (_text(y), _text(m), _text(src), tuple(tags_of.get(d, ())))
        facet_key.append(combos.setdefault(combo, len(combos)))
    duplicates: dict[str, list[str]] = {}
    if "dup_of" in searcher.schema:
        dup_of = column(searcher, "dup_of", "")
        for d in sorted(term_docs(searcher, "kind", KIND_DUPLICATE)):
            if original := _text(dup_of[d]):
                duplicates.setdefault(original, []).append(ids[d])
        for copies in duplicates.values():
            copies.sort()
    return DocTable(
        lengths=lengths,
        ids=ids,
        start=[_stamp(v) for v in column(searcher, "date_start", None)],
        end=[_stamp(v) for v in column(searcher, "date_end", None)],
        articles=articles,
        undated=articles - dated,
        tag_docs=tag_docs,
        facet_key=facet_key,
        facet_combos=list(combos),
        duplicates=duplicates,
    )


def reader_key(searcher: Searcher) -> tuple:
    """Identifies one reader state: its segments and their deletions."""
    key = []
    for leaf, offset in searcher.leaf_searchers():
        r = leaf.reader()
        seg = getattr(r, "_segment", None)
        key.append((seg.segment_id() if seg else id(r), offset, r.doc_count_all(), r.doc_count()))
    return tuple(key)


class TableCache:
    """The DocTable of the last few reader states (index-derived data, not a result cache)."""

    def __init__(self, keep: int = 2) -> None:
        self._keep = keep
        self._tables: dict[tuple, DocTable] = {}
        self._lock = threading.Lock()

    def get(self, searcher: Searcher) -> DocTable:
        key = reader_key(searcher)
        with self._lock:
            table = self._tables.get(key)
            if table is None:
                table = build_table(searcher)
                self._tables[key] = table
                while len(self._tables) > self._keep:
                    self._tables.pop(next(iter(self._tables)))
            return table


def stamp_of(dt) -> int:
    """The column value (Whoosh's long form) for a datetime bound."""
    return datetime_to_long(dt)


def count_by(values: list[str], docnums: Iterable[int]) -> dict[str, int]:
    """Counts of non-empty column values over docnums."""
    counts: dict[str, int] = {}
    get = values.__getitem__
    for v in map(get, docnums):
        if v:
            counts[v] = counts.get(v, 0) + 1
    return counts


def postings_values(reader, fieldname: str, term: str, docnums: list[int], kind: str) -> dict[int, list]:
    """For each of the ascending docnums that holds term: its posting value as ``kind``
    ("positions" or "characters"), skipping through the postings instead of reading all."""
    out: dict[int, list] = {}
    if (fieldname, term) not in reader:
        return out
    m = reader.postings(fieldname, term)
    for d in docnums:
        if not m.is_active():
            break
        if m.id() < d:
            m.skip_to(d)
            if not m.is_active():
                break
        if m.id() == d:
            out[d] = m.value_as(kind)
    return out
