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

from whoosh import columns, fields

from common.analysis import news_analyzer

KIND_ARTICLE = "article"
KIND_DUPLICATE = "duplicate"
KIND_SKIPPED = "skipped"

TITLE_BOOST = 2.0


class PreAnalyzed:
    """A text field's postings, computed in a worker process.

    Analysis is the largest share of indexing that is not Whoosh's own bookkeeping, and
    Whoosh's writer runs in one process; computing postings in the cleaning workers lets
    both cores share it. Pass the text itself as ``_stored_<field>``.
    """

    __slots__ = ("items",)

    def __init__(self, items: list):
        self.items = items


class NewsText(fields.TEXT):
    """TEXT that also accepts PreAnalyzed postings (same analyzer, same format)."""

    def index(self, value, **kwargs):
        if isinstance(value, PreAnalyzed):
            return iter(value.items)
        return super().index(value, **kwargs)

    def postings(self, value: str) -> PreAnalyzed:
        """Analyse text into the postings ``index`` would produce, for another process."""
        return PreAnalyzed(list(super().index(value)))


def build_schema() -> fields.Schema:
    """A fresh schema instance (Whoosh mutates field objects, so never share one)."""
    analyzer = news_analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        kind=fields.ID(stored=True),
        path=fields.ID(stored=True, sortable=True),
        # File state for incremental runs, read as columns (no unpickling of bodies).
        # Columns only: never searched, so not worth a term per document.
        size=fields.COLUMN(columns.NumericColumn("q")),
        mtime_ns=fields.COLUMN(columns.NumericColumn("q")),
        file_hash=fields.ID(stored=True, sortable=True),
        meta_hash=fields.ID(stored=True, sortable=True),  # the manifest entry's hash
        content_hash=fields.ID(stored=True, sortable=True),
        dup_of=fields.ID(stored=True, sortable=True),
        skip_reason=fields.STORED(),
        # Article text. chars=True stores offsets so highlighting needs no re-analysis.
        title=NewsText(analyzer=analyzer, stored=True, field_boost=TITLE_BOOST, chars=True),
        body=NewsText(analyzer=analyzer, stored=True, chars=True),
        url=fields.STORED(),
        author=fields.STORED(),
        source=fields.ID(stored=True, sortable=True),
        source_key=fields.ID(sortable=True),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True, scorable=True),
        # Dates: the period the date covers, as naive UTC datetimes, for overlap filters.
        date=fields.ID(stored=True),
        date_precision=fields.ID(stored=True),
        date_origin=fields.STORED(),
        # Columns only (Whoosh's long form of the datetime): filters and sorts read them
        # per document; an indexed DATETIME would cost 16 terms per value.
        date_start=fields.COLUMN(columns.NumericColumn("q")),
        date_end=fields.COLUMN(columns.NumericColumn("q")),
        year=fields.ID(sortable=True),
        month=fields.ID(sortable=True),
        dated=fields.BOOLEAN(),
    )
