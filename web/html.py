"""Placeholder HTML blueprint: only ``/``. The real pages (/, /search, /articles/<id>)
belong to the HTML front-end issue and replace this blueprint wholesale."""

from __future__ import annotations

from flask import Blueprint, Response, request
from markupsafe import escape
from urllib.parse import urlencode

bp = Blueprint("html", __name__)


@bp.get("/")
def index():
    q = request.args.get("q", "")[:1000]
    href = "/api/search?" + urlencode({"q": q})
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>News archive search</title>"
        f'<p>Search the JSON API: <a href="{escape(href)}">{escape(href)}</a></p></html>'
    )
    return Response(page, mimetype="text/html")
