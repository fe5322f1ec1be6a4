"""The typed search request, parsed once from a query string.

Each parameter has its own small ``parse_*`` function over a closed set of values; every
bad value raises ``RequestError``, which the web layer turns into one 400 JSON shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from common.dates import DateFormatError, PubDate

MAX_Q = 1000
MAX_PAGE = 10_000
MAX_SIZE = 100
DEFAULT_SIZE = 10
SORTS = ("relevance", "newest", "oldest")
COPIES = ("collapse", "all")  # one hit per story cluster, or every copy as its own hit
MAX_FILTER_VALUES = 20
MAX_FILTER_LEN = 200


class RequestError(ValueError):
    """A bad request parameter; ``code`` is machine-readable, ``param`` names the input."""

    status = 400

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    def to_dict(self) -> dict:
        """The body of the JSON error shape (DESIGN.md)."""
        return {"error": {"code": self.code, "message": self.message, "param": self.param}}


@dataclass(frozen=True)
class SearchRequest:
    """One search: the query text, filters, order and page."""

    q: str = ""
    date_from: PubDate | None = None
    date_to: PubDate | None = None
    sort: str = "relevance"
    page: int = 1
    size: int = DEFAULT_SIZE
    source: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    explain: bool = False  # each hit's score broken down (search.ranking.explain)
    copies: str = "collapse"
    changed: bool = False  # only articles with more than one version
    headline_changed: bool = False  # only articles whose headline changed between versions
    # Library only (not an HTTP parameter): restrict matches to these article ids, so
    # watch/ can evaluate a standing search against just the articles a run added.
    ids: frozenset[str] | None = None
    # Library only: every plain word required, no partial matches (watchlists count
    # articles that name all the words; the API ranks partial matches after them).
    all_words: bool = False

    @property
    def has_date_filter(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    def query_args(self, **changes: object) -> dict[str, object]:
        """The request as query-string arguments (for links: next page, feed, suggestion)."""
        args: dict[str, object] = {
            "q": self.q,
            "from": self.date_from.iso() if self.date_from else None,
            "to": self.date_to.iso() if self.date_to else None,
            "sort": self.sort if self.sort != "relevance" else None,
            "page": str(self.page) if self.page != 1 else None,
            "size": str(self.size) if self.size != DEFAULT_SIZE else None,
            "source": list(self.source) or None,
            "tag": list(self.tag) or None,
            "explain": "true" if self.explain else None,
            "copies": self.copies if self.copies != "collapse" else None,
            "changed": "true" if self.changed else None,
            "headline_changed": "true" if self.headline_changed else None,
        }
        args.update(changes)
        return {k: v for k, v in args.items() if v not in (None, "", [])}


def _values(args: Mapping[str, object], name: str) -> list[str]:
    raw = args.get(name)
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        values = list(raw)
    else:
        values = [raw]
    for v in values:
        if not isinstance(v, str):
            raise RequestError("invalid_parameter", f"{name} must be text", name)
    return values  # type: ignore[return-value]


def _single(args: Mapping[str, object], name: str) -> str | None:
    values = _values(args, name)
    if len(values) > 1:
        raise RequestError("repeated_parameter", f"{name} may be given only once", name)
    return values[0] if values else None


def _int(raw: str, name: str, low: int, high: int) -> int:
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise RequestError("invalid_parameter", f"{name} must be a whole number from {low} to {high}", name)
    value = int(text[:12])
    if not low <= value <= high or len(text) > 12:
        raise RequestError("out_of_range", f"{name} must be from {low} to {high}", name)
    return value


def parse_q(raw: str | None) -> str:
    """The query text, stripped; at most 1,000 characters."""
    if raw is None:
        return ""
    if len(raw) > MAX_Q:
        raise RequestError("query_too_long", f"q is longer than {MAX_Q} characters", "q")
    if "\x00" in raw:
        raise RequestError("invalid_parameter", "q contains a NUL character", "q")
    return " ".join(raw.split())


def parse_date(raw: str | None, name: str) -> PubDate | None:
    """A date filter bound: YYYY, YYYY-MM or YYYY-MM-DD, or nothing."""
    if raw is None or not raw.strip():
        return None
    try:
        return PubDate.parse(raw.strip())
    except DateFormatError as exc:
        raise RequestError("invalid_date", f"{name}: {exc}", name) from None


def parse_sort(raw: str | None) -> str:
    """relevance (default), newest or oldest."""
    if raw is None or not raw.strip():
        return "relevance"
    value = raw.strip().lower()
    if value not in SORTS:
        raise RequestError("invalid_sort", f"sort must be one of {', '.join(SORTS)}", "sort")
    return value


def parse_copies(raw: str | None) -> str:
    """collapse (default: one hit per story cluster) or all (every copy its own hit)."""
    if raw is None or not raw.strip():
        return "collapse"
    value = raw.strip().lower()
    if value not in COPIES:
        raise RequestError("invalid_parameter", f"copies must be one of {', '.join(COPIES)}", "copies")
    return value


def parse_flag(raw: str | None, name: str) -> bool:
    """A yes/no filter: true/false (also 1/0, yes/no); absent is false."""
    if raw is None or not raw.strip():
        return False
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise RequestError("invalid_parameter", f"{name} must be true or false", name)


def parse_page(raw: str | None) -> int:
    """1-based page number."""
    if raw is None or not raw.strip():
        return 1
    return _int(raw, "page", 1, MAX_PAGE)


def parse_size(raw: str | None) -> int:
    """Hits per page, 1-100 (default 10)."""
    if raw is None or not raw.strip():
        return DEFAULT_SIZE
    return _int(raw, "size", 1, MAX_SIZE)


def parse_explain(raw: str | None) -> bool:
    """true/false (also 1/0, yes/no); default false."""
    if raw is None or not raw.strip():
        return False
    value = raw.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise RequestError("invalid_parameter", "explain must be true or false", "explain")
    return value in ("true", "1", "yes")


def parse_filter_values(values: Sequence[str], name: str) -> tuple[str, ...]:
    """Repeated exact-match filter values (source, tag): stripped, de-duplicated, bounded."""
    out: list[str] = []
    for v in values:
        if "\x00" in v:
            raise RequestError("invalid_parameter", f"{name} contains a NUL character", name)
        for part in v.split(","):
            part = " ".join(part.split())
            if not part:
                continue
            if len(part) > MAX_FILTER_LEN:
                raise RequestError("invalid_parameter", f"{name} value is too long", name)
            if part.lower() not in (o.lower() for o in out):
                out.append(part)
    if len(out) > MAX_FILTER_VALUES:
        raise RequestError("invalid_parameter", f"at most {MAX_FILTER_VALUES} {name} values", name)
    return tuple(out)


_SINGLE: dict[str, Callable[[str | None], object]] = {
    "q": parse_q,
    "from": lambda raw: parse_date(raw, "from"),
    "to": lambda raw: parse_date(raw, "to"),
    "sort": parse_sort,
    "page": parse_page,
    "size": parse_size,
    "explain": parse_explain,
    "copies": parse_copies,
    "changed": lambda raw: parse_flag(raw, "changed"),
    "headline_changed": lambda raw: parse_flag(raw, "headline_changed"),
}


def parse_search_request(args: Mapping[str, object]) -> SearchRequest:
    """Parse query-string arguments (str or list of str per name) into a SearchRequest."""
    v = {name: parse(_single(args, name)) for name, parse in _SINGLE.items()}
    date_from, date_to = v["from"], v["to"]
    if date_from is not None and date_to is not None and date_from.start > date_to.end:
        raise RequestError("invalid_date_range", "from is after to", "from")
    return SearchRequest(
        q=v["q"],  # type: ignore[arg-type]
        date_from=date_from,  # type: ignore[arg-type]
        date_to=date_to,  # type: ignore[arg-type]
        sort=v["sort"],  # type: ignore[arg-type]
        page=v["page"],  # type: ignore[arg-type]
        size=v["size"],  # type: ignore[arg-type]
        source=parse_filter_values(_values(args, "source"), "source"),
        tag=parse_filter_values(_values(args, "tag"), "tag"),
        explain=v["explain"],  # type: ignore[arg-type]
        copies=v["copies"],  # type: ignore[arg-type]
        changed=v["changed"],  # type: ignore[arg-type]
        headline_changed=v["headline_changed"],  # type: ignore[arg-type]
    )


def parse_article_q(args: Mapping[str, object]) -> str | None:
    """The words to highlight in an article: the search's q, with the same checks."""
    return parse_q(_single(args, "q")) or None


def parse_version_index(raw: str | None, name: str) -> int:
    """A 0-based index into an article's versions."""
    if raw is None or not raw.strip():
        raise RequestError("missing_parameter", f"{name} is required (an index into the article's versions)", name)
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise RequestError("invalid_parameter", f"{name} must be a whole number from 0", name)
    return int(text)
