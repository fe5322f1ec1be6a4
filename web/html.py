"""The HTML pages: home, search results, article, and error pages in the site's look.

Views are thin, like the JSON API's: parse the request (``search.request``), ask the engine,
render the same response object; links, chips, facets and the timeline come from
``web.present``. Errors raised by these views become HTML pages (blueprint handlers take
precedence over the API's app-wide JSON handlers); unknown URLs outside /api get the
site's 404 page too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import HTTPException, NotFound

from common.layout import IndexUnavailable
from search.engine import SearchBusy
from search.request import (MAX_Q, RequestError, SearchRequest, parse_article_q, parse_search_request,
                            parse_version_index)
from web import present
from web.common import BUSY_RETRY_AFTER_S, RETRY_AFTER_S, engine, http_error_json, request_args, wants_json

bp = Blueprint("html", __name__)
log = logging.getLogger(__name__)

SEARCH_PARAMS = ("q", "from", "to", "sort", "page", "size", "source", "tag", "copies", "changed", "headline_changed")
HOME_LATEST = 5

# What each parameter accepts, said to a person (the 400 page).
PARAM_HELP = {
    "q": ("Search text", f"The search text can be up to {MAX_Q:,} characters long."),
    "from": ("From date", "Write a year (2019), a month (2019-05) or a day (2019-05-31). "
                          "The start date cannot be after the end date."),
    "to": ("To date", "Write a year (2019), a month (2019-05) or a day (2019-05-31)."),
    "sort": ("Sort order", "Sort by relevance, newest or oldest."),
    "page": ("Page", "The page is a whole number, starting at 1."),
    "size": ("Results per page", "Results per page is a whole number from 1 to 100."),
    "source": ("Source", "Pick sources from the list of sources beside the results."),
    "tag": ("Tag", "Pick tags from the list of tags beside the results."),
    "copies": ("Copies", "Copies are collapsed into one result per story, or listed with copies=all."),
    "changed": ("Changed filter", "Write changed=true to see only articles edited after they were first seen."),
    "headline_changed": ("Headline filter", "Write headline_changed=true to see only articles whose headline changed."),
}


@dataclass
class FormState:
    """What the search and date forms show: the request's values, or the raw ones on a 400."""

    q: str = ""
    date_from: str = ""
    date_to: str = ""
    hidden: list[tuple[str, str]] = field(default_factory=list)  # other state for the search box
    date_hidden: list[tuple[str, str]] = field(default_factory=list)  # other state for the date form
    invalid: str | None = None  # the parameter in error

    @classmethod
    def of(cls, req: SearchRequest) -> "FormState":
        return cls(
            q=req.q,
            date_from=req.date_from.iso() if req.date_from else "",
            date_to=req.date_to.iso() if req.date_to else "",
            hidden=present.hidden_fields(req),
            date_hidden=[("q", req.q)] * bool(req.q) + present.hidden_fields(req, keep_dates=False),
        )

    @classmethod
    def raw(cls, args: dict[str, list[str]], invalid: str | None) -> "FormState":
        """The form exactly as submitted (bounded), so a 400 page can be corrected in place."""
        def first(name: str) -> str:
            return (args.get(name) or [""])[0][:MAX_Q + 1]

        # the parameter in error is left out of the hidden state, so resubmitting fixes it
        others = [(k, v[:200]) for k in ("sort", "size", "source", "tag") if k != invalid
                  for v in args.get(k, [])[:20]]
        dates = [(k, first(k)) for k in ("from", "to") if first(k) and k != invalid]
        return cls(q=first("q"), date_from=first("from"), date_to=first("to"),
                   hidden=dates + others, date_hidden=[("q", first("q"))] * bool(first("q")) + others,
                   invalid=invalid)


# -- pages -----------------------------------------------------------------------------------


@bp.get("/")
def index():
    if any(k in request.args for k in SEARCH_PARAMS):
        return search()
    res = engine().search(SearchRequest(size=HOME_LATEST))
    return render_template("home.html", res=res, form=FormState(), p=present, autofocus=True)


@bp.get("/search")
def search():
    req = parse_search_request(request_args())
    res = engine().search(req)
    return render_template("search.html", res=res, req=req, form=FormState.of(req), p=present,
                           autofocus=not res.hits)


def _back_request() -> SearchRequest:
    """The search an article was opened from. Its q is checked as a search's is (NUL,
    repeated, too long: a 400); another bad parameter only loses the other parameters."""
    q = parse_article_q(request_args()) or ""
    try:
        return parse_search_request(request_args())
    except RequestError:
        return SearchRequest(q=q)


@bp.get("/articles/<path:doc_id>")
def article(doc_id: str):
    back = _back_request()
    art = engine().article(doc_id, q=back.q or None)
    if art is None:
        raise NotFound("There is no article at this address. It may have been removed from "
                       "the archive, or the link may be incomplete.")
    paras = present.article_paragraphs(art.text_html)
    marks = str(art.text_html).count("<mark>")
    n = len(art.versions)
    last_diff = engine().diff_versions(art.id, n - 2, n - 1) if n > 1 else None
    return render_template("article.html", art=art, back=back, paras=paras, marks=marks,
                           form=FormState.of(back), p=present, last_diff=last_diff)


@bp.get("/articles/<path:doc_id>/diff")
def article_diff(doc_id: str):
    """Two versions of an article compared word by word."""
    art = engine().article(doc_id)
    if art is None:
        raise NotFound("There is no article at this address.")
    old = parse_version_index(request.args.get("from"), "from")
    new = parse_version_index(request.args.get("to"), "to")
    try:
        diff = engine().diff_versions(art.id, old, new)
    except IndexError:
        raise RequestError("out_of_range", f"This article has {n_versions(art)} recorded versions; "
                           "pick two of them from the list on the article page.", "from") from None
    return render_template("diff.html", art=art, old=old, new=new, diff=diff, form=FormState(), p=present)


def n_versions(art) -> int:
    return len(art.versions)


# -- errors ------------------------------------------------------------------------------------


def error_page(status: int, title: str, message: str, *, form: FormState | None = None,
               param: str | None = None, detail: str | None = None) -> Response:
    html = render_template("error.html", status=status, title=title, message=message,
                           form=form or FormState(), param=param, detail=detail,
                           help=PARAM_HELP.get(param or ""), p=present,
                           autofocus=status == 400 and param not in ("from", "to"))
    return Response(html, status=status, mimetype="text/html")


@bp.errorhandler(RequestError)
def bad_request(exc: RequestError):
    label, _ = PARAM_HELP.get(exc.param or "", (exc.param or "parameter", ""))
    title = "Check the dates" if exc.param in ("from", "to") else f"Check the {label.lower()}"
    return error_page(400, title, exc.message,
                      form=FormState.raw(request_args(), exc.param), param=exc.param)


@bp.errorhandler(IndexUnavailable)
def unavailable(exc: IndexUnavailable):
    log.error("index unavailable: %s", exc)
    resp = error_page(503, "The archive is not available right now",
                      "The search index is being prepared or cannot be read. "
                      "Please try again in a minute.")
    resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    return resp


@bp.errorhandler(SearchBusy)
def busy(exc: SearchBusy):
    resp = error_page(503, "Too many phrase searches right now",
                      "Several searches for phrases are running at once. Please try again in a "
                      "moment, or search without quotes.", form=FormState.raw(request_args(), None))
    resp.headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
    return resp


def _http_page(exc: HTTPException) -> Response:
    if exc.code == 404:
        msg = exc.description if isinstance(exc, NotFound) and exc.description != NotFound.description \
            else "There is no page at this address."
        resp = error_page(404, "Page not found", msg)
    else:
        resp = error_page(exc.code or 500, exc.name, "This request could not be handled.")
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp


@bp.errorhandler(Exception)
def unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_page(exc)
    log.exception("unhandled error on %s", request.path)
    return error_page(500, "Something went wrong", "The error has been logged. Please try again.")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def not_routed(exc: HTTPException):
    """URLs that match no route: the site's page, or the API's JSON shape under /api."""
    if wants_json():
        return http_error_json(exc)
    return _http_page(exc)
