"""The Whoosh schema: the contract between the indexer (writer) and search (reader).

Two kinds of documents live in one index:
- ``article``: a cleaned article, searchable;
- ``duplicate``: a file whose cleaned text equals an article's; it holds only the file
  state and ``dup_of``, so the text is indexed once and the copy can still be listed.
- ``skipped``: a file that yields no article (binary, no text after cleaning...), kept
  with its reason so an unchanged bad file is not read again on every run.
Every file the indexer examined has exactly one document, keyed by ``id``, which also
makes the index its own record of file states (size, mtime, hash) for incremental runs.
"""

from __future__ import annotations

import numpy as np
from whoosh import columns, fields

from common.analysis import TERM_SEP, index_block, index_postings, news_analyzer
from common.codec import ArrayCharacters

KIND_ARTICLE = "article"
KIND_DUPLICATE = "duplicate"
KIND_SKIPPED = "skipped"

TITLE_BOOST = 2.0


class PreAnalyzed:
    """A text field's postings, computed in a worker process (``index_block``'s bytes).

    Analysis is the largest share of indexing that is not Whoosh's own bookkeeping, and
    Whoosh's writer runs in one process; computing postings in the cleaning workers lets
    both cores share it. Packed as three byte strings so the writer takes them as arrays
    (``common.bulkwriter``); ``items`` gives Whoosh's per-posting tuples for any other
    writer. Pass the text itself as ``_stored_<field>``.
    """

    __slots__ = ("terms", "freqs", "occurrences", "boost")

    def __init__(self, terms: bytes, freqs: bytes, occurrences: bytes, boost: float = 1.0):
        self.terms, self.freqs, self.occurrences, self.boost = terms, freqs, occurrences, boost

    def term_list(self) -> list[bytes]:
        """The terms as UTF-8 bytes, in block order."""
        return self.terms.split(TERM_SEP) if self.freqs else []

    @property
    def items(self) -> list[tuple[bytes, int, float, bytes]]:
        """(term, frequency, weight, ArrayCharacters value) per term, as ``TEXT.index`` gives."""
        freqs = np.frombuffer(self.freqs, dtype="<u4").tolist()
        occ = np.frombuffer(self.occurrences, dtype="<u4")
        ends = np.cumsum(freqs, dtype=np.int64) * 12
        starts = ends - np.asarray(freqs, dtype=np.int64) * 12
        raw = occ.tobytes()
        return [(t, f, f * self.boost, raw[a:b])
                for t, f, a, b in zip(self.term_list(), freqs, starts.tolist(), ends.tolist())]


class NewsText(fields.TEXT):
    """TEXT with positions and characters as arrays (``ArrayCharacters``), accepting
    PreAnalyzed postings too (same analyzer, same format)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.format = ArrayCharacters(field_boost=self.format.field_boost)

    def index(self, value, **kwargs):
        if isinstance(value, PreAnalyzed):
            return iter(value.items)  # Whoosh's writer; ours takes the block whole
        if isinstance(value, str) and not kwargs:
            return iter(index_postings(value, self.format.field_boost, self.format.encode))
        return super().index(value, **kwargs)

    def postings(self, value: str) -> PreAnalyzed:
        """Analyse text into the postings ``index`` would produce, for another process."""
        return PreAnalyzed(*index_block(value), boost=self.format.field_boost)


def column_key(stored: bool = True) -> fields.ID:
    """A string read per document (a column) and never searched, so not indexed.

    Paths, hashes and per-document labels are unique or nearly so: as terms they made
    up about 40% of the term dictionary and a sixth of commit time for nothing.
    """
    field = fields.ID(stored=stored, sortable=True)
    field.indexed = False
    return field


def build_schema() -> fields.Schema:
    """A fresh schema instance (Whoosh mutates field objects, so never share one)."""
    analyzer = news_analyzer()
    return fields.Schema(
        # Searched fields: id (updates, lookups), kind, source_key, tags, dated, text.
        id=fields.ID(stored=True, unique=True, sortable=True),
        kind=fields.ID(stored=True),
        path=column_key(),
        # File state for incremental runs, read as columns (no unpickling of bodies).
        size=fields.COLUMN(columns.NumericColumn("q")),
        mtime_ns=fields.COLUMN(columns.NumericColumn("q")),
        file_hash=column_key(),
        meta_hash=column_key(),  # the manifest entry's hash
        content_hash=column_key(),
        dup_of=column_key(),
        skip_reason=fields.STORED(),
        # Article text. chars=True stores offsets so highlighting needs no re-analysis.
        title=NewsText(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST, chars=True),
        body=NewsText(analyzer=analyzer, stored=True, chars=True),
        url=fields.STORED(),
        author=fields.STORED(),
        source=column_key(),  # display name; filters use source_key
        source_key=fields.ID(sortable=True),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        tag_labels=column_key(stored=False),  # the tags as written, to label tag facets
        # Dates: the period the date covers, as naive UTC datetimes, for overlap filters.
        date=column_key(),
        date_precision=column_key(),
        date_origin=fields.STORED(),
        # Columns only (Whoosh's long form of the datetime): filters and sorts read them
        # per document; an indexed DATETIME would cost 16 terms per value.
        date_start=fields.COLUMN(columns.NumericColumn("q")),
        date_end=fields.COLUMN(columns.NumericColumn("q")),
        year=column_key(stored=False),
        month=column_key(stored=False),
        dated=fields.BOOLEAN(),
    )


def schema_matches(schema: fields.Schema) -> bool:
    """Whether an index was written with this code's schema: same fields, same types.

    An index from an older version (a field added, a field no longer indexed) cannot take
    this version's documents; the indexer rebuilds it rather than fail on every run.
    """
    current = build_schema()
    if sorted(schema.names()) != sorted(current.names()):
        return False
    return all(_signature(schema[name]) == _signature(current[name]) for name in current.names())


def _signature(field: fields.FieldType) -> tuple:
    """A field's type and settings, comparable across instances (columns lack __eq__)."""
    settings = []
    for key, value in sorted(vars(field).items()):
        if isinstance(value, columns.Column):
            value = (type(value).__name__, sorted(vars(value).items()))
        settings.append((key, value))
    return type(field).__name__, settings
