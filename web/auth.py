"""Who may change standing searches and watchlists: the operator's token.

API writes send ``Authorization: Bearer <NEWS_ADMIN_TOKEN>`` (401 without it, 403 with a
wrong one). Browsers enter the token once; a signed session cookie (its key derived from
the token, so changing the token signs everyone out) then stands in for it, and every
form carries a CSRF token kept in that session. With no token configured, writes are
refused (403 ``read_only``) and the pages say so.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Flask, current_app, request, session

from search.request import RequestError

ENV = "NEWS_ADMIN_TOKEN"


class AuthError(RequestError):
    """A write without the right credentials (401 or 403), in the JSON error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message, None)
        self.status = status


def setup(app: Flask) -> None:
    """Derive the session key from the token (when configured) and harden the cookie."""
    token = app.config.get("ADMIN_TOKEN")
    if token and not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = hmac.new(token.encode(), b"news-archive session", hashlib.sha256).hexdigest()
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.jinja_env.globals["csrf_token"] = csrf_token


def token() -> str | None:
    return current_app.config.get("ADMIN_TOKEN") or None


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def check_bearer() -> None:
    """Raise AuthError unless the request carries the operator's token."""
    check_writable()
    expected = token() or ""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise AuthError(401, "unauthorized", "send Authorization: Bearer <token> to change watches")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise AuthError(403, "forbidden", "the token is not the operator's token")


def signed_in() -> bool:
    """True when this browser entered the current token."""
    expected = token()
    return bool(expected) and session.get("admin") == _fingerprint(expected)


def sign_in(given: str) -> bool:
    expected = token()
    if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
        return False
    session["admin"] = _fingerprint(expected)
    return True


def sign_out() -> None:
    session.pop("admin", None)


def csrf_token() -> str:
    """This session's CSRF token (created on first use; empty when writes are disabled)."""
    if token() is None:
        return ""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def check_csrf() -> None:
    """A form POST must carry the session's CSRF token: else a 400 in the JSON shape."""
    given = request.form.get("csrf_token", "")
    if not given:
        raise RequestError("csrf_missing", "the form has no CSRF token: reload the page and try again", "csrf_token")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise RequestError("csrf_invalid", "the form's CSRF token has expired: reload the page and try again",
                           "csrf_token")


def check_writable() -> None:
    """Raise 403 read_only when no operator token is configured."""
    if token() is None:
        raise AuthError(403, "read_only", f"writes are disabled: the operator has not set {ENV}")


def check_form_write() -> None:
    """A browser write: read-only (403), then CSRF (400), then a signed-in session (403)."""
    check_writable()
    check_csrf()
    if not signed_in():
        raise AuthError(403, "forbidden", "enter the operator's token first")
