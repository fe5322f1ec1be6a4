"""An article's recorded versions and word diffs between them, for both backends.

Versions live in the indexer's ``state.sqlite3`` (``indexer/versions.py``), written the
same way by the Whoosh run and the Solr sink, so the Whoosh engine and the Solr backend
read them through this one class over their state folder (``search/provenance.py``).
"""

from __future__ import annotations

from search.diff import word_diff_html
from search.provenance import ProvenanceState
from search.results import VersionInfo


def version_text(v) -> str:
    """A version as diffed: headline, blank line, body (a headline edit shows too)."""
    return f"{v.title}\n\n{v.body}"


class History:
    """Versions and diffs of articles, read from one state folder's provenance state."""

    def __init__(self, provenance: ProvenanceState) -> None:
        self.provenance = provenance

    def versions(self, article_id: str) -> list[VersionInfo]:
        """The versions of an article's story (its resolved id), oldest first."""
        return [VersionInfo(x.seen, x.title, x.date, x.content_hash, x.doc_id)
                for x in self.provenance.versions(article_id)]

    def diff(self, article_id: str, old: int, new: int) -> str:
        """Word diff (safe HTML) between versions ``old`` and ``new`` of an article.

        Raises IndexError (its argument: the number of versions) when either is out of range.
        """
        found = self.provenance.versions(article_id)
        if not (0 <= old < len(found) and 0 <= new < len(found)):
            raise IndexError(len(found))
        return word_diff_html(version_text(found[old]), version_text(found[new]))
