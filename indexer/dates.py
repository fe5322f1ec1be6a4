"""Publication dates from page text and URLs, each with its precision and origin.

Patterns are data: each row is a regex and the precision a match supports, tried in order.
Nothing here ever falls back to today's date or a file's mtime: no date found is ``None``.
Phrases with month names go through dateparser with absolute-only settings, so a relative
phrase ("2 hours ago", "yesterday") can never turn into a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import unquote, urlsplit


from common.dates import PubDate

MIN_YEAR = 1900
# Origins from most to least trusted; best_date() ranks candidates by this list.
ORIGIN_PRIORITY: tuple[str, ...] = ("manifest", "html", "text", "url")
_PRECISION_RANK = {"year": 0, "month": 1, "day": 2}


def max_year() -> int:
    """Latest plausible year: next year (pages in other time zones may be a day ahead)."""
    return date.today().year + 1


def make_date(year: int, month: int | None, day: int | None, precision: str) -> PubDate | None:
    """A PubDate at the given precision, or None when the parts are not a plausible date."""
    if not MIN_YEAR <= year <= max_year():
        return None
    try:
        return PubDate.from_date(date(year, month or 1, day or 1), precision)
    except ValueError:  # month 13, 31 February ...
        return None


# ---------------------------------------------------------------------------- URLs

@dataclass(frozen=True)
class UrlPattern:
    """A date shape in a URL path and the precision it gives."""

    name: str
    regex: re.Pattern[str]
    precision: str


_SEP = r"(?:^|(?<=[/_.\-]))"  # a date starts a path segment or follows a separator
_END = r"(?=$|[/_.\-?#])"
URL_PATTERNS: tuple[UrlPattern, ...] = (
    UrlPattern("y/m/d", re.compile(r"/(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})" + _END), "day"),
    UrlPattern("y-m-d", re.compile(_SEP + r"(?P<y>\d{4})[-_](?P<m>\d{2})[-_](?P<d>\d{2})" + _END), "day"),
    UrlPattern("yyyymmdd", re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?!\d)"), "day"),
    UrlPattern("y/m", re.compile(r"/(?P<y>\d{4})/(?P<m>\d{1,2})/"), "month"),
    UrlPattern("yyyymm", re.compile(r"/(?P<y>(?:19|20)\d{2})(?P<m>\d{2})/"), "month"),
    UrlPattern("y-m", re.compile(r"/(?P<y>\d{4})-(?P<m>\d{2})/"), "month"),
    UrlPattern("y", re.compile(r"/(?P<y>(?:19|20)\d{2})/(?=[^/\d])"), "year"),
)


def date_from_url(url: str) -> PubDate | None:
    """The date a URL path encodes (/2019/06/06/, /201906/, 20190606 in a slug), or None."""
    if not url:
        return None
    try:
        path = unquote(urlsplit(url).path)
    except ValueError:  # malformed URL, e.g. a bad IPv6 host
        return None
    for pattern in URL_PATTERNS:
        for m in pattern.regex.finditer(path):
            parts = m.groupdict()
            found = make_date(int(parts["y"]), _int(parts.get("m")), _int(parts.get("d")),
                              pattern.precision)
            if found is not None:
                return found
    return None


def _int(value: str | None) -> int | None:
    return int(value) if value else None


# ---------------------------------------------------------------------------- text

@dataclass(frozen=True)
class TextPattern:
    """A date phrase in text: how to find it, how to read it, and what precision it gives.

    ``label``: True when the phrase says it is a publication/update date ("Published ...").
    Unlabelled rows only count near the top or bottom of the text, where datelines live,
    so a date mentioned mid-article is not taken for the publication date.
    """

    name: str
    regex: re.Pattern[str]
    kind: str  # "iso" (y-m-d groups), "phrase" (dateparser on group 'date'), "year"
    precision: str
    label: bool


_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
# "June 10th, 2019", "Jun. 10 2019", "10 June 2019", "10th of June, 2019"
_PHRASE = (rf"(?:{_MONTH}\s+{_DAY},?\s+{_YEAR}|{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR})")
_ISO_DATE = r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
# Publication labels come before update labels: the original date is the one we want.
_PUB_LABEL = r"(?:published|posted|publication\s+date|dated?)"
_UPD_LABEL = r"(?:updated|last\s+updated|update|modified|last\s+modified)"
_LABEL_GAP = r"(?:\s+on)?\s*[:(\-–—]?\s*"
_F = re.IGNORECASE


def _labelled(label: str, name: str) -> tuple[TextPattern, ...]:
    """The three labelled rows (ISO day, phrase day, month-year) for one kind of label."""
    return (
        TextPattern(f"{name}+iso", re.compile(rf"\b{label}{_LABEL_GAP}{_ISO_DATE}\b", _F),
                    "iso", "day", True),
        TextPattern(f"{name}+phrase", re.compile(
            rf"\b{label}{_LABEL_GAP}(?P<date>{_PHRASE})", _F), "phrase", "day", True),
        TextPattern(f"{name}+month", re.compile(
            rf"\b{label}{_LABEL_GAP}(?P<date>{_MONTH}\s*,?\s+{_YEAR})\b", _F),
            "phrase", "month", True),
    )


TEXT_PATTERNS: tuple[TextPattern, ...] = (
    *_labelled(_PUB_LABEL, "published"),
    *_labelled(_UPD_LABEL, "updated"),
    TextPattern("iso", re.compile(rf"(?<![\d-]){_ISO_DATE}(?![\d-])"), "iso", "day", False),
    TextPattern("phrase", re.compile(rf"\b(?P<date>{_PHRASE})\b", _F), "phrase", "day", False),
    TextPattern("copyright", re.compile(
        rf"(?:©|\(c\)|&copy;|\bcopyright\b)\s*(?:{_YEAR}\s*[-–]\s*)?(?P<y>{_YEAR})\b", _F),
        "year", "year", False),
)

# Unlabelled dates count only within this many characters of either end of the text.
EDGE_CHARS = 1500

DATEPARSER_SETTINGS = {
    "PARSERS": ["absolute-time"],  # never "relative-time": "2 hours ago" must not parse
    "STRICT_PARSING": True,  # all of day, month and year must be present
    "REQUIRE_PARTS": ["day", "month", "year"],
    "RETURN_AS_TIMEZONE_AWARE": False,
    "PREFER_DATES_FROM": "past",
    "RELATIVE_BASE": datetime(2000, 1, 1),  # a fixed base, so today can never leak in
}
_DATEPARSER_MONTH_SETTINGS = {**DATEPARSER_SETTINGS, "REQUIRE_PARTS": ["month", "year"],
                              "STRICT_PARSING": False, "PREFER_DAY_OF_MONTH": "first"}


@lru_cache(maxsize=4096)
def parse_phrase(phrase: str, precision: str = "day") -> PubDate | None:
    """Read an absolute English date phrase ("June 10th, 2019") with dateparser, or None."""
    settings = DATEPARSER_SETTINGS if precision == "day" else _DATEPARSER_MONTH_SETTINGS
    cleaned = re.sub(r"(?<=\d)(st|nd|rd|th)\b|\bof\b", "", phrase, flags=re.IGNORECASE)
    import dateparser  # a fifth of a second to import: only when a phrase needs it

    parsed = dateparser.parse(cleaned, languages=["en"], settings=settings)
    if parsed is None:
        return None
    return make_date(parsed.year, parsed.month, parsed.day, precision)


def _read_match(pattern: TextPattern, m: re.Match[str]) -> PubDate | None:
    """Turn one regex match into a date according to its row's kind."""
    if pattern.kind == "iso":
        return make_date(int(m["y"]), int(m["m"]), int(m["d"]), "day")
    if pattern.kind == "year":
        return make_date(int(m["y"]), None, None, "year")
    return parse_phrase(" ".join(m["date"].split()), pattern.precision)


def _near_edge(start: int, length: int) -> bool:
    return start < EDGE_CHARS or start > length - EDGE_CHARS


# dateparser calls per text: each takes about a millisecond, and a page full of date
# phrases that do not parse (4.9 MB of them: 112 s) must not cost one call per phrase.
# A real page states its date in its first few phrases.
MAX_PHRASE_PARSES = 20


def date_from_text(text: str) -> PubDate | None:
    """The publication date a page's text states (labelled first, then datelines), or None."""
    if not text:
        return None
    parses = 0
    for pattern in TEXT_PATTERNS:
        if pattern.kind == "phrase" and parses >= MAX_PHRASE_PARSES:
            continue
        for m in pattern.regex.finditer(text):
            if not pattern.label and not _near_edge(m.start(), len(text)):
                continue
            if pattern.kind == "phrase":
                parses += 1
                if parses > MAX_PHRASE_PARSES:
                    break
            found = _read_match(pattern, m)
            if found is not None:
                return found
    return None


# ---------------------------------------------------------------------------- choice

def _rank(origin: str) -> int:
    return ORIGIN_PRIORITY.index(origin) if origin in ORIGIN_PRIORITY else len(ORIGIN_PRIORITY)


def agrees(coarse: PubDate, fine: PubDate) -> bool:
    """True when ``fine`` lies inside the period ``coarse`` covers (2019-06-06 within 2019-06)."""
    return coarse.start <= fine.start and fine.end <= coarse.end


def best_date(candidates: list[tuple[PubDate | None, str]]) -> tuple[PubDate | None, str | None]:
    """Pick a date by origin (manifest > html > text > url), refined by agreeing finer dates.

    The most trusted candidate sets the period; a less trusted one that falls inside that
    period and is more precise refines it (url 2019-06 + text 2019-06-06 -> 2019-06-06).
    """
    found = sorted(((d, o) for d, o in candidates if d is not None), key=lambda c: _rank(c[1]))
    if not found:
        return None, None
    top, origin = found[0]
    for other, other_origin in found[1:]:
        if (_PRECISION_RANK[other.precision] > _PRECISION_RANK[top.precision]
                and agrees(top, other)):
            top, origin = other, other_origin
    return top, origin
