"""Serving with waitress, whose own error responses use the app's JSON shape and headers.

Waitress answers some requests before the app sees them (headers or body too large, a
malformed request, an unsupported transfer coding) with a plain-text body and none of
the security headers. Its channel class names the task that writes those answers
(``error_task_class``); ours writes ``{"error": {"code", "message", "param"}}`` with
the same headers as every app response.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from common.procs import die_with_parent
from web.security import HEADERS

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024  # per request; only a watchlist upload may be larger (web/watch.py)
MAX_UPLOAD = 2 * 1024 * 1024
MAX_HEADERS = 32 * 1024
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
RESTART_PAUSE_S = 0.5  # between a server process's death and its replacement (no fork storm)


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


def _server(app: Flask, threads: int, **where):
    """A waitress server for app (``host``/``port`` or pre-bound ``sockets``) with our error pages."""
    listeners: dict = {}  # waitress's socket map: one listener per address it binds
    server = create_server(app, map=listeners, threads=threads, max_request_body_size=MAX_UPLOAD,
                           max_request_header_size=MAX_HEADERS, **where)
    for listener in [server, *listeners.values()]:
        if hasattr(listener, "channel_class"):
            listener.channel_class = JsonErrorChannel
    return server


def serve(app: Flask, host: str, port: int, threads: int, processes: int = 1,
          on_start: Callable[[], None] | None = None) -> None:
    """Serve app until interrupted; bodies (a watchlist upload at most) and headers are bounded.

    One Python process runs one core at a time (the GIL): with ``processes`` > 1 the
    listening socket is bound here and that many forked processes accept on it, each
    with its own threads and its own searchers (see ``_supervise``). ``on_start`` runs
    in each serving process before it accepts (after the fork: threads it starts live).
    """
    start = on_start or (lambda: None)
    if processes <= 1:
        server = _server(app, threads, host=host, port=port)
        server.print_listen("Serving on http://{}:{}")
        start()
        server.run()
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    log.info("Serving on http://%s:%s with %d processes", host, sock.getsockname()[1], processes)
    _supervise(lambda: (start(), _server(app, threads, sockets=[sock]).run()), processes)


def _supervise(run, processes: int) -> None:
    """Fork ``processes`` children running ``run``; restart one that dies; stop all on
    SIGTERM or SIGINT. Children die with the supervisor (a SIGKILL of it included)."""
    parent = os.getpid()
    children: set[int] = set()
    stopping = False

    def start() -> None:
        # Signals are held across the fork: a SIGTERM that reached a new child before it
        # reset its handlers ran the supervisor's handler there, and that child served on.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            die_with_parent(parent, signal.SIGTERM)
            try:
                run()
            finally:
                os._exit(0)
        children.add(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def stop(_sig, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(processes):
        start()
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        if not stopping:
            log.error("server process %d ended (status %d); starting another", pid, status)
            time.sleep(RESTART_PAUSE_S)
            if not stopping:  # a SIGTERM during the pause stops the server instead
                start()
