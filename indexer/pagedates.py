"""Dates a saved page states about itself, used to correct htmldate's publication date.

htmldate (original date, extensive search) is the baseline: bench/date_extraction.py.
It misses in three recurring, general ways, each fixed here by reading the page itself:

1. A visible label says when the page was published ("Veröffentlicht am 16.08.2019",
   "Written: 2023-11-07") but htmldate prefers a meta date or a date elsewhere.
2. The JSON-LD datePublished disagrees with htmldate's pick, and a second, independent
   source (the URL, or the <time> next to the headline) agrees with the JSON-LD.
3. A date-only value written as local midnight in UTC ("2021-11-04T23:00Z" is
   5 November in Central Europe): the day meant is the next one.

Dates are read as written (the page's local day), never converted to UTC, and never
fall back to today or a file time.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import dateparser
from lxml.html import HtmlElement

from common.dates import PubDate
from indexer.dates import DATEPARSER_SETTINGS, date_from_url, make_date

# Words that label a publication date, in the languages of the pages we index.
_PUB_LABEL = re.compile(
    r"(?<![^\W\d_])(?:published|publication date|posted on|written|"
    r"veröffentlicht am|veröffentlicht|erschienen am|erschienen|publiziert am|"
    r"erstellt am|datum|publié le|publicado el|pubblicato il|opublikowano)"
    r"\s*(?:on\s*)?[:：]?\s*", re.IGNORECASE)
_ISO_START = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_DOTTED_START = re.compile(r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})(?!\d)")
# "16. August 2019", "August 16, 2019", "16 août 2019": a word month, parsed by dateparser.
_WORDY_START = re.compile(r"(?:\d{1,2}\.?\s*(?:de\s+)?[^\W\d_]{3,}\.?\s*(?:de\s+)?\d{4}|"
                          r"[^\W\d_]{3,}\.?\s+\d{1,2},?\s+\d{4})(?!\d)")
_LANGUAGES = ["en", "de", "fr", "es", "it", "pl"]
_TEXT_XPATH = ("//body//text()[not(ancestor::script or ancestor::style "
               "or ancestor::noscript)]")
_MIDNIGHT_UTC = re.compile(r"^(\d{4}-\d{2}-\d{2})T(?:2[0-3]):00(?::00(?:\.0+)?)?(?:Z|\+00:?00)$")
_JSON_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]+)"')
_HEADLINE_LEVELS = 2  # how far up from the <h1> to look for its <time>


@dataclass
class PageDates:
    """What a page says about its own date, gathered before trafilatura edits the tree."""

    labelled: PubDate | None = None  # the one date the page labels as its publication
    json_ld: PubDate | None = None  # first JSON-LD datePublished, as written
    headline_time: PubDate | None = None  # the <time> nearest the headline
    url: PubDate | None = None
    midnight_utc: frozenset[PubDate] = frozenset()  # UTC days of "T23:00Z"-style values


def leading_date(segment: str) -> PubDate | None:
    """The day-precision date a text segment starts with (ISO, 16.08.2019, 16 August 2019)."""
    if m := _ISO_START.match(segment):
        return make_date(int(m[1]), int(m[2]), int(m[3]), "day")
    if m := _DOTTED_START.match(segment):
        return make_date(int(m[3]), int(m[2]), int(m[1]), "day")
    if m := _WORDY_START.match(segment):
        parsed = dateparser.parse(m[0], languages=_LANGUAGES, settings=DATEPARSER_SETTINGS)
        if parsed is not None:
            return make_date(parsed.year, parsed.month, parsed.day, "day")
    return None


def labelled_date(tree: HtmlElement) -> PubDate | None:
    """The date the visible text labels as published, when all such labels agree.

    Pages that list teasers label each one ("Veröffentlicht am ..."): several different
    labelled dates say nothing about this page, so they give None.
    """
    text = " ".join(" ".join(tree.xpath(_TEXT_XPATH)).split())
    found = {d for m in _PUB_LABEL.finditer(text)
             if (d := leading_date(text[m.end():m.end() + 40])) is not None}
    return found.pop() if len(found) == 1 else None


def as_written(value: str | None) -> PubDate | None:
    """The day a timestamp names in its own time zone ("2020-02-19T18:37+01:00" -> 19th)."""
    return leading_date(value.strip()) if value else None


def json_ld_published(tree: HtmlElement) -> PubDate | None:
    """The first JSON-LD datePublished, as written."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        if m := _JSON_PUBLISHED.search(script.text or ""):
            return as_written(m[1])
    return None


def headline_time(tree: HtmlElement) -> PubDate | None:
    """The first <time> within a couple of levels of the <h1>: the article's dateline."""
    for h1 in tree.xpath("//body//h1")[:2]:
        node = h1
        for _ in range(_HEADLINE_LEVELS + 1):
            times = node.xpath(".//time")
            if times:
                return as_written(times[0].get("datetime")) or leading_date(
                    " ".join(times[0].text_content().split()))
            node = node.getparent()
            if node is None or node.tag in ("body", "html"):
                break
    return None


def midnight_utc_days(tree: HtmlElement) -> frozenset[PubDate]:
    """UTC days of head timestamps at exactly 20:00-23:00 UTC: a local midnight east of UTC."""
    values = [str(v) for v in tree.xpath("//head//meta/@content")]
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        values += re.findall(r'"date\w*"\s*:\s*"([^"]+)"', script.text or "")
    days = set()
    for value in values:
        if m := _MIDNIGHT_UTC.match(value.strip()):
            days.add(PubDate.parse(m[1]))
    return frozenset(days)


def read_page_dates(tree: HtmlElement, url: str | None) -> PageDates:
    """Gather the page's own date statements (call before trafilatura cleans the tree)."""
    return PageDates(
        labelled=labelled_date(tree),
        json_ld=json_ld_published(tree),
        headline_time=headline_time(tree),
        url=date_from_url(url or ""),
        midnight_utc=midnight_utc_days(tree),
    )


def corroborated_json_ld(page: PageDates, guess: PubDate | None) -> PubDate | None:
    """JSON-LD datePublished when the URL or headline <time> backs it more than ``guess``."""
    if page.json_ld is None or page.json_ld == guess:
        return None
    votes = Counter(d for d in (page.json_ld, page.url, page.headline_time)
                    if d is not None and d.precision == "day")
    if votes[page.json_ld] >= 2 and votes[page.json_ld] > votes[guess]:
        return page.json_ld
    return None


def correct_date(guess: PubDate | None, page: PageDates) -> PubDate | None:
    """htmldate's ``guess`` unless the page's own statements say otherwise (see module doc)."""
    if page.labelled is not None:
        return page.labelled
    if (corroborated := corroborated_json_ld(page, guess)) is not None:
        return corroborated
    if guess is not None and guess in page.midnight_utc:
        return PubDate.from_date(guess.start.date() + timedelta(days=1))
    return guess
