"""Our postings format, through Whoosh's public codec API (``whoosh.codec.base.Codec``).

Whoosh's own codec stores each posting list as pickled blocks, so any reader decodes it
one Python object per posting. ``ArrayCodec`` keeps Whoosh's term dictionary, columns,
stored fields, segments and TOC, and replaces only the postings: per term, in the
segment's ``.pst`` file,

    doc numbers    n x uint32 little-endian, ascending
    weights        n x float32 little-endian (term frequency x field boost)
    [values]       uint64 offset into the ``.pos`` file, then n x uint32 value lengths

The values (Whoosh's encoded positions and character offsets) live in a separate
``.pos`` stream, read only for phrases, proximity and the snippets of the hits shown.
Each segment records the codec that wrote it (it is pickled into the TOC), so plain
``whoosh.index.open_dir()`` opens and searches our indexes with no flag; Whoosh's generic
matchers get ``ArrayMatcher``, search's array path reads ``TermPostings``.
"""

from __future__ import annotations

import struct
import threading
from bisect import bisect_left
from collections import OrderedDict
from itertools import chain

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3FieldWriter, W3TermInfo, W3TermsReader
from whoosh.matching import LeafMatcher, NullMatcher, ReadTooFar
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

POSITIONS_EXT = ".pos"
FORMAT_VERSION = 1
_U4 = np.dtype("<u4")
_F4 = np.dtype("<f4")
_BASE = struct.Struct("<Q")
SMALL = 32  # below this many postings struct.pack beats building numpy arrays
_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.int64)


class ArrayCharacters(formats.Characters):
    """Positions and character offsets as little-endian uint32 triples (pos, start, end).

    Whoosh's own Characters format pickles delta lists, so reading the positions of a
    hundred documents cost a hundred unpicklings; these values decode with one
    ``np.frombuffer`` over the joined bytes of many postings (phrases, proximity).
    Whoosh's generic code (highlighting, Phrase queries) reads them through the same
    ``decode_*`` methods, so plain Whoosh still searches the index.
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


def decode_triples(blob: bytes) -> np.ndarray:
    """The (pos, start, end) rows of one or more joined ArrayCharacters values."""
    return np.frombuffer(blob, dtype=_U4).reshape(-1, 3)


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
    """Whoosh's W3 codec with array postings (pass to ``ix.writer(codec=ArrayCodec())``)."""

    format_version = FORMAT_VERSION

    def field_writer(self, storage, segment):
        return ArrayFieldWriter(self, storage, segment)

    def terms_reader(self, storage, segment):
        tiname = segment.make_filename(self.TERMS_EXT)
        tifile = storage.open_file(tiname)
        postfile = segment.open_file(storage, self.POSTS_EXT)
        posfile = segment.open_file(storage, POSITIONS_EXT)
        return ArrayTermsReader(self, tifile, storage.file_length(tiname), postfile, posfile, segment.segment_id())


def segment_field_lengths(reader, fieldname: str) -> np.ndarray:
    """One segment reader's field lengths as an array, read from its length column at once."""
    perdoc = reader.codec().per_document_reader(reader.storage(), reader.segment())
    try:
        return field_lengths(perdoc, fieldname, reader.doc_count_all())
    finally:
        perdoc.close()


def is_array_segment(segment) -> bool:
    """Whether a segment was written by this module's codec (others need a rebuild)."""
    codec = segment.codec()
    return isinstance(codec, ArrayCodec) and getattr(codec, "format_version", 0) == FORMAT_VERSION


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
        """Group Whoosh's sorted (field, term, doc, weight, value) stream into terms."""
        self._perdoc = lengths
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
        if n < SMALL:
            post.write(struct.pack(f"<{n}I{n}f", *ids, *weights))
        else:
            post.write(np.asarray(ids, dtype=_U4).tobytes())
            post.write(np.asarray(weights, dtype=_F4).tobytes())
        if any(values):
            post.write(_BASE.pack(self._posfile.tell()))
            post.write(struct.pack(f"<{n}I", *map(len, values)))
            self._posfile.write(b"".join(values))
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

    def close(self):
        super().close()
        self._posfile.close()


# -- reading ------------------------------------------------------------------------------


class TermPostings:
    """One term's postings in one segment: doc numbers and weights as arrays, values lazily."""

    __slots__ = ("ids", "weights", "_posfile", "_base", "_lens", "_ends", "_blob")

    def __init__(self, ids: np.ndarray, weights: np.ndarray, posfile=None, base: int = 0,
                 lens: np.ndarray | None = None) -> None:
        self.ids = ids
        self.weights = weights
        self._posfile, self._base, self._lens = posfile, base, lens
        self._ends = None
        self._blob = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_values(self) -> bool:
        return self._lens is not None

    def _load(self) -> None:
        self._ends = np.cumsum(self._lens, dtype=np.int64)
        total = int(self._ends[-1]) if len(self._ends) else 0
        self._blob = self._posfile.get(self._base, total) if total else b""

    def gather(self, indices: np.ndarray) -> list[bytes]:
        """The values of the postings at the given indices.

        A few postings of a long list are read one by one; otherwise (or once the whole
        stream is in memory) they are sliced from the term's stream read at once.
        """
        if self._lens is None:
            return [b""] * len(indices)
        if self._ends is None:
            self._ends = np.cumsum(self._lens, dtype=np.int64)
        ends = self._ends[indices].tolist()
        lens = self._lens[indices].tolist()
        if self._blob is None and len(indices) * 16 < len(self._lens):
            get, base = self._posfile.get, self._base
            return [get(base + e - n, n) for e, n in zip(ends, lens)]
        if self._blob is None:
            self._load()
        blob = self._blob
        return [blob[e - n:e] for e, n in zip(ends, lens)]

    def value(self, i: int) -> bytes | None:
        """The encoded value (positions, characters) of the i-th posting (None: no values)."""
        if self._lens is None:
            return None
        if self._ends is None:
            self._load()
        end = int(self._ends[i])
        return self._blob[end - int(self._lens[i]):end]


def read_term(postfile, posfile, info) -> TermPostings:
    """Decode one term's record (its extent in ``.pst``) into arrays."""
    offset, length = info.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes keeps the unpacked struct tuple
        length = length[0]
    n = info.doc_frequency()
    raw = postfile.get(offset, length)
    if len(raw) != length or length not in (8 * n, 8 * n + 8 + 4 * n):
        raise ValueError(f"postings record of {length} bytes for {n} postings")
    ids = np.frombuffer(raw, dtype=_U4, count=n)
    weights = np.frombuffer(raw, dtype=_F4, count=n, offset=4 * n)
    if length == 8 * n:
        return TermPostings(ids, weights)
    (base,) = _BASE.unpack_from(raw, 8 * n)
    lens = np.frombuffer(raw, dtype=_U4, count=n, offset=8 * n + 8)
    return TermPostings(ids, weights, posfile, base, lens)


class TermInfoCache:
    """Term -> term info (None: absent) per segment, least recently used dropped first.

    Whoosh's term dictionary is an on-disk hash file: each look-up seeks and reads a few
    times through Python (~0.1 ms). Segments never change once written, so a term's
    info (its postings' extent, frequencies) can be kept by segment id for every reader
    of that segment, in every searcher of the process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key, self)
            if value is not self:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)


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
    "ArrayCharacters", "ArrayCodec", "decode_triples", "ArrayMatcher", "ArrayTermsReader", "TermNotFound", "TermPostings",
    "field_lengths", "is_array_segment", "segment_field_lengths", "length_column_name", "read_term",
]
