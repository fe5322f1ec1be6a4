"""A Whoosh segment writer that hands our codec a segment's postings as arrays.

Whoosh's ``SegmentWriter`` puts every posting into its ``PostingPool`` as a tuple, sorts
them all at commit (spilling sorted runs to disk past ``limitmb``) and replays them one
by one into the codec: Python per posting in the one writer process, which bounded the
build. ``BulkWriter`` keeps Whoosh's commit protocol (write lock, TOC, generations,
segment naming, deletions, merges: all inherited) and replaces the pool with a
``PostingBuffer`` of the same interface that keeps each field's postings as arrays,
takes a worker's ``PreAnalyzed`` block of a field whole (one append per array, no tuple
per posting), and at commit sorts them with numpy and hands ``ArrayFieldWriter`` one
``FieldPostings`` per field (``common/codec.py`` encodes every term of it at once).
The buffer lives in memory: the indexer commits when ``full`` says it holds ``limitmb``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from itertools import count, repeat

import numpy as np
from whoosh.fields import UnknownFieldError
from whoosh.writing import SegmentWriter

from common.codec import ArrayCharacters, ColumnPostings, FieldPostings
from common.schema import PreAnalyzed

# Bytes a buffered posting costs (term id, doc, weight, count) and a new term (its key
# and dict slot); the buffer's size is estimated from these, not measured.
POSTING_BYTES = 28
OCCURRENCE_BYTES = 12
TERM_BYTES = 120


class _FieldBuffer:
    """One field's postings in arrival order: term ids, docs, weights, occurrences."""

    __slots__ = ("terms", "ids", "tids", "docs", "weights", "counts", "occ", "values", "chars")

    def __init__(self, chars: bool):
        self.chars = chars  # ArrayCharacters: values are occurrences (uint32 triples)
        self.terms: dict[bytes, int] = {}
        self.ids = count()  # term ids are sparse (one drawn per posting), unique per term
        self.tids, self.docs, self.weights = array("q"), array("q"), array("d")
        self.counts = array("I")  # occurrences per posting (chars fields)
        self.occ = bytearray()
        self.values: list[bytes] = []  # raw values (other formats), b"" for none


class PostingBuffer:
    """Whoosh's posting pool interface (``add``, ``iter_postings``, ``cleanup``) over
    per-field arrays, plus ``add_block`` for a worker's pre-analysed field."""

    def __init__(self, schema, limitmb: int = 128):
        self.schema = schema
        self.limit = limitmb * 1024 * 1024
        self.nbytes = 0
        self._fields: dict[str, _FieldBuffer] = {}

    @property
    def full(self) -> bool:
        return self.nbytes >= self.limit

    def _field(self, name: str) -> _FieldBuffer:
        fb = self._fields.get(name)
        if fb is None:
            fb = self._fields[name] = _FieldBuffer(isinstance(self.schema[name].format, ArrayCharacters))
        return fb

    def add(self, item) -> None:
        """One posting (fieldname, term bytes, doc, weight, value bytes), as Whoosh adds
        them: the small fields of each document and the documents of merged segments."""
        fieldname, tbytes, docnum, weight, vbytes = item
        fb = self._field(fieldname)
        before = len(fb.terms)
        fb.tids.append(fb.terms.setdefault(tbytes, next(fb.ids)))
        fb.docs.append(docnum)
        fb.weights.append(weight)
        vbytes = vbytes or b""
        if fb.chars:
            if len(vbytes) % 12:
                raise ValueError(f"{fieldname}: a value of {len(vbytes)} bytes is not position triples")
            fb.counts.append(len(vbytes) // 12)
            fb.occ += vbytes
        else:
            fb.values.append(vbytes)
        self.nbytes += POSTING_BYTES + len(vbytes) + TERM_BYTES * (len(fb.terms) - before)

    def check_block(self, fieldname: str, block: PreAnalyzed) -> tuple[list[bytes], np.ndarray]:
        """(terms, frequencies) of a worker's block, or ValueError if this field cannot take it."""
        if not isinstance(self.schema[fieldname].format, ArrayCharacters):
            raise ValueError(f"{fieldname}: pre-analysed postings need an ArrayCharacters field")
        terms = block.term_list()
        freqs = np.frombuffer(block.freqs, dtype="<u4")
        if len(terms) != len(freqs) or len(block.occurrences) != 12 * int(freqs.sum()):
            raise ValueError(f"{fieldname}: a malformed pre-analysed block")
        return terms, freqs

    def add_block(self, fieldname: str, docnum: int, block: PreAnalyzed, checked=None) -> int:
        """A document's field analysed by a worker, taken as arrays; returns its length
        (the sum of its term frequencies, as Whoosh counts it for a scorable field)."""
        terms, freqs = checked or self.check_block(fieldname, block)
        fb = self._field(fieldname)
        before = len(fb.terms)
        fb.tids.extend(map(fb.terms.setdefault, terms, fb.ids))
        fb.docs.extend(repeat(docnum, len(terms)))
        fb.weights.frombytes((freqs * block.boost).astype(np.float64).tobytes())
        fb.counts.frombytes(freqs.astype(np.uint32).tobytes())
        fb.occ += block.occurrences
        self.nbytes += (POSTING_BYTES * len(terms) + len(block.occurrences)
                        + TERM_BYTES * (len(fb.terms) - before))
        return int(freqs.sum())

    def iter_postings(self) -> ColumnPostings:
        """Every field's postings sorted by (term, doc), in field-name order."""
        return ColumnPostings(self._sorted(name) for name in sorted(self._fields))

    def _sorted(self, name: str) -> FieldPostings:
        """One field's postings in (term, doc) order. The buffer's arrays are dropped as
        soon as they are read and occurrences are gathered in parts, so a commit's peak
        stays near the buffer's own size (it was ~2x: int64 temporaries of every posting
        and occurrence)."""
        fb = self._fields.pop(name)  # freed once written: one field's arrays at a time
        terms = sorted(fb.terms)
        rank = np.zeros(max(fb.terms.values()) + 1 if terms else 0, dtype=np.int32)
        rank[[fb.terms[t] for t in terms]] = np.arange(len(terms), dtype=np.int32)
        ranks = rank[np.frombuffer(fb.tids, dtype=np.int64)]
        del rank
        fb.tids, fb.terms = array("q"), {}
        docs = np.frombuffer(fb.docs, dtype=np.int64)
        order = _term_doc_order(ranks, docs)
        starts = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ranks, minlength=len(terms)), out=starts[1:])
        del ranks
        sorted_docs = docs[order]
        del docs
        fb.docs = array("q")
        fp = FieldPostings(name, terms, starts, sorted_docs, np.frombuffer(fb.weights, dtype=np.float64)[order])
        fb.weights = array("d")
        if fb.chars:
            fp.counts, fp.triples = _gather_occurrences(fb, order)
        elif any(fb.values):
            fp.values = [fb.values[i] for i in order.tolist()]
        return fp

    def cleanup(self) -> None:
        self._fields.clear()
        self.nbytes = 0


# Postings whose occurrences are gathered at once in _gather_occurrences (bounds its
# int64 temporaries to a few MB whatever the segment's size)
GATHER_POSTINGS = 1 << 18


def _term_doc_order(ranks: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The permutation sorting postings by (term rank, doc). Documents arrive in order
    (add_document numbers them ascending), so a stable sort by rank alone suffices and
    needs no int64 key; a merge's postings, which may not, take the combined key."""
    if len(docs) < 2 or bool((docs[1:] >= docs[:-1]).all()):
        return np.argsort(ranks, kind="stable")
    return np.argsort(ranks.astype(np.int64) * (int(docs.max()) + 1) + docs, kind="stable")


def _gather_occurrences(fb: _FieldBuffer, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(occurrence counts, (position, start, end) rows) of the postings in ``order``;
    the buffer's occurrence bytes are released once copied."""
    counts = np.frombuffer(fb.counts, dtype=np.uint32)
    first = np.zeros(len(counts) + 1, dtype=np.int64)  # each posting's first row, arrival order
    np.cumsum(counts, out=first[1:])
    c = counts[order].astype(np.int64)
    del counts
    fb.counts = array("I")
    out = np.zeros(len(c) + 1, dtype=np.int64)  # each posting's first row, sorted order
    np.cumsum(c, out=out[1:])
    occ = np.frombuffer(fb.occ, dtype="<u4").reshape(-1, 3)
    triples = np.empty((int(out[-1]), 3), dtype=occ.dtype)
    for a in range(0, len(c), GATHER_POSTINGS):
        b = min(len(c), a + GATHER_POSTINGS)
        rows = np.repeat(first[order[a:b]] - out[a:b], c[a:b])
        rows += np.arange(out[a], out[b])
        triples[out[a]:out[b]] = occ[rows]
    del occ
    fb.occ = bytearray()
    return c, triples


class BulkWriter(SegmentWriter):
    """Whoosh's segment writer with a ``PostingBuffer`` for its pool (see the module
    docstring); documents go in through ``add_document``/``update_document`` as before,
    with ``PreAnalyzed`` values taken whole. Use it as ``ix.writer()`` would be used."""

    def __init__(self, ix, limitmb: int = 128, **kwargs):
        super().__init__(ix, limitmb=limitmb, **kwargs)
        unsupported = sorted(n for n, f in self.schema.items() if f.vector or f.separate_spelling())
        if unsupported:
            self.cancel()
            raise ValueError(f"fields with term vectors or separate spelling are not supported: {unsupported}")
        self.pool = PostingBuffer(self.schema, limitmb)

    @property
    def full(self) -> bool:
        """Whether the buffered postings reached ``limitmb`` (time to commit)."""
        return self.pool.full

    def commit(self, *args, **kwargs) -> None:
        try:
            super().commit(*args, **kwargs)
        finally:
            self._release()

    def cancel(self) -> None:
        try:
            super().cancel()
        finally:
            self._release()

    def _release(self) -> None:
        """Drop what the finished segment's writers hold. Whoosh keeps every writer in a
        reference cycle: W3's per-document writer creates the temp folder the segment
        writer already made, and the caught EEXIST stays in a local whose traceback holds
        both ``__init__`` frames. Only a full garbage collection frees them, which a long
        run seldom makes, so each commit's zstd context, columns, term table and field
        lengths piled up (measured: the writer's RSS grew at every commit)."""
        pdw = self.perdocwriter
        self.pool = PostingBuffer(self.schema, 0)
        self.perdocwriter = self.fieldwriter = None
        if pdw is not None:
            vars(pdw).clear()  # closed by now; the cycle keeps the object, not its contents

    def add_document(self, **fields) -> None:
        """Whoosh's add_document for our schemas (no boosts, vectors or spelling fields).

        Every field is analysed and checked before any posting is buffered, so a document
        that fails leaves nothing behind (Whoosh's own writer keeps the postings of the
        fields before the failing one, under the next document's number)."""
        self._check_state()
        extra = sorted(n for n in fields if n.startswith("_") and not n.startswith("_stored_"))
        if extra:
            raise ValueError(f"document boosts are not supported: {extra}")
        names = sorted(n for n in fields if not n.startswith("_"))
        for name in names:
            if name not in self.schema:
                raise UnknownFieldError(f"No field named {name!r} in {self.schema}")
        pdw, docnum = self.perdocwriter, self.docnum
        pdw.start_doc(docnum)
        postings = []
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = self.schema[name]
                length = 0
                if field.indexed:
                    length, post = self._analyse(name, field, value)
                    postings.append(post)
                stored = fields.get(f"_stored_{name}", value)
                pdw.add_field(name, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    pdw.add_column_value(name, field.column_type, field.to_column_value(stored))
        except Exception:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        for post in postings:
            post(docnum)
        self._added = True  # SegmentWriter's flag: commit writes the new segment
        self.docnum += 1

    def _analyse(self, name: str, field, value) -> tuple[int, Callable[[int], object]]:
        """(the field's length for the scorer, a call that buffers its postings for a doc)."""
        pool = self.pool
        if isinstance(value, PreAnalyzed):
            checked = pool.check_block(name, value)
            return int(checked[1].sum()), lambda doc: pool.add_block(name, doc, value, checked)
        items = list(field.index(value))
        length = sum(freq for _t, freq, _w, _v in items) if field.scorable else 0
        return length, lambda doc: [pool.add((name, t, doc, w, v)) for t, _f, w, v in items]
