"""A small HTTP client for a SolrCloud collection, shared by the indexer's Solr sink and
the Solr search backend (standard library only: no SolrJ in Python, no extra package).

``SOLR_URL`` may list several nodes, comma-separated (``http://h1:8983/solr,http://h2:8983/solr``)
or name one load balancer. A request goes to the node that answered last and moves on to
the next when a node refuses the connection or times out, so losing one node costs one
retry, not an outage: any live node routes a query or an update to the live replicas.
Each thread keeps its own keep-alive connection per node (http.client is not thread-safe).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Mapping, Sequence
from urllib.parse import urlencode, urlsplit

DEFAULT_COLLECTION = "news"
DEFAULT_TIMEOUT = 30.0


class SolrUnavailable(RuntimeError):
    """No Solr node answered; the message names the nodes tried and what to check."""


READ_PASSES = 2
RETRY_PAUSE_S = 0.5


class SolrRequestError(RuntimeError):
    """Solr answered with an error status; ``status`` and Solr's own message are kept."""

    def __init__(self, status: int, message: str):
        # One line, bounded: Solr's message may carry a Java stack of many lines, and it ends
        # up in a cron log's one-line error.
        first = " ".join(message.split())[:300]
        super().__init__(f"Solr answered {status}: {first}")
        self.status = status
        self.solr_message = message


@dataclass(frozen=True)
class Node:
    scheme: str
    host: str
    port: int
    path: str  # "/solr"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


def parse_solr_url(value: str) -> list[Node]:
    """Nodes of a SOLR_URL value (one URL or several, comma-separated); ValueError if bad."""
    nodes = []
    for part in (p.strip() for p in (value or "").split(",")):
        if not part:
            continue
        u = urlsplit(part)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"SOLR_URL entry {part!r} is not an http(s) URL such as http://host:8983/solr")
        port = u.port or (443 if u.scheme == "https" else 80)
        nodes.append(Node(u.scheme, u.hostname, port, u.path.rstrip("/")))
    if not nodes:
        raise ValueError("SOLR_URL is empty: give a node URL such as http://host:8983/solr")
    return nodes


class SolrClient:
    """JSON requests to one collection over a list of nodes, with fail-over."""

    def __init__(self, solr_url: str, collection: str = DEFAULT_COLLECTION,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.nodes = parse_solr_url(solr_url)
        if not collection or "/" in collection or not collection.isprintable():
            raise ValueError(f"SOLR_COLLECTION {collection!r} is not a collection name")
        self.collection = collection
        self.timeout = timeout
        self._preferred = 0
        self._local = threading.local()
        # Every thread's connections, so close() (or garbage collection) closes them all.
        self._opened: list[http.client.HTTPConnection] = []
        self._opened_lock = threading.Lock()
        weakref.finalize(self, _close_all, self._opened, self._opened_lock)

    def __repr__(self) -> str:
        return f"SolrClient({','.join(n.url for n in self.nodes)!r}, {self.collection!r})"

    def get(self, handler: str, params: Sequence[tuple[str, object]] | Mapping[str, object]) -> dict:
        """GET /<collection>/<handler> with params (POSTed as a form when long)."""
        query = urlencode(_pairs(params))
        path = f"{self.collection}/{handler}"
        if len(query) > 4000:  # long queries (many ids) exceed a URL's safe length
            return self._request("POST", path, {}, query.encode(), "application/x-www-form-urlencoded")
        return self._request("GET", f"{path}?{query}", {}, None, None)

    def admin(self, handler: str, params: Mapping[str, object]) -> dict:
        """GET /admin/<handler> on a node (the Collections API: cluster-wide answers)."""
        return self._request("GET", f"admin/{handler}?{urlencode(_pairs(params))}", {}, None, None)

    def post_json(self, handler: str, body: object, params: Mapping[str, object] | None = None) -> dict:
        """POST a JSON body to /<collection>/<handler>?params."""
        path = f"{self.collection}/{handler}" + ("?" + urlencode(_pairs(params)) if params else "")
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return self._request("POST", path, {}, data, "application/json")

    def close(self) -> None:
        """Close every open connection (a later request reconnects)."""
        _close_all(self._opened, self._opened_lock)

    # -- transport -----------------------------------------------------------------------

    def _conn(self, node: Node) -> http.client.HTTPConnection:
        conns = self._local.__dict__.setdefault("conns", {})
        conn = conns.get(node)
        if conn is None:
            cls = http.client.HTTPSConnection if node.scheme == "https" else http.client.HTTPConnection
            conn = conns[node] = cls(node.host, node.port, timeout=self.timeout)
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def _request(self, method: str, path: str, headers: dict, body: bytes | None, ctype: str | None) -> dict:
        if ctype:
            headers = {**headers, "Content-Type": ctype}
        errors = []
        start = self._preferred
        # A read is retried on the next node when one is down or answers 5xx (a node that is
        # stopping, or a shard whose leader just went away); a second pass waits a moment
        # for the cluster state to catch up. Writes go to the first node that answers.
        passes = READ_PASSES if method == "GET" else 1
        for k in range(len(self.nodes) * passes):
            if k and k % len(self.nodes) == 0:
                time.sleep(RETRY_PAUSE_S)
            i = (start + k) % len(self.nodes)
            node = self.nodes[i]
            try:
                status, payload = self._send(node, method, f"{node.path}/{path}", headers, body)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{node.url}: {exc.__class__.__name__}: {exc}")
                continue
            if status >= 500 and method == "GET" and k + 1 < len(self.nodes) * passes:
                errors.append(f"{node.url}: HTTP {status}")
                continue
            self._preferred = i
            return _decode(status, payload)
        raise SolrUnavailable(
            f"no Solr node answered ({'; '.join(errors)}): check that SOLR_URL lists live nodes "
            f"and that collection {self.collection!r} exists"
        )

    def _send(self, node: Node, method: str, path: str, headers: dict, body: bytes | None) -> tuple[int, bytes]:
        """One request on this thread's connection; a stale keep-alive is retried once."""
        for attempt in (1, 2):
            conn = self._conn(node)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                if attempt == 2:
                    raise
            except (OSError, http.client.HTTPException):
                conn.close()
                raise
        raise AssertionError("unreachable")


def _close_all(conns: list, lock: threading.Lock) -> None:
    with lock:
        for conn in conns:
            conn.close()  # a closed HTTPConnection reconnects on its next request


def _pairs(params: Sequence[tuple[str, object]] | Mapping[str, object] | None) -> list[tuple[str, str]]:
    items = params.items() if isinstance(params, Mapping) else (params or [])
    out = []
    for k, v in items:
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        out.append((k, str(v)))
    return out


def _decode(status: int, payload: bytes) -> dict:
    """Solr's JSON body; an error status raises SolrRequestError with Solr's message."""
    try:
        data = json.loads(payload.decode("utf-8")) if payload else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = {}
    if status >= 400 or not isinstance(data, dict):
        msg = ""
        if isinstance(data, dict):
            msg = str((data.get("error") or {}).get("msg") or "")
        raise SolrRequestError(status, msg or payload[:200].decode("utf-8", "replace"))
    return data
