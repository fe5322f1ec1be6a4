"""Presentation helpers for the HTML pages: links, chips, facets, timeline, pagination.

Pure functions over the search response objects (no Flask), so templates only loop and
print. Every link is built from ``SearchRequest.query_args`` so each page state lives in
the URL; labels are plain text and Jinja escapes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode, urlsplit

from markupsafe import Markup

from common.dates import PubDate
from search.request import SearchRequest
from search.results import SearchResponse

SEARCH_PATH = "/search"
TIMELINE_MAX_MONTHS = 120  # above this the timeline counts years, not months
TIMELINE_HEIGHT = 64
PAGE_WINDOW = 2
YEAR_PRESETS = 8


def href(path: str, args: dict[str, object]) -> str:
    """A relative URL with the query string (repeated keys for list values)."""
    qs = urlencode(args, doseq=True)
    return f"{path}?{qs}" if qs else path


def search_href(req: SearchRequest, **changes: object) -> str:
    """The results page for ``req`` with some arguments changed (None removes one).

    Any change other than ``page`` resets to the first page.
    """
    if "page" not in changes:
        changes["page"] = None
    return href(SEARCH_PATH, req.query_args(**changes))


def article_href(doc_id: str, req: SearchRequest | None = None) -> str:
    """An article page that remembers the search it came from (for highlights and 'back')."""
    path = "/articles/" + quote(doc_id, safe="")
    return href(path, req.query_args()) if req is not None else path


def human_date(value: str | None) -> str:
    """'6 June 2019', 'May 2019', '2019' or 'undated' for a date written at its precision."""
    if not value:
        return "undated"
    try:
        return PubDate.parse(value).human()
    except ValueError:
        return value


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s) with a host (so it may be a link), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


_FIRST_MARK = "<mark>"
FIRST_MATCH_ID = "first-match"


def article_paragraphs(text_html: Markup) -> list[Markup]:
    """The engine's highlighted text split into paragraphs; the first <mark> gets an id.

    ``text_html`` is already escaped by the engine, so a literal ``<mark>`` can only be
    one it added. A paragraph split that would cut a <mark> in two is not made.
    """
    text = str(text_html).replace(_FIRST_MARK, f'<mark id="{FIRST_MATCH_ID}">', 1)
    paras: list[str] = []
    open_mark = ""
    for chunk in re.split(r"\n\s*\n", text):
        chunk = open_mark + chunk
        if chunk.count("<mark") > chunk.count("</mark>"):
            open_mark = chunk + "\n\n"
            continue
        open_mark = ""
        if chunk.strip():
            paras.append(chunk.strip())
    if open_mark.strip():
        paras.append(open_mark.strip())
    return [Markup(p) for p in paras]


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    count: int | None = None
    active: bool = False


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    href: str | None
    x: int
    y: int
    width: int
    height: int
    active: bool = False


@dataclass(frozen=True)
class Timeline:
    unit: str  # "month" or "year"
    bars: list[Bar]
    width: int
    height: int
    first: str
    last: str
    peak: int


def chips(req: SearchRequest) -> list[Link]:
    """Active filters, each with a link that removes it."""
    out: list[Link] = []
    if req.date_from and req.date_to and req.date_from == req.date_to:
        out.append(Link(f"Date: {req.date_from.human()}", search_href(req, **{"from": None, "to": None})))
    else:
        if req.date_from:
            out.append(Link(f"From: {req.date_from.human()}", search_href(req, **{"from": None})))
        if req.date_to:
            out.append(Link(f"To: {req.date_to.human()}", search_href(req, to=None)))
    for s in req.source:
        rest = [v for v in req.source if v != s]
        out.append(Link(f"Source: {s}", search_href(req, source=rest or None)))
    for t in req.tag:
        rest = [v for v in req.tag if v != t]
        out.append(Link(f"Tag: {t}", search_href(req, tag=rest or None)))
    return out


def has_filters(req: SearchRequest) -> bool:
    return bool(req.has_date_filter or req.source or req.tag)


def clear_filters_href(req: SearchRequest) -> str:
    return search_href(req, **{"from": None, "to": None, "source": None, "tag": None})


def _toggle(values: tuple[str, ...], value: str) -> tuple[list[str] | None, bool]:
    active = any(v.lower() == value.lower() for v in values)
    if active:
        rest = [v for v in values if v.lower() != value.lower()]
        return rest or None, True
    return [*values, value], False


def source_links(res: SearchResponse) -> list[Link]:
    """Source facet: each outlet with its count; a link adds it, or removes it when active."""
    req = res.request
    out = []
    for name, n in res.facets.get("source", {}).items():
        values, active = _toggle(req.source, name)
        out.append(Link(name, search_href(req, source=values), n, active))
    return out


def tag_links(res: SearchResponse) -> list[Link]:
    req = res.request
    out = []
    for name, n in res.facets.get("tag", {}).items():
        values, active = _toggle(req.tag, name)
        out.append(Link(name, search_href(req, tag=values), n, active))
    return out


def _period_href(req: SearchRequest, period: str) -> str:
    return search_href(req, **{"from": period, "to": period})


def _is_period(req: SearchRequest, period: str) -> bool:
    return bool(req.date_from and req.date_to and req.date_from.iso() == period == req.date_to.iso())


def date_presets(res: SearchResponse, today: date | None = None) -> list[Link]:
    """This year, last year, and the years the matches fall in (with counts)."""
    today = today or date.today()
    req = res.request
    years = res.facets.get("year", {})
    out = []
    for label, y in (("This year", today.year), ("Last year", today.year - 1)):
        out.append(Link(label, _period_href(req, str(y)), years.get(str(y), 0), _is_period(req, str(y))))
    for y, n in list(years.items())[:YEAR_PRESETS]:
        if int(y) in (today.year, today.year - 1):
            continue
        out.append(Link(y, _period_href(req, y), n, _is_period(req, y)))
    return out


def _months(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    ly, lm = map(int, last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def timeline(res: SearchResponse) -> Timeline | None:
    """Matches per month (or per year over long spans) as bars; each bar narrows to it."""
    req = res.request
    months = {k: v for k, v in res.facets.get("month", {}).items() if re.fullmatch(r"\d{4}-\d{2}", k)}
    years = {k: v for k, v in res.facets.get("year", {}).items() if re.fullmatch(r"\d{4}", k)}
    if months:
        first, last = min(months), max(months)
        if len(_months(first, last)) < 12:  # a short span reads better against whole years
            first, last = first[:4] + "-01", last[:4] + "-12"
        keys = _months(first, last)
        unit, counts = "month", months
        if len(keys) > TIMELINE_MAX_MONTHS:
            keys = [str(y) for y in range(int(min(years)), int(max(years)) + 1)]
            unit, counts = "year", years
    elif years:
        keys = [str(y) for y in range(int(min(years)), int(max(years)) + 1)]
        unit, counts = "year", years
    else:
        return None
    if len(keys) > TIMELINE_MAX_MONTHS:  # centuries of years: keep the most recent
        keys = keys[-TIMELINE_MAX_MONTHS:]
    peak = max(counts.get(k, 0) for k in keys) or 1
    slot, gap, h = 12, 2, TIMELINE_HEIGHT
    bars = []
    for i, k in enumerate(keys):
        n = counts.get(k, 0)
        bh = max(2, round(n / peak * (h - 4))) if n else 1
        label = human_date(k)
        bars.append(Bar(
            label=label, count=n, href=_period_href(req, k) if n else None,
            x=i * slot + gap // 2, y=h - bh, width=slot - gap, height=bh, active=_is_period(req, k),
        ))
    return Timeline(unit, bars, len(keys) * slot, h, human_date(keys[0]), human_date(keys[-1]), peak)


def page_links(res: SearchResponse) -> list[Link | None]:
    """Numbered pages around the current one; None marks a gap (…)."""
    req = res.request
    cur, last = req.page, res.pages
    wanted = {1, last, *range(cur - PAGE_WINDOW, cur + PAGE_WINDOW + 1)}
    nums = sorted(p for p in wanted if 1 <= p <= last)
    out: list[Link | None] = []
    prev = 0
    for p in nums:
        if p - prev > 1:
            out.append(None)
        out.append(Link(str(p), search_href(req, page=str(p) if p > 1 else None), active=p == cur))
        prev = p
    return out


def sort_links(req: SearchRequest) -> list[Link]:
    return [
        Link(label, search_href(req, sort=value if value != "relevance" else None), active=req.sort == value)
        for value, label in (("relevance", "Relevance"), ("newest", "Newest"), ("oldest", "Oldest"))
    ]


def feed_href(req: SearchRequest) -> str:
    return href("/search.atom", req.query_args(page=None, size=None, sort=None))


def csv_href(req: SearchRequest) -> str:
    """Every match of the search as CSV (web/watch.py)."""
    return href("/search.csv", req.query_args(page=None, size=None))


def watch_href(req: SearchRequest) -> str:
    """The form that saves this search as a standing search (web/watch_pages.py)."""
    return href("/watching/new", req.query_args(page=None, size=None, sort=None))


def hidden_fields(req: SearchRequest, *, keep_dates: bool = True) -> list[tuple[str, str]]:
    """The request's state other than the query text, as hidden form inputs."""
    args = req.query_args(q=None, page=None)
    if not keep_dates:
        args.pop("from", None)
        args.pop("to", None)
    out: list[tuple[str, str]] = []
    for k, v in args.items():
        for item in v if isinstance(v, list) else [v]:
            out.append((k, str(item)))
    return out


def diff_href(doc_id: str) -> str:
    """The page comparing two versions of an article."""
    return "/articles/" + quote(doc_id, safe="") + "/diff"


def seen_human(stamp: str) -> str:
    """'2026-11-28 07:32 UTC' for the indexer's UTC timestamp."""
    return stamp.replace("T", " ").removesuffix("Z")[:16] + " UTC" if "T" in stamp else stamp


def diff_paragraphs(diff_html: str) -> list[Markup]:
    """A word diff (already escaped by search.diff, only <del>/<ins> added) in paragraphs."""
    return [Markup(chunk) for chunk in re.split(r"\n\s*\n", diff_html) if chunk.strip()]


def other_copies(cluster: dict, doc_id: str) -> tuple[list[dict], list[str]]:
    """The other members of a hit's story cluster, and their distinct outlets."""
    others = [m for m in cluster["members"] if m["id"] != doc_id]
    names: dict[str, str] = {}
    for m in others:
        if m["source"]:
            names.setdefault(m["source"].strip().lower(), m["source"].strip())
    return others, list(names.values())


def edit_links(res: SearchResponse) -> list[Link]:
    """'Changed after first seen' and 'Headline changed' filters with their counts."""
    counts = res.facets.get("edits", {})
    req = res.request
    out = []
    for name, label in (("changed", "Changed after first seen"), ("headline_changed", "Headline changed")):
        active = getattr(req, name)
        if counts.get(name) or active:
            out.append(Link(label, search_href(req, **{name: None if active else "true"}), counts.get(name, 0), active))
    return out
