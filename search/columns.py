"""Per-document columns as numpy arrays: filters are masks, facets are bincounts.

Segments never change once written, so each segment's columns are read once (whole
column files parsed as arrays by ``common/column_arrays.py``) and kept while the
segment is live; an index state's ``Columns`` is their concatenation plus the deletion
mask, built once per commit and shared by every request. Reading segment by segment also
keeps a segment that lacks a column (a commit of undated articles only) from shifting
the values of the documents after it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from common import column_arrays
from common.codec import segment_field_lengths
from common.schema import KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED

KINDS = (KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED)
TEXT_FIELDS = ("title", "body")
CODED = ("year", "month", "source", "dup_of", "tag_labels")  # string columns read as codes


@dataclass
class Coded:
    """A string column as small integer codes (-1: no value) and the labels they stand for."""

    codes: np.ndarray
    labels: list[str]

    def counts(self, docs: np.ndarray) -> dict[str, int]:
        """Label -> number of docs having it."""
        c = self.codes[docs]
        c = c[c >= 0]
        if not len(c):
            return {}
        n = np.bincount(c, minlength=len(self.labels))
        return {self.labels[i]: int(n[i]) for i in np.flatnonzero(n)}


@dataclass
class SegmentColumns:
    """One segment's columns, local document numbers."""

    n: int
    ids: list[str]
    kind: np.ndarray  # int8 index into KINDS, -1 unknown
    dated: np.ndarray  # bool
    start: np.ndarray  # int64, Whoosh's long form of the datetime; 0 undated
    end: np.ndarray
    strings: dict[str, Coded]  # year, month, source, dup_of, tag_labels
    tags: dict[str, np.ndarray]  # tag term -> local docs
    lengths: dict[str, np.ndarray]


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def _column(reader, name: str) -> bytes | None:
    if name not in reader.schema or not reader.has_column(name):
        return None
    return column_arrays.column_file(reader, name)


def _strings(reader, name: str, n: int) -> list[str]:
    return column_arrays.strings(_column(reader, name), n)


def _coded_strings(reader, name: str, n: int) -> Coded:
    return Coded(*column_arrays.coded_strings(_column(reader, name), n))


def _numbers(reader, name: str, n: int) -> np.ndarray:
    return column_arrays.numeric(_column(reader, name), "q", n)


def _term_docs(reader, fieldname: str, btext: bytes) -> np.ndarray:
    if (fieldname, btext) not in reader:
        return np.zeros(0, dtype=np.int64)
    m = reader.postings(fieldname, btext)
    m = getattr(m, "child", m)  # deletions are applied by the caller's mask
    return m.postings.ids.astype(np.int64)


def read_segment(reader) -> SegmentColumns:
    """Every column of one segment reader."""
    n = reader.doc_count_all()
    kind = np.full(n, -1, dtype=np.int8)
    for code, name in enumerate(KINDS):
        kind[_term_docs(reader, "kind", name.encode())] = code
    dated = np.zeros(n, dtype=bool)
    if "dated" in reader.schema:
        dated[_term_docs(reader, "dated", reader.schema["dated"].to_bytes(True))] = True
    tags = {}
    if "tags" in reader.schema:
        tags = {_text(t): _term_docs(reader, "tags", t) for t in reader.lexicon("tags")}
    return SegmentColumns(
        n=n,
        ids=_strings(reader, "id", n),
        kind=kind,
        dated=dated,
        start=_numbers(reader, "date_start", n),
        end=_numbers(reader, "date_end", n),
        strings={name: _coded_strings(reader, name, n) for name in CODED},
        tags=tags,
        lengths={f: segment_field_lengths(reader, f).astype(np.float64) for f in TEXT_FIELDS if f in reader.schema},
    )


def _merge_coded(parts: list[Coded]) -> Coded:
    """Segments' coded columns as one, over the union of their labels (sorted)."""
    labels = sorted({label for p in parts for label in p.labels})
    index = {label: i for i, label in enumerate(labels)}
    out = []
    for p in parts:
        remap = np.array([index[label] for label in p.labels] + [-1], dtype=np.int32)
        out.append(remap[p.codes])  # code -1 picks the appended -1
    return Coded(np.concatenate(out) if out else np.zeros(0, np.int32), labels)


@dataclass
class Columns:
    """Every column of one index state, indexed by top-level document number."""

    n: int
    ids: list[str]
    alive: np.ndarray  # bool: not deleted
    articles: np.ndarray  # bool: live article documents
    undated: np.ndarray  # bool: live articles without a date
    start: np.ndarray
    end: np.ndarray
    year: Coded
    month: Coded
    source: Coded
    tag_docs: dict[str, np.ndarray]  # lower-case tag -> sorted live docs
    tag_ptr: np.ndarray  # doc d's tags are tag_codes[tag_ptr[d]:tag_ptr[d + 1]] ...
    tag_codes: np.ndarray  # ... codes into tag_labels
    tag_labels: list[str]
    lengths: dict[str, np.ndarray]
    duplicates: dict[str, list[str]]
    kinds: np.ndarray

    @cached_property
    def id_rank(self) -> np.ndarray:
        """Each document's place in id order (ties in scores and dates sort by id)."""
        rank = np.empty(self.n, dtype=np.int64)
        rank[np.argsort(np.array(self.ids, dtype=str), kind="stable")] = np.arange(self.n)
        return rank

    def date_rank(self, newest: bool) -> np.ndarray:
        """Each document's place in date order (undated last, then by id)."""
        key = "_newest" if newest else "_oldest"
        rank = self.__dict__.get(key)
        if rank is None:
            start = -self.start if newest else self.start
            order = np.lexsort((self.id_rank, start, self.undated))
            rank = np.empty(self.n, dtype=np.int64)
            rank[order] = np.arange(self.n)
            self.__dict__[key] = rank
        return rank

    def tag_counts(self, docs: np.ndarray) -> dict[str, int]:
        """Tag label -> number of the (distinct) docs holding it: work in the number of docs."""
        starts, ends = self.tag_ptr[docs], self.tag_ptr[docs + 1]
        lens = ends - starts
        total = int(lens.sum())
        if not total:
            return {}
        # positions starts[i] .. ends[i] - 1 of every doc, in one array
        first = np.cumsum(lens) - lens
        codes = self.tag_codes[np.repeat(starts - first, lens) + np.arange(total)]
        if not len(codes):
            return {}
        n = np.bincount(codes, minlength=len(self.tag_labels))
        return {self.tag_labels[i]: int(n[i]) for i in np.flatnonzero(n)}


def _tag_label_of(written: Coded, articles: np.ndarray) -> dict[str, str]:
    """Tag term -> its most common spelling in the articles ("china" -> "China")."""
    codes = written.codes[articles]
    counts = np.bincount(codes[codes >= 0], minlength=len(written.labels))
    spellings: dict[str, Counter] = {}
    for code in np.flatnonzero(counts).tolist():
        for label in filter(None, (t.strip() for t in written.labels[code].split(","))):
            spellings.setdefault(label.lower(), Counter())[label] += int(counts[code])
    return {term: counts.most_common(1)[0][0] for term, counts in spellings.items()}


def _tag_index(tags: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Each doc's tag codes, contiguous by doc (so facets cost the matches, not all tags)."""
    docs = np.concatenate(list(tags.values())) if tags else np.zeros(0, dtype=np.int64)
    codes = np.repeat(np.arange(len(tags), dtype=np.int64), [len(d) for d in tags.values()])
    order = np.argsort(docs, kind="stable")
    return {"tag_ptr": np.searchsorted(docs[order], np.arange(n + 1)), "tag_codes": codes[order]}


def combine(parts: list[tuple[SegmentColumns, int]], alive: np.ndarray) -> Columns:
    """One index state's columns from its segments' (columns, first document number)."""
    n = len(alive)
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dtype=dt))  # noqa: E731
    kinds = cat([p.kind for p, _ in parts], np.int8)
    articles = alive & (kinds == KINDS.index(KIND_ARTICLE))
    dated = cat([p.dated for p, _ in parts], bool)
    strings = {name: _merge_coded([p.strings[name] for p, _ in parts]) for name in CODED}
    ids = [v for p, _ in parts for v in p.ids]
    tag_docs: dict[str, list] = {}
    for p, off in parts:
        for tag, docs in p.tags.items():
            tag_docs.setdefault(tag, []).append(docs + off)
    tags = {t: (lambda d: d[alive[d]])(np.concatenate(ds)) for t, ds in sorted(tag_docs.items())}
    label_of = _tag_label_of(strings["tag_labels"], articles)
    tag_labels = [label_of.get(t, t) for t in tags]
    duplicates: dict[str, list[str]] = {}
    for d in np.flatnonzero(alive & (kinds == KINDS.index(KIND_DUPLICATE))):
        if (code := strings["dup_of"].codes[d]) >= 0:
            duplicates.setdefault(strings["dup_of"].labels[code], []).append(ids[d])
    for copies in duplicates.values():
        copies.sort()
    return Columns(
        n=n, ids=ids, alive=alive, articles=articles, undated=articles & ~dated,
        start=cat([p.start for p, _ in parts], np.int64), end=cat([p.end for p, _ in parts], np.int64),
        year=strings["year"], month=strings["month"], source=strings["source"],
        tag_docs=tags,
        **_tag_index(tags, n),
        tag_labels=tag_labels,
        lengths={f: cat([p.lengths[f] for p, _ in parts], np.float64) for f in TEXT_FIELDS
                 if parts and f in parts[0][0].lengths},
        duplicates=duplicates,
        kinds=kinds,
    )


def state_key(reader) -> tuple:
    """Identifies one reader state: its segments and their deletions."""
    return tuple((r.segment().segment_id(), off, r.doc_count_all(), r.doc_count())
                 for r, off in reader.leaf_readers() if r.segment() is not None)


def alive_mask(reader) -> np.ndarray:
    """True for every top-level document that is not deleted."""
    alive = np.ones(reader.doc_count_all(), dtype=bool)
    for r, off in reader.leaf_readers():
        seg = r.segment()
        if seg is not None and seg.has_deletions():
            gone = np.fromiter(seg.deleted_docs(), dtype=np.int64)
            alive[gone[gone < r.doc_count_all()] + off] = False
    return alive


class ColumnsCache:
    """Columns of the last few index states, and of every segment they use."""

    def __init__(self, keep: int = 2) -> None:
        self._keep = keep
        self._states: dict[tuple, Columns] = {}
        self._segments: dict[tuple, SegmentColumns] = {}
        self._lock = threading.Lock()

    def get(self, reader) -> Columns:
        """The columns of reader's state (read now when the state is new)."""
        key = state_key(reader)
        with self._lock:
            cols = self._states.get(key)
            if cols is None:
                cols = self._build(reader)
                self._states[key] = cols
                while len(self._states) > self._keep:
                    self._states.pop(next(iter(self._states)))
                live = {(k[0], k[2]) for state in self._states for k in state}
                for seg in [s for s in self._segments if s not in live]:
                    del self._segments[seg]
            return cols

    def _build(self, reader) -> Columns:
        parts = []
        for r, off in reader.leaf_readers():
            if r.segment() is None:  # an empty index
                continue
            seg_key = (r.segment().segment_id(), r.doc_count_all())
            cols = self._segments.get(seg_key)
            if cols is None:
                cols = self._segments[seg_key] = read_segment(r)
            parts.append((cols, off))
        return combine(parts, alive_mask(reader))
