"""Whoosh column files read whole, as numpy arrays.

Whoosh's column readers hand out one value per call, each a seek and a read through
the segment's compound file: reading the per-document columns of 200k documents that
way cost a search server ~10 s before its first answer, again after every merge. The
layout of a column file is fixed by Whoosh 2.7 (pinned, and no longer developed):

- a ``NumericColumn`` is its values packed big-endian back to back; documents past the
  last written value (and skipped ones, written as the default) read as the default;
- a ``VarBytesColumn`` is its values back to back, then the lengths as a big-endian
  array whose typecode is the file's last byte; when the column had more than 2**15
  documents an offsets array follows the lengths, and the file ends with the two
  typecodes and an ``X``.

This module is the one place that knows that layout; ``tests/test_column_arrays.py``
compares every column of real multi-segment indexes with Whoosh's own readers.
"""

from __future__ import annotations

import numpy as np
from whoosh.codec.whoosh3 import W3Codec


class ColumnFileDamaged(ValueError):
    """A column file too short for its segment's document count (truncated or foreign)."""


def column_file(reader, fieldname: str) -> bytes | None:
    """The whole column file of one field in one segment reader, or None if it has none."""
    storage, segment = reader.storage(), reader.segment()
    name = W3Codec.column_filename(segment, fieldname)
    if not storage.file_exists(name):
        return None
    f = storage.open_file(name)
    try:
        return f.read(storage.file_length(name))
    finally:
        f.close()


INT_TYPECODES = "bBhHiIlLqQ"  # what Whoosh's arrays of lengths and offsets are made of


def _itemsize(typecode: str) -> int:
    if typecode not in INT_TYPECODES:
        raise ColumnFileDamaged(f"column file ends in {typecode!r}, not an array typecode")
    return np.dtype(typecode).itemsize


def _array(raw: bytes, start: int, typecode: str, count: int) -> np.ndarray:
    _itemsize(typecode)
    dtype = np.dtype(typecode).newbyteorder(">")
    end = start + dtype.itemsize * count
    if start < 0 or end > len(raw):
        raise ColumnFileDamaged(f"column array of {count} items does not fit in {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=start).astype(np.int64)


def numeric(raw: bytes | None, typecode: str, doccount: int, default: int = 0) -> np.ndarray:
    """A NumericColumn's values for ``doccount`` documents, as int64."""
    out = np.full(doccount, default, dtype=np.int64)
    if raw:
        size = np.dtype(typecode).itemsize
        count = min(len(raw) // size, doccount)
        out[:count] = _array(raw, 0, typecode, count)
    return out


def var_bytes(raw: bytes | None, doccount: int) -> tuple[np.ndarray, np.ndarray]:
    """A VarBytesColumn's (offsets, lengths) into ``raw``, one pair per document."""
    if not raw:
        return np.zeros(doccount, np.int64), np.zeros(doccount, np.int64)
    last = len(raw) - 1
    lens_code = chr(raw[last])
    if lens_code == "X":
        lens_code, offsets_code = chr(raw[last - 2]), chr(raw[last - 1])
        last = last - 2 - _itemsize(offsets_code) * doccount
    start = last - _itemsize(lens_code) * doccount
    lengths = _array(raw, start, lens_code, doccount)
    offsets = np.cumsum(lengths) - lengths
    if doccount and offsets[-1] + lengths[-1] > start:
        raise ColumnFileDamaged(f"column values of {doccount} documents overrun their {len(raw)}-byte file")
    return offsets, lengths


def strings(raw: bytes | None, doccount: int) -> list[str]:
    """A VarBytesColumn of UTF-8 text, one str per document ("" where none)."""
    if raw is None:
        return [""] * doccount
    offsets, lengths = var_bytes(raw, doccount)
    return [raw[o:o + n].decode("utf-8", "replace") for o, n in zip(offsets.tolist(), lengths.tolist())]


PAD_LIMIT = 1 << 25  # bytes of the padded matrix coded_strings builds (wider columns take the slow path)


def coded_strings(raw: bytes | None, doccount: int) -> tuple[np.ndarray, list[str]]:
    """A VarBytesColumn of text as (codes, labels): codes index labels, -1 for no value.

    The values are laid into a padded byte matrix and coded by ``np.unique``, each
    distinct value decoded once: a column of a few sources or months over 200k
    documents costs no Python per document. Values holding NUL bytes (which numpy's
    fixed-width strings would trim) and very wide columns are coded one by one."""
    if raw is None:
        return np.full(doccount, -1, dtype=np.int32), []
    offsets, lengths = var_bytes(raw, doccount)
    total, width = int(lengths.sum()), int(lengths.max(initial=0))
    flat = np.frombuffer(raw, dtype=np.uint8, count=total)
    if width == 0:
        return np.full(doccount, -1, dtype=np.int32), []
    if doccount * width > PAD_LIMIT or not flat.all():
        return _coded_one_by_one(raw, offsets, lengths)
    matrix = np.zeros((doccount, width), dtype=np.uint8)
    matrix[np.repeat(np.arange(doccount), lengths), np.arange(total) - np.repeat(offsets, lengths)] = flat
    unique, inverse = np.unique(matrix.view(f"S{width}").ravel(), return_inverse=True)
    codes = inverse.astype(np.int32).ravel()
    labels = [u.decode("utf-8", "replace") for u in unique.tolist()]
    if labels[0] == "":  # documents without a value: the empty string sorts first
        return codes - 1, labels[1:]
    return codes, labels


def _coded_one_by_one(raw: bytes, offsets: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, list[str]]:
    index: dict[bytes, int] = {b"": -1}
    codes = np.fromiter((index.setdefault(raw[o:o + n], len(index) - 1)
                         for o, n in zip(offsets.tolist(), lengths.tolist())), dtype=np.int32, count=len(offsets))
    return codes, [b.decode("utf-8", "replace") for b in index if b]
