"""Security headers for every response (HTML pages, JSON, feed, static files)."""

from __future__ import annotations

from flask import Response

# No inline script or style anywhere: templates use static files and SVG attributes only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def security_headers(resp: Response) -> Response:
    """after_request hook: add the headers unless a view set its own."""
    for name, value in HEADERS.items():
        resp.headers.setdefault(name, value)
    return resp
