"""Serving with waitress, whose own error responses use the app's JSON shape and headers.

Waitress answers some requests before the app sees them (headers or body too large, a
malformed request, an unsupported transfer coding) with a plain-text body and none of
the security headers. Its channel class names the task that writes those answers
(``error_task_class``); ours writes ``{"error": {"code", "message", "param"}}`` with
the same headers as every app response.
"""

from __future__ import annotations

import json

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from web.security import HEADERS

MAX_BODY = 16 * 1024  # per request; only a watchlist upload may be larger (web/watch.py)
MAX_UPLOAD = 2 * 1024 * 1024
MAX_HEADERS = 32 * 1024


def error_body(reason: str, detail: str) -> bytes:
    """A waitress error (its reason and detail text) in the app's JSON error shape."""
    slug = "_".join(reason.lower().split()) or "http_error"
    message = f"{reason}: {detail}".strip().rstrip(":") if detail else reason
    return json.dumps({"error": {"code": slug, "message": message, "param": None}}).encode("utf-8")


class JsonErrorTask(ErrorTask):
    """Writes waitress's own errors as JSON, with the security headers."""

    def execute(self) -> None:
        err = self.request.error
        body = error_body(err.reason, str(err.body or ""))
        self.status = f"{err.code} {err.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.response_headers.extend(HEADERS.items())
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def serve(app: Flask, host: str, port: int, threads: int) -> None:
    """Serve app until interrupted; bodies (a watchlist upload at most) and headers are bounded."""
    listeners: dict = {}  # waitress's socket map: one listener per address it binds
    server = create_server(app, map=listeners, host=host, port=port, threads=threads,
                           max_request_body_size=MAX_UPLOAD, max_request_header_size=MAX_HEADERS)
    for listener in [server, *listeners.values()]:
        if hasattr(listener, "channel_class"):
            listener.channel_class = JsonErrorChannel
    server.print_listen("Serving on http://{}:{}")
    server.run()
