"""Every match of a search as CSV rows, streamed a chunk of hits at a time.

Cells are spreadsheet-safe: text a spreadsheet would read as a formula (starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import replace
from typing import Iterator

from search.engine import SearchEngine
from search.request import SearchRequest
from search.results import Hit, SearchResponse

COLUMNS = ("id", "date", "date_precision", "source", "title", "url", "path", "snippet")
CHUNK = 1000  # hits per library call (the HTTP API's page limit does not apply here)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TAGS = re.compile(r"<[^>]*>")


def safe_cell(value: object) -> str:
    """The value as text a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def plain_snippet(snippet_html: str) -> str:
    """The engine's HTML snippet as plain text (marks dropped, entities decoded)."""
    return " ".join(html.unescape(_TAGS.sub("", snippet_html)).split())


def hit_row(hit: Hit) -> list[str]:
    values = (hit.id, hit.date, hit.date_precision, hit.source, hit.title, hit.url, hit.path,
              plain_snippet(hit.snippet))
    return [safe_cell(v) for v in values]


def _line(row: list[str] | tuple[str, ...]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(row)
    return buf.getvalue()


def first_chunk(engine: SearchEngine, req: SearchRequest) -> SearchResponse:
    """The first chunk, fetched before streaming starts so errors still get a status."""
    return engine.search(replace(req, page=1, size=CHUNK))


def csv_lines(engine: SearchEngine, req: SearchRequest, first: SearchResponse) -> Iterator[str]:
    """The header and one line per match, in the request's order, every page.

    An indexer commit between two chunks can shift the order; ids already written are
    not written again.
    """
    yield "\ufeff" + _line(COLUMNS)  # the BOM makes spreadsheets read UTF-8
    seen: set[str] = set()
    res, page = first, 1
    while True:
        for hit in res.hits:
            if hit.id not in seen:
                seen.add(hit.id)
                yield _line(hit_row(hit))
        if page * CHUNK >= res.total or not res.hits:
            return
        page += 1
        res = engine.search(replace(req, page=page, size=CHUNK))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def safe_xml(text: str) -> str:
    """Text without the characters XML 1.0 cannot carry (document text is untrusted)."""
    return _NOT_XML.sub("", text)


WATCHLIST_COLUMNS = ("row", "name", "variants", "fuzzy", "total", "first_date", "last_date", "sources", "new",
                     "newest_ids", "newest_titles")


def watchlist_lines(summaries) -> Iterator[str]:
    """The watchlist as CSV, one line per row (spreadsheet-safe like the search export)."""
    yield "\ufeff" + _line(WATCHLIST_COLUMNS)
    for s in summaries:
        values = (s["row"], s["name"], "; ".join(s["variants"]), s["fuzzy"], s["total"], s["first_date"],
                  s["last_date"], "; ".join(f'{x["source"]} ({x["count"]})' for x in s["sources"]), s["new"],
                  " ".join(m["id"] for m in s["newest"]), " | ".join(m["title"] for m in s["newest"]))
        yield _line([safe_cell(v) for v in values])
