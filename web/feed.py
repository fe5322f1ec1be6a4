"""Atom feed of a search response (feedgen writes valid Atom 1.0)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable

from feedgen.feed import FeedGenerator

from common.dates import PubDate
from search.results import SearchResponse

_TAGS = re.compile(r"<[^>]+>")
# Characters XML 1.0 cannot carry (C0 controls but tab/newline/CR, surrogates, U+FFFE/F):
# query text and document text are untrusted, so they are dropped, not passed to lxml.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _updated(date: str | None) -> datetime:
    if date:
        try:
            return PubDate.parse(date).start.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime(1970, 1, 1, tzinfo=timezone.utc)


def atom_feed(res: SearchResponse, self_url: str, site_url: str, article_url: Callable[[str], str]) -> bytes:
    """The newest matches as an Atom document; links point at the article pages."""
    fg = FeedGenerator()
    q = res.request.q
    fg.id(_xml(self_url))
    fg.title(_xml(f"News archive: {q}" if q else "News archive: newest articles"))
    fg.link(href=_xml(self_url), rel="self", type="application/atom+xml")
    fg.link(href=site_url, rel="alternate", type="text/html")
    fg.author({"name": "News archive search"})
    newest = max((_updated(h.date) for h in res.hits), default=datetime(1970, 1, 1, tzinfo=timezone.utc))
    fg.updated(newest)
    for hit in reversed(res.hits):  # feedgen prepends entries
        fe = fg.add_entry()
        link = article_url(hit.id)
        fe.id(link)
        fe.title(_xml(hit.title or hit.path or hit.id))
        fe.link(href=link, rel="alternate", type="text/html")
        fe.updated(_updated(hit.date))
        fe.summary(_xml(_TAGS.sub("", hit.snippet)), type="html")
    return fg.atom_str(pretty=True)
