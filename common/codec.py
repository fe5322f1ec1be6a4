"""Our postings format, through Whoosh's public codec API (``whoosh.codec.base.Codec``).

Whoosh's own codec stores each posting list as pickled blocks, so any reader decodes it
one Python object per posting. ``ArrayCodec`` keeps Whoosh's term dictionary, columns,
segments and TOC, writes stored fields compressed against a per-segment dictionary
(``common/stored.py``, since version 4), and replaces the postings: per term, in the
segment's ``.pst`` file,

    head           first doc number (uint32), dtype codes of the gaps and the weights
    doc gaps       n x (doc number - previous one; 0 for the first), ascending
    weights        n x (term frequency x field boost): an unsigned integer type when
                   every weight is a small whole number (they are, for our fields), else
                   float32
    [values]       uint64 offset into the ``.pos`` file, 4 dtype codes (counts,
                   position, start, length), then n x counts

For positions and character offsets (``ArrayCharacters`` fields) the counts are each
posting's occurrences and the ``.pos`` stream holds one packed record per occurrence:
(position delta, start delta, length), where within a document the first position and
start are absolute, each later position is the previous one's delta and each later
start counts from the previous occurrence's end. Each of the three columns, the counts and the doc
gaps take the narrowest of uint8/uint16/uint32 (int32 if a delta is negative) that their
values need in this term's block (all little-endian), so a block decodes with one ``np.frombuffer`` over a packed
record dtype and a few cumulative sums. Other values (a KEYWORD field's frequencies)
are stored as they come (counts: byte lengths, codes ``RAW``).

The indexer's writer (``common/bulkwriter.py``) hands ``ArrayFieldWriter`` a segment's
postings as one ``FieldPostings`` of arrays per field, and ``encode_field`` writes every
term of it with array operations; Whoosh's own writers (merges, plain ``ix.writer()``)
feed it the sorted tuple stream, term by term. Both write the same bytes (tested).

The ``.pos`` stream is read only for phrases, proximity and the snippets of the hits
shown. Each segment records the codec that wrote it (it is pickled into the TOC), so plain
``whoosh.index.open_dir()`` opens and searches our indexes with no flag; Whoosh's generic
matchers get ``ArrayMatcher`` (values re-encoded as ``ArrayCharacters`` triples), search's
array path reads ``TermPostings``. ``FORMAT_VERSION`` names the layout: a segment written
by another version is rebuilt by the next indexer run.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from dataclasses import dataclass
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import chain

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3FieldWriter, W3TermInfo, W3TermsReader
from whoosh.matching import LeafMatcher, NullMatcher, ReadTooFar
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from common.column_arrays import column_file, numeric
from common.lru import LruCache
from common.stored import StoredFieldsReader, StoredFieldsWriter

POSITIONS_EXT = ".pos"
# 4: stored fields compressed against a per-segment dictionary (common/stored.py);
# 3: + doc gaps and narrow weights; 2: delta-packed occurrences; 1: uint32 arrays
FORMAT_VERSION = 4
STORED_SINCE = 4  # segments of older versions keep stored fields in W3's own column
_U4 = np.dtype("<u4")
_TAIL = struct.Struct("<QBBBB")  # .pos offset, dtype codes: counts, position, start, length
# dtype codes; RAW marks values stored as they come (counts are byte lengths)
_DTYPES = (np.dtype("u1"), np.dtype("<u2"), np.dtype("<u4"), np.dtype("<i4"), np.dtype("<f4"))
_STRUCT_CHARS = "BHIif"
FLOAT = 4  # the weights' code when some weight is not a small whole number
RAW = 255
_HEAD = struct.Struct("<IBB")  # first doc number, gap code, weight code
SMALL = 32  # below this many postings struct.pack beats building numpy arrays
ENCODE_POSTINGS = 1 << 18  # postings encoded at once by the bulk path (its temporaries: ~100 B each)
_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.int64)


class ArrayCharacters(formats.Characters):
    """Positions and character offsets as little-endian uint32 triples (pos, start, end).

    This is the value Whoosh's writer pipeline carries (and ``ArrayMatcher.value`` gives
    back); on disk ``ArrayFieldWriter`` packs a term's triples into delta records (see
    the module docstring), which the array path decodes a block at a time. Whoosh's own
    Characters format pickles delta lists, one unpickling per posting. Whoosh's generic
    code (highlighting, Phrase queries) reads values through these ``decode_*`` methods,
    so plain Whoosh still searches the index.
    """

    def encode(self, poslist) -> bytes:
        return struct.pack(f"<{3 * len(poslist)}I", *chain.from_iterable(poslist))

    def decode_characters(self, valuestring: bytes) -> list[tuple[int, int, int]]:
        flat = struct.unpack(f"<{len(valuestring) // 4}I", valuestring)
        return list(zip(flat[0::3], flat[1::3], flat[2::3]))

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return list(struct.unpack(f"<{len(valuestring) // 4}I", valuestring)[0::3])

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 12

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost

    def decode_position_boosts(self, valuestring: bytes) -> list[tuple[int, float]]:
        return [(p, 1.0) for p in self.decode_positions(valuestring)]

    def combine(self, vs) -> bytes:
        spans: dict[int, tuple[int, int]] = {}
        for v in vs:
            for pos, sc, ec in self.decode_characters(v):
                old = spans.get(pos)
                spans[pos] = (sc, ec) if old is None else (min(sc, old[0]), max(ec, old[1]))
        return self.encode([(pos, sc, ec) for pos, (sc, ec) in sorted(spans.items())])


def length_column_name(fieldname: str) -> str:
    """Where Whoosh's per-document writer keeps a field's (byte-encoded) lengths."""
    return "_%s_len" % fieldname


def field_lengths(perdoc, fieldname: str, doccount: int) -> np.ndarray:
    """A field's lengths per document as Whoosh's scorers see them (0 when absent)."""
    name = length_column_name(fieldname)
    if not perdoc.has_column(name):
        return np.zeros(doccount, dtype=np.int64)
    raw = np.frombuffer(bytes(perdoc.column_reader(name, LENGTHS_COLUMN).load()), dtype=np.uint8)
    if len(raw) < doccount:
        raw = np.concatenate([raw, np.zeros(doccount - len(raw), dtype=np.uint8)])
    return _BYTE_TO_LENGTH[raw[:doccount]]


class ArrayCodec(W3Codec):
    """Whoosh's W3 codec with array postings (pass to ``ix.writer(codec=ArrayCodec())``).

    The codec object is pickled into each segment's TOC entry, so the layout version is
    an instance attribute: a class attribute would read as the running code's version
    when an old segment is unpickled (version 1 segments carry none)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.format_version = FORMAT_VERSION

    def field_writer(self, storage, segment):
        return ArrayFieldWriter(self, storage, segment)

    def per_document_writer(self, storage, segment):
        if vars(self).get("format_version", 1) < STORED_SINCE:
            return super().per_document_writer(storage, segment)
        return StoredFieldsWriter(self, storage, segment)

    def per_document_reader(self, storage, segment):
        # The codec pickled in the segment says which layout wrote it, so a segment of an
        # older version stays readable until the next indexer run rebuilds it.
        if vars(self).get("format_version", 1) < STORED_SINCE:
            return super().per_document_reader(storage, segment)
        return StoredFieldsReader(storage, segment)

    def terms_reader(self, storage, segment):
        tiname = segment.make_filename(self.TERMS_EXT)
        tifile = storage.open_file(tiname)
        postfile = segment.open_file(storage, self.POSTS_EXT)
        posfile = segment.open_file(storage, POSITIONS_EXT)
        return ArrayTermsReader(self, tifile, storage.file_length(tiname), postfile, posfile, segment.segment_id())


def segment_field_lengths(reader, fieldname: str) -> np.ndarray:
    """One segment reader's field lengths as an array, read from its length column at once."""
    return _BYTE_TO_LENGTH[numeric(column_file(reader, length_column_name(fieldname)), "B", reader.doc_count_all())]


def segment_file_sizes(storage, segment) -> dict[str, int]:
    """Bytes per file kind (".pst", ".pos", ...) of one segment, inside its compound
    file or not (what the index size is made of)."""
    store = segment.open_compound_file(storage) if segment.is_compound() else storage
    try:
        prefix = segment.segment_id()
        return {name[len(prefix):]: store.file_length(name) for name in store.list() if name.startswith(prefix)}
    finally:
        if store is not storage:
            store.close()


def is_array_segment(segment) -> bool:
    """Whether a segment was written by this module's codec (others need a rebuild)."""
    codec = segment.codec()
    return isinstance(codec, ArrayCodec) and vars(codec).get("format_version", 1) == FORMAT_VERSION


def foreign_segments(reader) -> int:
    """How many of a reader's segments another postings format wrote (they need a rebuild)."""
    segments = [r.segment() for r, _ in reader.leaf_readers()]
    return sum(1 for s in segments if s is not None and not is_array_segment(s))  # None: empty index


# -- writing ------------------------------------------------------------------------------


class ArrayFieldWriter(W3FieldWriter):
    """Writes each term's postings as arrays with a few bulk writes (no per-posting calls)."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self._posfile = segment.create_file(storage, POSITIONS_EXT)
        self._posfile.write(b"APOS")  # offset 0 is never a value stream
        self._lengths: dict[str, list] = {}
        self._perdoc = None
        self._ids: list[int] = []
        self._weights: list[float] = []
        self._values: list[bytes] = []

    def add_postings(self, schema, lengths, items):
        """Group Whoosh's sorted (field, term, doc, weight, value) stream into terms, or
        write a bulk writer's ``ColumnPostings`` field by field with array operations."""
        self._perdoc = lengths
        if isinstance(items, ColumnPostings):
            for field_postings in items:
                self.add_field_postings(schema, field_postings)
            return
        fieldmap = self._fieldmap
        cur_field = cur_text = None
        ids, weights, values = self._ids, self._weights, self._values
        for fieldname, btext, docnum, weight, value in items:
            if docnum == -1:  # Whoosh's spelling marker, not a posting
                continue
            if btext != cur_text or fieldname != cur_field:
                if ids:
                    self._write_term(cur_field, cur_text, fieldmap[cur_field])
                if fieldname != cur_field:
                    fieldmap.setdefault(fieldname, len(fieldmap))
                    self._format = schema[fieldname].format
                    cur_field = fieldname
                cur_text = btext
            ids.append(docnum)
            weights.append(weight)
            values.append(value or b"")
        if ids:
            self._write_term(cur_field, cur_text, fieldmap[cur_field])

    # The base class's per-posting API, for callers that use it.
    def start_field(self, fieldname, fieldobj):
        super().start_field(fieldname, fieldobj)
        self._postwriter = None

    def start_term(self, btext):
        self._btext = btext

    def add(self, docnum, weight, vbytes, length):
        self._ids.append(docnum)
        self._weights.append(weight)
        self._values.append(vbytes or b"")

    def finish_term(self):
        self._write_term(self._fieldname, self._btext, self._fieldid)

    def add_field_postings(self, schema, fp: "FieldPostings") -> None:
        """One field's sorted postings: occurrences packed for every term at once, then
        one record per term cut from those arrays (byte for byte what ``_write_term``
        writes). Raw values (a KEYWORD field's frequencies) go term by term."""
        fieldid = self._fieldmap.setdefault(fp.fieldname, len(self._fieldmap))
        self._format = schema[fp.fieldname].format
        if not fp.terms:
            return
        if fp.values is not None or (fp.counts is not None and not fp.counts.all()):
            for i, btext in enumerate(fp.terms):
                a, b = int(fp.starts[i]), int(fp.starts[i + 1])
                self._ids.extend(fp.docs[a:b].tolist())
                self._weights.extend(fp.weights[a:b].tolist())
                self._values.extend(fp.values[a:b] if fp.values is not None else fp.term_values(a, b))
                self._write_term(fp.fieldname, btext, fieldid)
            return
        lens = self._lengths_of(fp.fieldname)
        lens = None if not lens else np.asarray(lens, dtype=np.int64)
        prefix = struct.pack("!H", fieldid)
        add = self._tindex.add
        for part in fp.parts(ENCODE_POSTINGS):  # bounded temporaries, whatever the segment's size
            records, infos = encode_field(part, lens, self._postfile.tell(), self._posfile.tell())
            self._postfile.write(records.pst)
            self._posfile.write(records.pos)
            for btext, info in zip(part.terms, infos):
                add(prefix + btext, info.to_bytes())

    def _lengths_of(self, fieldname: str):
        if fieldname not in self._lengths:
            perdoc = self._perdoc
            if perdoc is None or not perdoc.has_column(length_column_name(fieldname)):
                self._lengths[fieldname] = None
            else:
                self._lengths[fieldname] = field_lengths(perdoc, fieldname, perdoc.doc_count_all()).tolist()
        return self._lengths[fieldname]

    def _write_term(self, fieldname: str, btext: bytes, fieldid: int) -> None:
        ids, weights, values = self._ids, self._weights, self._values
        n = len(ids)
        post = self._postfile
        offset = post.tell()
        post.write(pack_ids_weights(ids, weights))
        if any(values):
            self._write_values(values)
        lens = self._lengths_of(fieldname)
        if lens:
            doc_lens = [lens[d] for d in ids] if n < SMALL else np.asarray(lens)[ids]
            minlength, maxlength = int(min(doc_lens)), int(max(doc_lens))
        else:
            minlength, maxlength = None, 0
        info = W3TermInfo(float(sum(weights)), n, minlength, maxlength, float(max(weights)), ids[0], ids[-1])
        info.set_extent(offset, post.tell() - offset)
        self._tindex.add(struct.pack("!H", fieldid) + btext, info.to_bytes())
        ids.clear()
        weights.clear()
        values.clear()

    def _write_values(self, values: list[bytes]) -> None:
        """One term's values: packed occurrence records (ArrayCharacters) or raw bytes."""
        base = self._posfile.tell()
        if isinstance(self._format, ArrayCharacters):
            counts = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) // 12
            triples = np.frombuffer(b"".join(values), dtype=_U4).reshape(-1, 3).astype(np.int64)
            codes, records = pack_occurrences(triples, counts)
            self._postfile.write(_TAIL.pack(base, *codes) + counts.astype(_DTYPES[codes[0]]).tobytes())
            self._posfile.write(records)
        else:
            self._postfile.write(_TAIL.pack(base, 2, RAW, RAW, RAW) + struct.pack(f"<{len(values)}I", *map(len, values)))
            self._posfile.write(b"".join(values))

    def close(self):
        super().close()
        self._posfile.close()


# -- bulk encoding (a whole field of a segment at once) ------------------------------------


@dataclass
class FieldPostings:
    """One field's postings in a segment, sorted by (term, document), as arrays: what a
    bulk writer hands ``ArrayFieldWriter`` instead of one Python tuple per posting."""

    fieldname: str
    terms: list[bytes]  # ascending
    starts: np.ndarray  # int64, len(terms) + 1: term i holds postings starts[i]:starts[i + 1]
    docs: np.ndarray  # int64, ascending within each term
    weights: np.ndarray  # float64
    counts: np.ndarray | None = None  # int64 occurrences per posting (ArrayCharacters fields)
    triples: np.ndarray | None = None  # (counts.sum(), 3) uint32: position, start, end
    values: list[bytes] | None = None  # each posting's value, for other formats that have values

    def parts(self, postings: int) -> Iterator[FieldPostings]:
        """The field cut at term boundaries into parts of about ``postings`` postings."""
        if len(self.docs) <= postings:
            yield self
            return
        obounds = None if self.counts is None else np.concatenate(([0], np.cumsum(self.counts)))
        cuts = np.unique(np.searchsorted(self.starts, np.arange(postings, len(self.docs), postings), "right") - 1)
        edges = [0] + [int(c) for c in cuts if 0 < c < len(self.terms)] + [len(self.terms)]
        for lo, hi in zip(edges, edges[1:]):
            a, b = int(self.starts[lo]), int(self.starts[hi])
            part = FieldPostings(self.fieldname, self.terms[lo:hi], self.starts[lo:hi + 1] - a, self.docs[a:b],
                                 self.weights[a:b], values=None if self.values is None else self.values[a:b])
            if obounds is not None:
                part.counts, part.triples = self.counts[a:b], self.triples[obounds[a]:obounds[b]]
            yield part

    def term_values(self, a: int, b: int) -> list[bytes]:
        """Postings a:b's values as their field format encodes them."""
        if self.counts is None:
            return [b""] * (b - a)
        bounds = np.concatenate(([0], np.cumsum(self.counts[a:b]))) + int(self.counts[:a].sum())
        flat = self.triples.astype(_U4)
        return [flat[x:y].tobytes() for x, y in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


class ColumnPostings:
    """A segment's ``FieldPostings`` in field-name order (Whoosh's pool order), made one
    at a time as the writer takes them (one field's sorted arrays in memory at once)."""

    def __init__(self, fields: Iterable[FieldPostings]):
        self._fields = fields

    def __iter__(self) -> Iterator[FieldPostings]:
        return iter(self._fields)


@dataclass
class EncodedField:
    pst: bytes
    pos: bytes


_SIZES = [d.itemsize for d in _DTYPES]


def codes_of(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``_code_of`` for arrays of (min, max) pairs."""
    if (lo < -(2 ** 31)).any() or (hi >= 2 ** 32).any() or ((lo < 0) & (hi >= 2 ** 31)).any():
        raise ValueError("value out of range for the postings format")
    return np.where(lo < 0, 3, np.where(hi < 2 ** 8, 0, np.where(hi < 2 ** 16, 1, 2)))


def _range_codes(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The narrowest code of each run ``values[at[i]:at[i + 1]]`` (runs non-empty)."""
    return codes_of(np.minimum.reduceat(values, at), np.maximum.reduceat(values, at))


def _as_bytes(values: np.ndarray, codes: np.ndarray) -> dict[int, bytes]:
    """``values`` in each dtype some run needs, as bytes to cut runs from."""
    return {c: values.astype(_DTYPES[c]).tobytes() for c in np.unique(codes).tolist()}


def _ids_weights(fp: FieldPostings, at: np.ndarray):
    """Gap and weight codes per term, and the bytes to cut each term's arrays from."""
    gaps = np.diff(fp.docs, prepend=fp.docs[:1])
    gaps[at] = 0
    gcodes = _range_codes(gaps, at)
    w = fp.weights
    whole = (w == np.floor(w)) & (w >= 0) & (w < 2 ** 16)
    whole_t = np.logical_and.reduceat(whole, at)
    wmax = np.maximum.reduceat(w, at)
    wcodes = np.where(whole_t, codes_of(np.zeros(len(at), np.int64), np.where(whole_t, wmax, 0).astype(np.int64)),
                      FLOAT)
    wints = np.where(whole, w, 0).astype(np.int64)
    wbytes = {c: (w if c == FLOAT else wints).astype(_DTYPES[c]).tobytes() for c in np.unique(wcodes).tolist()}
    return gcodes, _as_bytes(gaps, gcodes), wcodes, wbytes, wmax


def _occurrence_records(fp: FieldPostings, at: np.ndarray):
    """(counts codes, counts bytes, record codes per term, each term's packed records)."""
    counts = fp.counts
    bounds = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    first = bounds[:-1]
    pos, start, end = (fp.triples[:, i].astype(np.int64) for i in range(3))
    dpos = np.diff(pos, prepend=0)
    dpos[first] = pos[first]
    prev_end = np.empty_like(end)
    prev_end[0] = 0
    prev_end[1:] = end[:-1]
    prev_end[first] = 0
    cols = (dpos, start - prev_end, end - start)
    tb = bounds[np.append(at, len(counts))]  # each term's occurrences: tb[i]:tb[i + 1]
    codes = [_range_codes(col, tb[:-1]) for col in cols]
    ccodes = _range_codes(counts, at)
    per_term = np.diff(tb)
    combos = codes[0] * 16 + codes[1] * 4 + codes[2]
    records: list[bytes] = [b""] * len(at)
    for combo in np.unique(combos).tolist():
        terms = np.flatnonzero(combos == combo)
        rows = np.repeat(combos == combo, per_term)
        dtype = record_dtype(combo // 16, combo // 4 % 4, combo % 4)
        rec = np.empty(int(rows.sum()), dtype=dtype)
        rec["p"], rec["s"], rec["l"] = (col[rows] for col in cols)
        blob = rec.tobytes()
        ends = np.cumsum(per_term[terms]) * dtype.itemsize
        for t, a, b in zip(terms.tolist(), (ends - per_term[terms] * dtype.itemsize).tolist(), ends.tolist()):
            records[t] = blob[a:b]
    return ccodes, _as_bytes(counts, ccodes), (codes[0], codes[1], codes[2]), records


def encode_field(fp: FieldPostings, lens: np.ndarray | None, pst_base: int, pos_base: int):
    """Every term record of one field (``.pst`` and ``.pos`` bytes written from the given
    offsets) and each term's W3TermInfo: byte for byte what ``_write_term`` writes."""
    at = fp.starts[:-1]
    n = np.diff(fp.starts).tolist()
    gcodes, gbytes, wcodes, wbytes, wmax = _ids_weights(fp, at)
    wsum = np.add.reduceat(fp.weights, at).tolist()
    firsts, lasts = fp.docs[at].tolist(), fp.docs[fp.starts[1:] - 1].tolist()
    if lens is not None:
        dl = lens[fp.docs]
        minl, maxl = np.minimum.reduceat(dl, at).tolist(), np.maximum.reduceat(dl, at).tolist()
    occ = _occurrence_records(fp, at) if fp.counts is not None else None
    if occ is not None:
        ccodes, cbytes, rcodes, records = occ
        ccodes, pcodes, scodes, lcodes = ccodes.tolist(), *(r.tolist() for r in rcodes)
    pst, pos, infos = [], [], []
    pst_off, pos_off = pst_base, pos_base
    for i, (a, g, wc) in enumerate(zip(at.tolist(), gcodes.tolist(), wcodes.tolist())):
        b = a + n[i]
        rec = (_HEAD.pack(firsts[i], g, wc) + gbytes[g][a * _SIZES[g]:b * _SIZES[g]]
               + wbytes[wc][a * _SIZES[wc]:b * _SIZES[wc]])
        if occ is not None:
            c = ccodes[i]
            rec += _TAIL.pack(pos_off, c, pcodes[i], scodes[i], lcodes[i]) + cbytes[c][a * _SIZES[c]:b * _SIZES[c]]
            pos.append(records[i])
            pos_off += len(records[i])
        info = W3TermInfo(wsum[i], n[i], minl[i] if lens is not None else None, maxl[i] if lens is not None else 0,
                          float(wmax[i]), firsts[i], lasts[i])
        info.set_extent(pst_off, len(rec))
        pst_off += len(rec)
        pst.append(rec)
        infos.append(info)
    return EncodedField(b"".join(pst), b"".join(pos)), infos


# -- packed arrays ---------------------------------------------------------------------------


def _code_of(lo, hi) -> int:
    if lo < 0:
        if lo < -(2 ** 31) or hi >= 2 ** 31:
            raise ValueError(f"value out of range: {lo}..{hi}")
        return 3
    if hi >= 2 ** 32:
        raise ValueError(f"value out of range: {hi}")
    return 0 if hi < 2 ** 8 else 1 if hi < 2 ** 16 else 2


def pack_ids_weights(ids: list[int], weights: list[float]) -> bytes:
    """A term's doc numbers (as gaps) and weights, each in its narrowest type."""
    n = len(ids)
    whole = all(w == int(w) and 0 <= w < 2 ** 16 for w in weights) if n < SMALL else None
    if n < SMALL:
        gaps = [0] + [b - a for a, b in zip(ids, ids[1:])]
        gcode = _code_of(min(gaps), max(gaps))
        wcode = _code_of(0, int(max(weights))) if whole else FLOAT
        wvals = [int(w) for w in weights] if whole else weights
        return (_HEAD.pack(ids[0], gcode, wcode)
                + struct.pack(f"<{n}{_STRUCT_CHARS[gcode]}{n}{_STRUCT_CHARS[wcode]}", *gaps, *wvals))
    arr = np.asarray(ids, dtype=np.int64)
    gaps = np.diff(arr, prepend=arr[0])
    gcode = narrowest(gaps)
    w = np.asarray(weights, dtype=np.float64)
    whole = bool(np.all(w == np.floor(w)) and w.min() >= 0 and w.max() < 2 ** 16)
    wcode = narrowest(w.astype(np.int64)) if whole else FLOAT
    return (_HEAD.pack(ids[0], gcode, wcode) + gaps.astype(_DTYPES[gcode]).tobytes()
            + w.astype(_DTYPES[wcode]).tobytes())


def unpack_ids_weights(raw: bytes, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(doc numbers as int64, weights as float32, where the values part begins) of a
    record written by ``pack_ids_weights``."""
    if len(raw) < _HEAD.size:
        raise ValueError(f"postings record of {len(raw)} bytes for {n} postings")
    first, gcode, wcode = _HEAD.unpack_from(raw, 0)
    if gcode >= FLOAT or wcode > FLOAT:
        raise ValueError(f"postings record with unknown types {gcode}, {wcode}")
    at = _HEAD.size + n * (_DTYPES[gcode].itemsize + _DTYPES[wcode].itemsize)
    if len(raw) < at:
        raise ValueError(f"postings record of {len(raw)} bytes for {n} postings")
    gaps = np.frombuffer(raw, dtype=_DTYPES[gcode], count=n, offset=_HEAD.size)
    ids = np.cumsum(gaps, dtype=np.int64)
    ids += first
    weights = np.frombuffer(raw, dtype=_DTYPES[wcode], count=n, offset=_HEAD.size + n * _DTYPES[gcode].itemsize)
    return ids, (weights.astype(np.float32) if wcode != FLOAT else weights), at


# -- packed occurrences ---------------------------------------------------------------------


def narrowest(values: np.ndarray) -> int:
    """The code of the narrowest dtype in _DTYPES holding every value."""
    if not len(values):
        return 0
    return _code_of(int(values.min()), int(values.max()))


@lru_cache(maxsize=None)
def record_dtype(pcode: int, scode: int, lcode: int) -> np.dtype:
    """The packed (position delta, start delta, length) record of one term's block."""
    return np.dtype([("p", _DTYPES[pcode]), ("s", _DTYPES[scode]), ("l", _DTYPES[lcode])])


def _firsts(counts: np.ndarray) -> np.ndarray:
    """Where each posting's occurrences begin in a run of them (postings without any
    left out: they have no first occurrence)."""
    return (np.cumsum(counts) - counts)[counts > 0]


def pack_occurrences(triples: np.ndarray, counts: np.ndarray) -> tuple[tuple[int, int, int, int], bytes]:
    """Rows (position, start, end) of a term's postings (``counts`` rows each, documents
    in order) as the block's dtype codes and packed records (see the module docstring)."""
    pos, start, end = triples[:, 0], triples[:, 1], triples[:, 2]
    first = _firsts(counts)
    dpos = np.diff(pos, prepend=0)
    dpos[first] = pos[first]
    prev_end = np.empty_like(end)
    prev_end[1:] = end[:-1]
    prev_end[first] = 0
    dstart, length = start - prev_end, end - start
    codes = (narrowest(counts), narrowest(dpos), narrowest(dstart), narrowest(length))
    rec = np.empty(len(pos), dtype=record_dtype(*codes[1:]))
    rec["p"], rec["s"], rec["l"] = dpos, dstart, length
    return codes, rec.tobytes()


def unpack_occurrences(rec: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position, start, end) int64 arrays of packed records, ``counts`` per posting."""
    dpos, dstart, length = (rec[f].astype(np.int64) for f in ("p", "s", "l"))
    if not len(dpos):
        return dpos, dstart, length
    first = _firsts(counts)
    reps = counts[counts > 0]
    pos = np.cumsum(dpos)
    pos -= np.repeat(pos[first] - dpos[first], reps)
    run = np.cumsum(dstart + length)  # start_i = run_i - length_i within one posting
    start = run - length - np.repeat(run[first] - dstart[first] - length[first], reps)
    return pos, start, start + length


# -- reading ------------------------------------------------------------------------------


STRETCH_BYTES = 64 * 1024  # one read of the records between the first and last wanted posting


def _records_of(raw: bytes, rec: np.dtype, n: int) -> np.ndarray:
    if len(raw) != n * rec.itemsize:
        raise ValueError("positions stream is shorter than its postings say")
    return np.frombuffer(raw, dtype=rec)


class TermPostings:
    """One term's postings in one segment: doc numbers and weights as arrays, values lazily.

    ``counts`` (None: no values) holds each posting's occurrence count when ``rec`` (the
    packed record dtype) is set, else each raw value's length in bytes."""

    __slots__ = ("ids", "weights", "_posfile", "_base", "_counts", "_rec", "_starts", "_blob")

    def __init__(self, ids: np.ndarray, weights: np.ndarray, posfile=None, base: int = 0,
                 counts: np.ndarray | None = None, rec: np.dtype | None = None) -> None:
        self.ids = ids
        self.weights = weights
        self._posfile, self._base, self._counts, self._rec = posfile, base, counts, rec
        self._starts = None
        self._blob = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_values(self) -> bool:
        return self._counts is not None

    @property
    def has_occurrences(self) -> bool:
        """Whether the values are positions and characters (packed records)."""
        return self._rec is not None

    def _unit(self) -> int:
        return self._rec.itemsize if self._rec is not None else 1

    def _load(self) -> None:
        """Read the term's whole stream at once (records, or raw bytes)."""
        counts = self._counts.astype(np.int64)
        self._starts = np.cumsum(counts) - counts
        total = int(counts.sum())
        raw = self._posfile.get(self._base, total * self._unit()) if total else b""
        if len(raw) != total * self._unit():
            raise ValueError(f"positions stream holds {len(raw)} of {total * self._unit()} bytes")
        self._blob = np.frombuffer(raw, dtype=self._rec) if self._rec is not None else raw

    def _records(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(records of the postings at the sorted indices, their counts).

        Postings close together in a long list are read with one read of the stretch
        that holds them; far apart, one read each; many of the list (or once the whole
        stream is in memory), from the term's stream read at once."""
        counts = self._counts[indices].astype(np.int64)
        if self._starts is None:
            c = self._counts.astype(np.int64)
            self._starts = np.cumsum(c) - c
        starts = self._starts[indices]
        first_out = np.cumsum(counts) - counts
        total = int(counts.sum())
        if not total:
            return np.zeros(0, dtype=self._rec), counts
        if self._blob is None and len(indices) * 16 < len(self._counts):
            get, base, size = self._posfile.get, self._base, self._rec.itemsize
            lo, hi = int(starts[0]), int(starts[-1] + counts[-1])
            if (hi - lo) * size <= STRETCH_BYTES:
                raw = get(base + lo * size, (hi - lo) * size)
                rows = np.repeat(starts - lo - first_out, counts) + np.arange(total)
                return _records_of(raw, self._rec, hi - lo)[rows], counts
            raw = b"".join([get(base + st * size, n * size) for st, n in zip(starts.tolist(), counts.tolist()) if n])
            return _records_of(raw, self._rec, total), counts
        if self._blob is None:
            self._load()
        rows = np.repeat(starts - first_out, counts) + np.arange(total)
        return self._blob[rows], counts

    def occurrences(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(counts, positions, starts, ends) of the postings at the sorted indices: each
        posting's occurrences in order, as int64 arrays."""
        if self._rec is None:
            raise ValueError("this term's values are not positions and characters")
        rec, counts = self._records(np.asarray(indices, dtype=np.int64))
        return (counts, *unpack_occurrences(rec, counts))

    def value(self, i: int) -> bytes | None:
        """The i-th posting's value as its field format encodes it (None: no values)."""
        if self._counts is None:
            return None
        if self._blob is None:
            self._load()
        if self._rec is None:
            start = int(self._starts[i])
            return self._blob[start:start + int(self._counts[i])]
        _n, pos, start, end = self.occurrences(np.array([i]))
        return np.column_stack((pos, start, end)).astype(_U4).tobytes()


def term_extent(info) -> tuple[int, int]:
    """(offset, length) of a term's record in ``.pst``."""
    offset, length = info.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes keeps the unpacked struct tuple
        length = length[0]
    return offset, length


def read_term(postfile, posfile, info) -> TermPostings:
    """Decode one term's record (its extent in ``.pst``) into arrays."""
    offset, length = term_extent(info)
    n = info.doc_frequency()
    raw = postfile.get(offset, length)
    bad = ValueError(f"postings record of {length} bytes for {n} postings")
    if len(raw) != length:
        raise bad
    ids, weights, at = unpack_ids_weights(raw, n)
    if length != at and length < at + _TAIL.size:
        raise bad
    if length == at:
        return TermPostings(ids, weights)
    base, ccode, pcode, scode, lcode = _TAIL.unpack_from(raw, at)
    if ccode >= FLOAT or length != at + _TAIL.size + n * _DTYPES[ccode].itemsize or (
            pcode != RAW and max(pcode, scode, lcode) >= FLOAT):
        raise bad
    counts = np.frombuffer(raw, dtype=_DTYPES[ccode], count=n, offset=at + _TAIL.size)
    rec = None if pcode == RAW else record_dtype(pcode, scode, lcode)
    return TermPostings(ids, weights, posfile, base, counts, rec)


class TermInfoCache(LruCache):
    """Term -> term info (None: absent) per segment, least recently used dropped first.

    Whoosh's term dictionary is an on-disk hash file: each look-up seeks and reads a few
    times through Python (~0.1 ms). Segments never change once written, so a term's
    info (its postings' extent, frequencies) can be kept by segment id for every reader
    of that segment, in every searcher of the process."""


TERM_INFOS = TermInfoCache(20_000)


class ArrayTermsReader(W3TermsReader):
    """Whoosh's term dictionary (look-ups cached in TERM_INFOS); postings decoded by ``read_term``."""

    def __init__(self, codec, dbfile, length, postfile, posfile, segment_id: str | None = None):
        super().__init__(codec, dbfile, length, postfile)
        self._posfile = posfile
        self._segment_id = segment_id

    def term_info(self, fieldname, tbytes):
        if self._segment_id is None:
            return super().term_info(fieldname, tbytes)
        key = (self._segment_id, fieldname, tbytes)
        info = TERM_INFOS.get(key)
        if info is TERM_INFOS:
            try:
                info = super().term_info(fieldname, tbytes)
            except TermNotFound:
                info = None
            TERM_INFOS.put(key, info)
        if info is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        return info

    def __contains__(self, term):
        try:
            self.term_info(*term)
        except TermNotFound:
            return False
        return True

    def term_postings(self, fieldname: str, tbytes: bytes) -> TermPostings:
        """The arrays of one term (raises TermNotFound when the term is absent)."""
        return read_term(self._postfile, self._posfile, self.term_info(fieldname, tbytes))

    def matcher(self, fieldname, tbytes, format_, scorer=None):
        info = self.term_info(fieldname, tbytes)
        postings = read_term(self._postfile, self._posfile, info)
        return ArrayMatcher(postings, format_, scorer, (fieldname, tbytes), info)

    def close(self):
        super().close()
        self._posfile.close()


class ArrayMatcher(LeafMatcher):
    """Whoosh's matcher interface over one term's arrays (for Whoosh's generic searches)."""

    def __init__(self, postings: TermPostings, format_, scorer=None, term=None, terminfo=None, i: int = 0):
        self.postings = postings
        self.format = format_
        self.scorer = scorer
        self._term = term
        self._terminfo = terminfo
        self._list: list[int] | None = None
        self._i = i

    @property
    def _ids(self) -> list[int]:
        # Python ints for Whoosh's generic code; built only when that code walks the list.
        if self._list is None:
            self._list = self.postings.ids.tolist()
        return self._list

    def copy(self):
        return ArrayMatcher(self.postings, self.format, self.scorer, self._term, self._terminfo, self._i)

    def is_active(self):
        return self._i < len(self._ids)

    def reset(self):
        self._i = 0

    def id(self):
        return self._ids[self._i]

    def all_ids(self):
        return iter(self._ids[self._i:])

    def weight(self):
        return float(self.postings.weights[self._i])

    def value(self):
        return self.postings.value(self._i)

    def next(self):
        if self._i >= len(self._ids):
            raise ReadTooFar
        self._i += 1

    def skip_to(self, id):
        if not self.is_active():
            raise ReadTooFar
        if id > self._ids[self._i]:
            self._i = bisect_left(self._ids, id, self._i)

    def replace(self, minquality=0):
        if not self.is_active() or (minquality and self.max_quality() < minquality):
            return NullMatcher()
        return self

    def block_min_length(self):
        return self._terminfo.min_length()

    def block_max_length(self):
        return self._terminfo.max_length()

    def block_max_weight(self):
        return self._terminfo.max_weight()

    def block_min_id(self):
        return self._ids[0]

    def block_max_id(self):
        return self._ids[-1]

    def skip_to_quality(self, minquality):
        # The whole list is one block: either it can beat minquality or it is done.
        if self.block_quality() <= minquality:
            self._i = len(self._ids)
            return 1
        return 0


__all__ = [
    "ArrayCharacters", "ArrayCodec", "ArrayMatcher", "ArrayTermsReader", "ColumnPostings", "FieldPostings",
    "TERM_INFOS", "encode_field", "TermInfoCache", "TermNotFound",
    "TermPostings", "field_lengths", "foreign_segments", "is_array_segment", "length_column_name", "pack_occurrences",
    "read_term", "pack_ids_weights", "unpack_ids_weights", "record_dtype", "segment_field_lengths", "segment_file_sizes",
    "term_extent", "unpack_occurrences",
]
