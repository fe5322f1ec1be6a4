"""Stored fields compressed against a per-segment dictionary (codec format 4).

Whoosh's W3 codec keeps each document's stored fields (body text included) as its own
zlib stream of the pickled dict. A news story is a few hundred bytes to a few KB, too
little for deflate to find much to reuse: at 20k Reuters stories that column was 31% of
the index, barely smaller than the pickles. Here each document is still compressed on
its own (a hit, an article view reads one document and decompresses only it), with
Zstandard and a dictionary trained on the segment's own first documents, so the words,
phrases and dict keys every story repeats cost a back-reference. (zlib with a preset
dictionary sampled from the same documents gave 9.2 MB at 20k Reuters, zstd 7.8 MB.)

The segment's ``.stz`` file:

    b"ASTZ"
    dictionary     a zstd dictionary (empty: too few documents to train one)
    documents      one zstd frame per document, with its checksum (empty: no fields)
    offsets        (documents + 1) offsets into the file, uint32 or uint64
    trailer        offsets' position (uint64), documents (uint32), dtype code (uint8),
                   dictionary length (uint32), b"ASTZ"

A reader keeps each segment's dictionary and trailer in a small process-wide cache
(segments never change once written), so a request reads two offsets and one frame.
"""

from __future__ import annotations

import pickle
import struct
from array import array

import numpy as np
import zstandard
from whoosh.codec.whoosh3 import W3PerDocReader, W3PerDocWriter

from common.lru import LruCache

STORED_EXT = ".stz"
MAGIC = b"ASTZ"
LEVEL = 12  # 1.3 s per 20k Reuters stories here (zlib level 6: 0.9 s); 3% smaller than level 9
DICT_BYTES = 112_640  # zstd's own default dictionary size
SAMPLE_BYTES = 2 * 1024 * 1024  # pickled docs held back to train the dictionary on
MIN_SAMPLE = 64 * 1024  # below this, a dictionary would not pay for itself
# zstd's COVER trainer parameters (segment size, d-mer size), fixed: left at 0, zstd
# searches for them, which took 1.9-3.2 s per segment in the writer (the commit's
# largest part once postings were written as arrays); these train in 0.2 s and, on
# 3,000 Reuters stories, compress 0.7% smaller than the searched ones.
TRAIN_K, TRAIN_D = 512, 6
_TRAILER = struct.Struct("<QIBI4s")
_OFFSETS = (np.dtype("<u4"), np.dtype("<u8"))


def train_dictionary(docs: list[bytes]) -> bytes:
    """A zstd dictionary for documents like ``docs`` (b"" when they are too few)."""
    total = sum(map(len, docs))
    if total < MIN_SAMPLE:
        return b""
    try:
        return zstandard.train_dictionary(min(DICT_BYTES, total // 8), [d for d in docs if d], level=LEVEL,
                                          k=TRAIN_K, d=TRAIN_D).as_bytes()
    except zstandard.ZstdError:  # too little variety to train on: compress without one
        return b""


def compressor(zdict: bytes) -> zstandard.ZstdCompressor:
    """The compressor of a segment's documents (checksums: damage is detected on read)."""
    kw = {"dict_data": zstandard.ZstdCompressionDict(zdict)} if zdict else {}
    return zstandard.ZstdCompressor(level=LEVEL, write_checksum=True, **kw)


def decompressor(zdict: bytes) -> zstandard.ZstdDecompressor:
    """The decompressor of a segment's documents (one per reader: not shared by threads)."""
    kw = {"dict_data": zstandard.ZstdCompressionDict(zdict)} if zdict else {}
    return zstandard.ZstdDecompressor(**kw)


class StoredFieldsWriter(W3PerDocWriter):
    """W3's per-document writer with stored fields in ``.stz`` instead of its ``_stored`` column.

    Stored values are taken in ``add_field`` (Whoosh gets None, so its column stays
    empty); each document is pickled in ``finish_doc``. The first ~2 MB of documents wait
    in memory until the dictionary is trained on them; later ones are written at once.
    """

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self._stz = segment.create_file(storage, STORED_EXT)
        self._stz.write(MAGIC)
        self._offsets = array("Q")
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._zdict: bytes | None = None
        self._packer = None
        self._doc: dict | None = None

    def start_doc(self, docnum):
        super().start_doc(docnum)
        self._doc = {}

    def add_field(self, fieldname, fieldobj, value, length):
        if value is not None and self._doc is not None:
            self._doc[fieldname] = value
        super().add_field(fieldname, fieldobj, None, length)

    def cancel_doc(self):
        super().cancel_doc()
        self._doc = None

    def finish_doc(self):
        super().finish_doc()
        if self._doc is None:  # W3's close() calls finish_doc() once more, outside a document
            return
        data = pickle.dumps(self._doc, 2) if self._doc else b""
        self._doc = None
        if self._zdict is not None:
            self._write(data)
            return
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes >= SAMPLE_BYTES:
            self._release()

    def _release(self) -> None:
        """Train the dictionary on the held documents, write it, then them."""
        self._zdict = train_dictionary(self._held)
        self._packer = compressor(self._zdict)
        self._stz.write(self._zdict)
        held, self._held = self._held, []
        for data in held:
            self._write(data)

    def _write(self, data: bytes) -> None:
        self._offsets.append(self._stz.tell())
        if data:
            self._stz.write(self._packer.compress(data))

    def close(self):
        super().close()
        if self._zdict is None:
            self._release()
        end = self._stz.tell()
        self._offsets.append(end)
        code = 0 if end < 2 ** 32 else 1
        self._stz.write(np.asarray(self._offsets, dtype=_OFFSETS[code]).tobytes())
        self._stz.write(_TRAILER.pack(end, len(self._offsets) - 1, code, len(self._zdict), MAGIC))
        self._stz.close()


class CorruptStoredFields(ValueError):
    """The ``.stz`` file does not hold what its trailer says (a damaged segment)."""


# segment id -> (dictionary, offsets' position, documents, offsets dtype); a live index
# has a few to a few dozen segments, each dictionary at most DICT_BYTES
HEADS = LruCache(64)


class StoredFieldsReader(W3PerDocReader):
    """W3's per-document reader; stored fields come from ``.stz`` (opened on first use)."""

    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._where = (storage, segment)
        self._stz = None
        self._head = None
        self._unpacker = None

    def _open(self):
        storage, segment = self._where
        name = segment.make_filename(STORED_EXT)
        self._stz = storage.open_file(name)
        key = segment.segment_id()
        head = HEADS.get(key)
        if head is HEADS:
            head = read_head(self._stz, storage.file_length(name))
            HEADS.put(key, head)
        self._head = head
        self._unpacker = decompressor(head[0])

    def stored_fields(self, docnum):
        if self._stz is None:
            self._open()
        _zdict, at, ndocs, dtype = self._head
        if not 0 <= docnum < ndocs:
            raise IndexError(f"document {docnum} of {ndocs}")
        start, end = np.frombuffer(self._stz.get(at + docnum * dtype.itemsize, 2 * dtype.itemsize), dtype=dtype)
        if start == end:
            return {}
        raw = self._stz.get(int(start), int(end - start))
        try:
            data = self._unpacker.decompress(raw)
        except zstandard.ZstdError as exc:
            raise CorruptStoredFields(f"stored fields of document {docnum}: {exc}") from exc
        return pickle.loads(data)

    def close(self):
        super().close()
        if self._stz is not None:
            self._stz.close()


def read_head(stz, length: int) -> tuple:
    """(dictionary, offsets' position, documents, offsets dtype) from a ``.stz`` trailer,
    checked against the file's length."""
    if length < len(MAGIC) + _TRAILER.size:
        raise CorruptStoredFields(f"stored fields file of {length} bytes")
    at, ndocs, code, dict_len, magic = _TRAILER.unpack(stz.get(length - _TRAILER.size, _TRAILER.size))
    if magic != MAGIC or code >= len(_OFFSETS):
        raise CorruptStoredFields("stored fields file without its trailer")
    dtype = _OFFSETS[code]
    if at + (ndocs + 1) * dtype.itemsize + _TRAILER.size != length or len(MAGIC) + dict_len > at:
        raise CorruptStoredFields(f"stored fields file of {length} bytes does not match its trailer")
    return stz.get(len(MAGIC), dict_len), at, ndocs, dtype


__all__ = ["CorruptStoredFields", "HEADS", "STORED_EXT", "StoredFieldsReader", "StoredFieldsWriter",
           "compressor", "decompressor", "read_head", "train_dictionary"]
