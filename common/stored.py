"""Stored fields compressed against a per-segment dictionary (codec format 4).

Whoosh's W3 codec keeps each document's stored fields (body text included) as its own
zlib stream of the pickled dict. A news story is a few hundred bytes to a few KB, too
little for deflate to find much to reuse: at 20k Reuters stories that column was 31% of
the index, barely smaller than the pickles. Here each document is still compressed on
its own (a hit, an article view reads one document and decompresses only it), but
against a preset dictionary (``zlib``'s ``zdict``) sampled from the segment's own first
documents, so the words, phrases and dict keys every story repeats cost a back-reference.

The segment's ``.stz`` file:

    b"ASTZ"
    dictionary     up to 32 KB (deflate's window), pickled docs sampled evenly
    documents      one zlib stream per document (empty: no stored fields)
    offsets        (documents + 1) offsets into the file, uint32 or uint64
    trailer        offsets' position (uint64), documents (uint32), dtype code (uint8),
                   dictionary length (uint32), b"ASTZ"

A reader keeps each segment's dictionary and trailer in a small process-wide cache
(segments never change once written), so a request reads two offsets and one stream.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from array import array

import numpy as np
from whoosh.codec.whoosh3 import W3PerDocReader, W3PerDocWriter

from common.lru import LruCache

STORED_EXT = ".stz"
MAGIC = b"ASTZ"
LEVEL = 6
DICT_BYTES = 32 * 1024  # deflate reaches back at most 32 KB
SAMPLE_BYTES = 1024 * 1024  # pickled docs held back to sample the dictionary from
_TRAILER = struct.Struct("<QIBI4s")
_OFFSETS = (np.dtype("<u4"), np.dtype("<u8"))


def sample_dictionary(docs: list[bytes], size: int = DICT_BYTES) -> bytes:
    """Up to ``size`` bytes of whole documents spread evenly over ``docs``."""
    total = sum(map(len, docs))
    if total <= size:
        return b"".join(docs)
    step = total / size  # take about one document in every ``step``
    picked, next_at, seen = [], 0.0, 0
    for doc in docs:
        if seen >= next_at and doc:
            picked.append(doc)
            next_at += step * len(doc)
        seen += len(doc)
    return b"".join(picked)[-size:]


class StoredFieldsWriter(W3PerDocWriter):
    """W3's per-document writer with stored fields in ``.stz`` instead of its ``_stored`` column.

    Stored values are taken in ``add_field`` (Whoosh gets None, so its column stays
    empty); each document is pickled in ``finish_doc``. The first ~1 MB of documents wait
    in memory until the dictionary is sampled from them; later ones are written at once.
    """

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        self._stz = segment.create_file(storage, STORED_EXT)
        self._stz.write(MAGIC)
        self._offsets = array("Q")
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._zdict: bytes | None = None
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
        """Sample the dictionary from the held documents, write it, then them."""
        self._zdict = sample_dictionary(self._held)
        self._stz.write(self._zdict)
        held, self._held = self._held, []
        for data in held:
            self._write(data)

    def _write(self, data: bytes) -> None:
        self._offsets.append(self._stz.tell())
        if data:
            packer = zlib.compressobj(LEVEL, zdict=self._zdict) if self._zdict else zlib.compressobj(LEVEL)
            self._stz.write(packer.compress(data) + packer.flush())

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


# segment id -> (dictionary, offsets' position, documents, offsets dtype)
HEADS = LruCache(256)


class StoredFieldsReader(W3PerDocReader):
    """W3's per-document reader; stored fields come from ``.stz`` (opened on first use)."""

    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._where = (storage, segment)
        self._stz = None
        self._head = None

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

    def stored_fields(self, docnum):
        if self._stz is None:
            self._open()
        zdict, at, ndocs, dtype = self._head
        if not 0 <= docnum < ndocs:
            raise IndexError(f"document {docnum} of {ndocs}")
        start, end = np.frombuffer(self._stz.get(at + docnum * dtype.itemsize, 2 * dtype.itemsize), dtype=dtype)
        if start == end:
            return {}
        raw = self._stz.get(int(start), int(end - start))
        try:
            unpacker = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
            data = unpacker.decompress(raw)
            if not unpacker.eof:
                raise CorruptStoredFields(f"stored fields of document {docnum} are cut short")
        except zlib.error as exc:
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
           "read_head", "sample_dictionary"]
