"""Article versions in the Solr collection: each article's ``changed`` and ``headline_changed``.

Versions are recorded in ``state.sqlite3`` as for the Whoosh index (``indexer/versions.py``,
through ``indexer/provenance.py``); Solr only needs, per article, whether its story has
more than one version and whether the headline changed, so that the ``changed`` and
``headline_changed`` filters and the ``edits`` facet are plain ``fq`` and ``facet.query``
(exact totals, pages and counts, after story collapse as on Whoosh). A new version can
land under another file (a page saved again under a new name, same address), so an
article sent earlier can become changed: each batch computes the state of every article
in the stories it touched, sets it in the batch's own documents, and sends the others an
atomic update. Stories only gain versions, and an article that moves to another story is
itself in the batch, so the stories a batch touches are the only ones whose state moves;
a killed batch is sent again with its documents, so its stories are computed again.
"""

from __future__ import annotations

import sqlite3

from indexer import statedb, versions

FIELDS = ("changed", "headline_changed")


def prepare(con: sqlite3.Connection) -> None:
    """The version tables exist (a first run may send a batch before recording any version)."""
    statedb.migrate(con, versions.OWNER, versions.MIGRATIONS)


def pending(con: sqlite3.Connection, article_ids: list[str]) -> dict[str, tuple[bool, bool]]:
    """doc id -> (changed, headline_changed) for the articles of every story these touch."""
    return versions.edit_state(con, article_ids)


def fields(changed: bool, headline_changed: bool) -> dict:
    """The version fields of one article document."""
    return {"changed": changed, "headline_changed": headline_changed}


def atomic_update(doc_id: str, changed: bool, headline_changed: bool) -> dict:
    """An update of an article Solr already holds (``_version_: 1``: skipped, not created,
    when it does not: an article since removed still has its story's rows)."""
    return {"id": doc_id, "_version_": 1, **{k: {"set": v} for k, v in fields(changed, headline_changed).items()}}
