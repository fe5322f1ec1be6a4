"""Watchlists: lists of names (or queries), each row watched like a standing search.

A list is CSV with a header (``name`` required; ``variants`` separated by ``;`` or ``|``,
``fuzzy`` 0-2, ``query`` for raw query syntax) or plain text, one name per line; up to
10,000 rows. A name matches as a phrase, across case and accents (the analyzer
lowercases and folds accents on both sides), and each variant the row gives
("Kuangshi" for "Megvii") is another phrase. Bad input raises RequestError and stores
nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Callable, Iterator

from common.analysis import fold
from search.engine import SearchEngine
from search.request import MAX_Q, RequestError, SearchRequest
from common.sqlite_tx import transaction
from watch.store import ROW_KEY, DuplicateName, Match, has_table, now
from watch.watches import MAX_NAME, parse_name, plain_words

MAX_ROWS = 10_000
MAX_VARIANTS = 20
MAX_FUZZY = 2
NEWEST = 5
TOP_SOURCES = 3
HEADER_FIELDS = ("name", "variants", "fuzzy", "query")
_VARIANT_SPLIT = re.compile(r"[;|]")


@dataclass(frozen=True)
class Row:
    row: int
    name: str
    variants: tuple[str, ...] = ()
    fuzzy: int = 0
    q: str = ""


def row_query(name: str, variants: tuple[str, ...], fuzzy: int) -> str:
    """Each spelling as a phrase, ORed; a fuzzy distance applies to single-word spellings.
    Accents need no second spelling: analysis folds them ("Muller" finds "Müller")."""
    spellings: list[str] = []
    for s in (name, *variants):
        form = " ".join(s.replace('"', " ").split())
        if form and form.lower() not in (x.lower() for x in spellings):
            spellings.append(form)
    parts = [f"{s}~{fuzzy}" if fuzzy and " " not in s else f'"{s}"' for s in spellings]
    return " OR ".join(parts)


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is allowed); anything else is a clear 400."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RequestError("invalid_encoding", f"the list is not UTF-8 text (byte {exc.start})", "file") from None
    if "\x00" in text:
        raise RequestError("invalid_encoding", "the list contains NUL characters: is it a binary file?", "file")
    return text


def _cell(value: str | None, field: str, line: int, limit: int = MAX_NAME) -> str:
    text = " ".join((value or "").split())
    if len(text) > limit or not text.isprintable():
        raise RequestError("invalid_row", f"line {line}: {field} must be at most {limit} printable characters", "file")
    return text


def _fuzzy(value: str | None, line: int) -> int:
    text = (value or "").strip()
    if not text:
        return 0
    if text not in {str(i) for i in range(MAX_FUZZY + 1)}:
        raise RequestError("invalid_row", f"line {line}: fuzzy must be 0, 1 or 2", "file")
    return int(text)


def _records(text: str) -> Iterator[tuple[int, dict]]:
    """(line number, fields) for each non-empty line, CSV when the first line is a header."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    header = [h.strip().lower() for h in next(csv.reader([first]))] if first else []
    if "name" in header or "query" in header:
        reader = csv.DictReader(io.StringIO(text), fieldnames=None)
        reader.fieldnames = [h.strip().lower() for h in reader.fieldnames or []]
        unknown = [h for h in reader.fieldnames if h and h not in HEADER_FIELDS]
        if unknown:
            raise RequestError("invalid_header", f"unknown column {unknown[0]!r}: use {', '.join(HEADER_FIELDS)}", "file")
        for rec in reader:
            if any((v or "").strip() for v in rec.values() if isinstance(v, str)):
                yield reader.line_num, rec
        return
    for i, line in enumerate(lines, start=1):
        if line.strip():
            yield i, {"name": line}


def parse_rows(text: str, syntax_error: Callable[[str], str | None] = lambda q: None) -> list[Row]:
    """The list's rows, validated; RequestError names the first bad line.

    ``syntax_error`` tells whether a row's raw query reads as query syntax (the engine's
    reading); one that does not is stored as its plain words, as search reads it.
    """
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, rec in _records(text):
        if len(rows) >= MAX_ROWS:
            raise RequestError("too_many_rows", f"a watchlist has at most {MAX_ROWS:,} rows", "file")
        name = _cell(rec.get("name"), "name", line)
        query = _cell(rec.get("query"), "query", line, MAX_Q)
        if not name and not query:
            raise RequestError("invalid_row", f"line {line}: a row needs a name (or a query)", "file")
        variants = tuple(v for v in (_cell(x, "variant", line) for x in _VARIANT_SPLIT.split(rec.get("variants") or "")) if v)
        if len(variants) > MAX_VARIANTS:
            raise RequestError("invalid_row", f"line {line}: at most {MAX_VARIANTS} variants", "file")
        fuzzy = _fuzzy(rec.get("fuzzy"), line)
        name = name or query
        key = fold(name.casefold())  # "Muller" and "Müller" are one search
        if key in seen:
            raise RequestError("duplicate_row", f"line {line}: {name!r} is already on line {seen[key]}", "file")
        seen[key] = line
        q = (plain_words(query) if syntax_error(query) else query) if query else row_query(name, variants, fuzzy)
        if len(q) > MAX_Q:
            raise RequestError("invalid_row", f"line {line}: the row's search is longer than {MAX_Q} characters", "file")
        rows.append(Row(len(rows) + 1, name, variants, fuzzy, q))
    if not rows:
        raise RequestError("empty_list", "the list has no names", "file")
    return rows


def create(con: sqlite3.Connection, name: str, rows: list[Row]) -> int:
    """Store a list and its rows in one transaction; DuplicateName when the name is taken."""
    with transaction(con):
        upto = con.execute("SELECT coalesce(max(rowid), 0) FROM row_matches").fetchone()[0]
        try:
            cur = con.execute("INSERT INTO watchlists (name, created, seen_upto) VALUES (?, ?, ?)", (name, now(), upto))
        except sqlite3.IntegrityError:
            raise DuplicateName(f"a watchlist is already called {name!r}") from None
        list_id = cur.lastrowid
        con.executemany("INSERT INTO watchlist_rows VALUES (?, ?, ?, ?, ?, ?)",
                        [(list_id, r.row, r.name, json.dumps(list(r.variants)), r.fuzzy, r.q) for r in rows])
    return list_id  # type: ignore[return-value]


def list_name(raw: object, default: str) -> str:
    return parse_name(raw, default)


def all_lists(con: sqlite3.Connection) -> list[dict]:
    """Every watchlist with its row count and new matches since last viewed."""
    if not has_table(con, "watchlists"):
        return []
    rows = con.execute(
        "SELECT l.id, l.name, l.created, (SELECT count(*) FROM watchlist_rows r WHERE r.list_id = l.id) AS rows, "
        "(SELECT count(*) FROM row_matches m WHERE m.list_id = l.id AND m.rowid > l.seen_upto) AS new "
        "FROM watchlists l ORDER BY l.name COLLATE NOCASE")
    return [dict(r) for r in rows]


def get_list(con: sqlite3.Connection, list_id: int) -> dict | None:
    return next((x for x in all_lists(con) if x["id"] == list_id), None)


def rows_of(con: sqlite3.Connection, list_id: int, limit: int = MAX_ROWS, offset: int = 0) -> list[Row]:
    cur = con.execute("SELECT row, name, variants, fuzzy, q FROM watchlist_rows WHERE list_id = ? "
                      "ORDER BY row LIMIT ? OFFSET ?", (list_id, limit, offset))
    return [Row(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4]) for r in cur]


def new_counts(con: sqlite3.Connection, list_id: int) -> dict[int, int]:
    cur = con.execute("SELECT m.row, count(*) FROM row_matches m JOIN watchlists l ON l.id = m.list_id "
                      "WHERE l.id = ? AND m.rowid > l.seen_upto GROUP BY m.row", (list_id,))
    return dict(cur.fetchall())


def mark_seen(con: sqlite3.Connection, list_id: int) -> None:
    with transaction(con):
        con.execute("UPDATE watchlists SET seen_upto = (SELECT coalesce(max(rowid), 0) FROM row_matches) "
                    "WHERE id = ?", (list_id,))


def delete(con: sqlite3.Connection, list_id: int) -> bool:
    with transaction(con):
        return con.execute("DELETE FROM watchlists WHERE id = ?", (list_id,)).rowcount > 0


def row_searches(con: sqlite3.Connection) -> dict[tuple[str, int], SearchRequest]:
    """Every watchlist row's search, keyed as ``store.record`` expects."""
    if not has_table(con, "watchlists"):
        return {}
    cur = con.execute("SELECT list_id, row, q FROM watchlist_rows")
    return {("row", lid * ROW_KEY + row): SearchRequest(q=q) for lid, row, q in cur}


def totals(engine: SearchEngine, q: str) -> dict:
    """A row's search over the whole archive: count, first and last date, top sources,
    newest matches (two searches; watch/totals.py caches them per index state)."""
    res = engine.search(SearchRequest(q=q, sort="newest", size=NEWEST, all_words=True))
    first = None
    if res.total:
        oldest = engine.search(SearchRequest(q=q, sort="oldest", size=1, all_words=True))
        first = oldest.hits[0].date if oldest.hits else None
    dated = [h.date for h in res.hits if h.date]
    sources = sorted(res.facets.get("source", {}).items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SOURCES]
    return {
        "total": res.total, "first_date": first, "last_date": dated[0] if dated else None,
        "sources": [{"source": s, "count": n} for s, n in sources],
        "newest": [Match(h.id, h.path, h.title, h.date, "").to_dict() | {"first_seen": None} for h in res.hits],
    }


def summary(row: Row, row_totals: dict, new: int = 0) -> dict:
    """A row as the API and the CSV show it: the row, its totals and its new matches."""
    return {"row": row.row, "name": row.name, "variants": list(row.variants), "fuzzy": row.fuzzy,
            "query": row.q} | row_totals | {"new": new}
