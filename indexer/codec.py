"""Whoosh's own codec with one change on the write path: field lengths read from memory.

While a commit writes postings, Whoosh looks up the length of the document's field for
every posting (for the block's min/max length) by seeking and reading one byte from the
segment's length column: about a quarter of commit time. This reader loads each length
column once. The index files are byte for byte what ``W3Codec`` writes, and segments
record a plain ``W3Codec``, so readers need nothing from this module.
"""

from __future__ import annotations

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, _lenfield
from whoosh.util.numeric import byte_to_length


class WriterCodec(W3Codec):
    """Pass to ``ix.writer(codec=WriterCodec())``."""

    def per_document_reader(self, storage, segment):
        return _MemoryLengthsReader(storage, segment)

    def new_segment(self, storage, indexname):
        plain = W3Codec(self._blocklimit, self._compression, self._inlinelimit)
        return plain.new_segment(storage, indexname)


class _MemoryLengthsReader(W3PerDocReader):
    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._lengths: dict[str, object] = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            lengths = self._lengths[fieldname] = reader.load() if reader is not None else ()
        if docnum < len(lengths) and lengths[docnum]:
            return byte_to_length(lengths[docnum])
        return default
