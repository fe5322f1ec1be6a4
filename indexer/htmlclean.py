"""Saved HTML pages -> one clean article (title, body, metadata), via trafilatura.

trafilatura does the boilerplate removal and metadata (htmldate for the date); this module
guards the document boundary: it refuses input that is not HTML with a reason, never lets
trafilatura or htmldate touch the network (we hand them a parsed tree, never a URL), and
never takes today's date or a file time as the publication date.

``extract_html`` returns None when a page is HTML but holds no article text, and raises
``ExtractionError`` when the input is not an HTML document at all (empty, binary, unparseable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml.etree import ParserError
from lxml.html import HtmlElement
from trafilatura.utils import decode_file, load_html

from common.dates import DateFormatError, PubDate
from indexer.pagedates import correct_date, read_page_dates

# What trafilatura extracts: measured in bench/html_extraction.py.
EXTRACT_OPTIONS: dict[str, bool] = {
    "include_comments": False,
    "include_tables": True,
    "include_formatting": False,
    "include_images": False,
    "include_links": False,
    "with_metadata": True,
}
MAX_INPUT_BYTES = 30_000_000  # a saved article page is far smaller; bigger is not an article
BINARY_SAMPLE = 4096
MAX_CONTROL_SHARE = 0.05  # text with more control characters than this is not HTML
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_URL_XPATHS = (
    './/head//link[@rel="canonical"]/@href',
    './/head//meta[@property="og:url"]/@content',
    './/head//meta[@name="og:url"]/@content',
)


class ExtractionError(ValueError):
    """The input is not an HTML document we can read; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class HtmlArticle:
    """The article a saved page holds: text plus the metadata the page declares."""

    title: str
    body: str  # paragraphs joined by "\n\n"
    tags: list[str] = field(default_factory=list)
    author: str | None = None
    sitename: str | None = None
    date: PubDate | None = None
    url: str | None = None  # canonical or og:url when the page gives one, else the caller's


def date_params(url: str | None = None) -> dict[str, object]:
    """htmldate settings: publication (not update) date, text search on, no future dates.

    ``max_date`` is only an upper bound (tomorrow, for pages in time zones ahead of ours);
    htmldate never returns it as a fallback.
    """
    return {
        "extensive_search": True,
        "original_date": True,
        "outputformat": "%Y-%m-%d",
        "max_date": (date.today() + timedelta(days=1)).isoformat(),
        "url": url,
    }


def decode(html: str | bytes) -> str:
    """The page as text; raise ExtractionError when it is empty, huge or binary."""
    if not isinstance(html, (str, bytes)):
        raise ExtractionError(f"expected str or bytes, got {type(html).__name__}")
    if len(html) > MAX_INPUT_BYTES:
        raise ExtractionError(f"too large: {len(html)} > {MAX_INPUT_BYTES}")
    if isinstance(html, bytes) and html.startswith((b"\xff\xfe", b"\xfe\xff")):
        html = html.decode("utf-16", errors="replace")
    text = decode_file(html) if isinstance(html, bytes) else html
    if not text.strip():
        raise ExtractionError("empty document")
    sample = text[:BINARY_SAMPLE]
    if len(_CONTROL.findall(sample)) > MAX_CONTROL_SHARE * len(sample):
        raise ExtractionError("binary content, not HTML")
    return text


def parse(text: str) -> HtmlElement:
    """Parse with trafilatura's loader (no network); raise ExtractionError when it fails."""
    try:
        tree = load_html(text)
    except (ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    if tree is None:
        raise ExtractionError("not an HTML document")
    return tree


def page_url(tree: HtmlElement, url: str | None) -> str | None:
    """The canonical (or og:url) address the page declares, made absolute; else ``url``."""
    for xpath in _URL_XPATHS:
        for value in tree.xpath(xpath):
            candidate = urljoin(url or "", str(value).strip())
            if urlsplit(candidate).scheme in ("http", "https") and urlsplit(candidate).netloc:
                return candidate
    return url


def paragraphs(text: str | None) -> str:
    """trafilatura's line-per-paragraph text as paragraphs joined by a blank line."""
    lines = (" ".join(line.split()) for line in (text or "").splitlines())
    return "\n\n".join(line for line in lines if line)


def to_pubdate(value: str | None) -> PubDate | None:
    """htmldate's YYYY-MM-DD as a day-precision PubDate; None for anything else."""
    if not value:
        return None
    try:
        return PubDate.parse(value)
    except DateFormatError:
        return None


def merge_tags(*groups: list[str] | None) -> list[str]:
    """Categories and tags in page order, without blanks or duplicates (case-insensitive).

    Some pages put every keyword in one comma-separated meta value: split it.
    """
    seen: set[str] = set()
    tags = []
    for group in groups:
        for value in group or []:
            for tag in str(value).split(","):
                tag = " ".join(tag.split())
                if not tag or tag.lower() in seen:
                    continue
                seen.add(tag.lower())
                tags.append(tag)
    return tags


def extract_html(html: str | bytes, url: str | None = None) -> HtmlArticle | None:
    """The article in a saved page; None when the page has no article text."""
    tree = parse(decode(html))
    canonical = page_url(tree, url)
    page_dates = read_page_dates(tree, canonical)  # before trafilatura edits the tree
    try:
        doc = trafilatura.bare_extraction(
            tree, url=canonical, date_extraction_params=date_params(canonical), **EXTRACT_OPTIONS
        )
    except RecursionError as exc:  # pathological nesting that lxml let through
        raise ExtractionError("HTML nested too deeply") from exc
    if doc is None:
        return None
    body = paragraphs(doc.text)
    if not body:
        return None
    return HtmlArticle(
        title=" ".join((doc.title or "").split()),
        body=body,
        tags=merge_tags(doc.categories, doc.tags),
        author=doc.author or None,
        sitename=doc.sitename or None,
        date=correct_date(to_pubdate(doc.date), page_dates),
        url=canonical,
    )
