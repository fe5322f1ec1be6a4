"""The HTML pages for watching: the Watching list, a standing search's matches, the
"Watch this search" form, signing in with the operator's token. They work without
JavaScript: plain forms that POST and redirect (303) to the page that shows the result.
"""

from __future__ import annotations

import sqlite3

from flask import Blueprint, Response, current_app, redirect, render_template, request
from werkzeug.exceptions import NotFound

from search.request import RequestError, parse_page, parse_search_request
from watch import watches, watchlists
from watch.store import DuplicateName
from web import auth, present
from web.html import FormState, error_page
from web.watch import LIST_PAGE, allow_upload, create_list_from_request, db, engine, list_rows

pages_bp = Blueprint("watch_pages", __name__)
PAGE_SIZE = 50
SEARCH_KEYS = ("q", "from", "to", "source", "tag")


def render(template: str, status: int = 200, **ctx) -> Response:
    html = render_template(template, form=FormState(), p=present, signed_in=auth.signed_in(),
                           writable=auth.token() is not None, **ctx)
    return Response(html, status=status, mimetype="text/html")


@pages_bp.errorhandler(NotFound)
def not_found(exc: NotFound):
    return error_page(404, "Page not found", exc.description or "There is no page at this address.")


@pages_bp.errorhandler(sqlite3.Error)
def state_unavailable(exc: sqlite3.Error):
    current_app.logger.error("state.sqlite3: %s", exc)
    return error_page(503, "Watching is not available right now",
                      "The file that keeps standing searches cannot be used (busy, read-only or damaged). "
                      "Please try again in a minute.")


def _form_search() -> dict[str, list[str]]:
    src = request.form if request.method == "POST" else request.args
    return {k: [v for v in src.getlist(k) if v] for k in SEARCH_KEYS if any(src.getlist(k))}


def _sign_in_from_form() -> str | None:
    """Sign in with a token typed into the form (if any); an error message when it is wrong."""
    given = request.form.get("token", "")
    if given and not auth.sign_in(given):
        return "That is not the operator's token."
    return None


@pages_bp.get("/watching")
def watching():
    return render("watching.html", watches=watches.all_watches(db()), lists=_lists())


def _lists() -> list:
    return watchlists.all_lists(db())


@pages_bp.post("/watching/sign-in")
def sign_in():
    auth.check_writable()
    auth.check_csrf()
    error = _sign_in_from_form() or (None if auth.signed_in() else "Enter the operator's token.")
    if error:
        return render("watching.html", 403, watches=watches.all_watches(db()), lists=_lists(), error=error)
    return redirect("/watching", 303)


@pages_bp.post("/watching/sign-out")
def sign_out():
    auth.check_csrf()
    auth.sign_out()
    return redirect("/watching", 303)


@pages_bp.route("/watching/new", methods=["GET", "POST"])
def new_watch():
    """GET: confirm the search to watch; POST: save it and show its page."""
    args = _form_search()
    req = parse_search_request(args)
    name = request.form.get("name", "") if request.method == "POST" else ""
    if request.method == "GET":
        return render("watch_new.html", req=req, name=req.q or "All articles")
    auth.check_writable()
    auth.check_csrf()
    error = _sign_in_from_form()
    if error is None and not auth.signed_in():
        error = "Enter the operator's token to save standing searches."
    if error is None:
        try:
            body = {"name": name, **{k: v if k in ("source", "tag") else v[0] for k, v in args.items()}}
            wname, wreq, syntax = watches.parse_watch(body, engine())
            w = watches.create(db(), wname, wreq, syntax)
            return redirect(f"/watching/{w.id}", 303)
        except DuplicateName as exc:
            error = f"{exc}: choose another name."
        except RequestError as exc:
            error = exc.message
    return render("watch_new.html", 400, req=req, name=name, error=error)


@pages_bp.get("/watching/<int:watch_id>")
def watch_page(watch_id: int):
    """The matches, newest first seen first; opening the page marks them as seen."""
    w = watches.get(db(), watch_id)
    if w is None:
        raise NotFound("There is no standing search at this address; it may have been deleted.")
    page = parse_page(request.args.get("page"))
    new = watches.new_ids(db(), watch_id)
    items = watches.matches(db(), watch_id, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    watches.mark_seen(db(), watch_id)
    return render("watch.html", w=w, matches=items, new=new, page=page,
                  has_next=page * PAGE_SIZE < w.total, search_href=present.search_href(w.request))


@pages_bp.post("/watching/<int:watch_id>/rename")
def rename(watch_id: int):
    auth.check_form_write()
    if watches.get(db(), watch_id) is None:
        raise NotFound("There is no standing search at this address; it may have been deleted.")
    try:
        watches.rename(db(), watch_id, watches.parse_name(request.form.get("name"), ""))
    except (DuplicateName, RequestError) as exc:
        return error_page(409 if isinstance(exc, DuplicateName) else 400, "The name was not changed",
                          str(exc) if isinstance(exc, DuplicateName) else exc.message)
    return redirect(f"/watching/{watch_id}", 303)


@pages_bp.post("/watching/<int:watch_id>/delete")
def delete(watch_id: int):
    auth.check_form_write()
    watches.delete(db(), watch_id)
    return redirect("/watching", 303)


@pages_bp.post("/watchlists/new")
def new_watchlist():
    """Upload a list (file or pasted names); on a bad list, the page says what to fix."""
    allow_upload()
    auth.check_writable()
    auth.check_csrf()
    error = _sign_in_from_form()
    if error is None and not auth.signed_in():
        error = "Enter the operator's token to upload watchlists."
    if error is None:
        try:
            body = create_list_from_request(request.form.get("list_name"))
            return redirect(f"/watchlists/{body['id']}", 303)
        except DuplicateName as exc:
            error = f"{exc}: choose another name."
        except RequestError as exc:
            error = exc.message
    return render("watching.html", 400, watches=watches.all_watches(db()), lists=_lists(), error=error)


@pages_bp.get("/watchlists/<int:list_id>")
def watchlist_page(list_id: int):
    """Each row's totals over the archive and its new matches; opening marks them seen."""
    wl = watchlists.get_list(db(), list_id)
    if wl is None:
        raise NotFound("There is no watchlist at this address; it may have been deleted.")
    page = parse_page(request.args.get("page"))
    items = list_rows(list_id, page, LIST_PAGE)
    watchlists.mark_seen(db(), list_id)
    return render("watchlist.html", wl=wl, items=items, page=page, has_next=page * LIST_PAGE < wl["rows"])


@pages_bp.post("/watchlists/<int:list_id>/delete")
def delete_watchlist(list_id: int):
    auth.check_form_write()
    watchlists.delete(db(), list_id)
    return redirect("/watching", 303)
