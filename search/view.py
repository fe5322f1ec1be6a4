"""A per-request view of the index: the one place that reads the postings format.

A view wraps one Whoosh searcher (one index state). It gives the rest of ``search/``
what it needs as arrays: a term's postings over all segments (top-level document
numbers ascending, deleted documents dropped, weights), positions and character offsets
for a few documents, term statistics, and the state's ``Columns``. Matching, scoring,
proximity and snippets take a view and never touch Whoosh's readers or our codec.
Postings read during a request are kept for its lifetime (match, score, snippets).
Positions and character offsets come decoded as arrays (``TermPostings.occurrences``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import islice

import numpy as np

from common.codec import TermNotFound, TermPostings
from search.columns import Columns, ColumnsCache

_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_W = np.zeros(0, dtype=np.float32)


@dataclass
class Postings:
    """One term in one field over the whole index: sorted live doc numbers and weights."""

    ids: np.ndarray  # int64, ascending
    weights: np.ndarray  # float32 (term frequency x field boost)
    parts: list[tuple[int, TermPostings]]  # (segment's first doc, its postings) for values
    df: int = 0  # documents with the term as Whoosh counts them (deleted ones included)

    def __len__(self) -> int:
        return len(self.ids)

    def occurrences(self, docs: np.ndarray) -> tuple[np.ndarray, ...]:
        """(doc, position, start, end) of every occurrence in the given sorted docs, in doc
        order: one decode per segment's block, no per-document work."""
        out = []
        bounds = [off for off, _tp in self.parts[1:]] + [None]
        for (off, tp), end in zip(self.parts, bounds):
            if not tp.has_occurrences:
                continue
            local = docs[(docs >= off) & ((docs < end) if end is not None else True)] - off
            if not len(local) or not len(tp.ids):
                continue
            i = np.searchsorted(tp.ids, local)
            i[i == len(tp.ids)] = 0
            hit = tp.ids[i] == local
            counts, pos, start, stop = tp.occurrences(i[hit])
            out.append((np.repeat(local[hit] + off, counts), pos, start, stop))
        if not out:
            return _EMPTY_IDS, _EMPTY_IDS, _EMPTY_IDS, _EMPTY_IDS
        return tuple(np.concatenate(cols) for cols in zip(*out)) if len(out) > 1 else out[0]


EMPTY = Postings(_EMPTY_IDS, _EMPTY_W, [])


class IndexView:
    """Postings, term statistics and columns of one searcher's index state."""

    def __init__(self, searcher, columns: ColumnsCache, deadline: float | None = None) -> None:
        self.searcher = searcher
        # Position work (phrases) stops at the deadline (time.perf_counter()); the search
        # then says so (over_budget) and phrases match all their words instead.
        self.deadline = deadline
        self.over_budget = False
        self.reader = searcher.reader()
        self.schema = searcher.schema
        self.leaves = [(r, off) for r, off in self.reader.leaf_readers() if r.segment() is not None]
        self.columns: Columns = columns.get(self.reader)
        self.doc_count_all = self.reader.doc_count_all()
        self._postings: dict[tuple[str, str], Postings] = {}
        self.memo: dict = {}  # other per-request results (phrase matches), by their module

    def _btext(self, fieldname: str, text) -> bytes:
        return text if isinstance(text, bytes) else self.schema[fieldname].to_bytes(text)

    def postings(self, fieldname: str, text) -> Postings:
        """A term's live postings over all segments (EMPTY when the term is absent)."""
        key = (fieldname, text)
        p = self._postings.get(key)
        if p is None:
            p = self._postings[key] = self._read(fieldname, text)
        return p

    def _read(self, fieldname: str, text) -> Postings:
        if fieldname not in self.schema:
            return EMPTY
        btext = self._btext(fieldname, text)
        ids, weights, parts = [], [], []
        for r, off in self.leaves:
            try:
                m = r.postings(fieldname, btext)
            except TermNotFound:
                continue
            tp: TermPostings = getattr(m, "child", m).postings  # deletions: the alive mask below
            parts.append((off, tp))
            ids.append(tp.ids + off if off else tp.ids)  # int64 already (decoded gaps)
            weights.append(tp.weights)
        if not parts:
            return EMPTY
        all_ids = ids[0] if len(ids) == 1 else np.concatenate(ids)
        all_w = weights[0] if len(weights) == 1 else np.concatenate(weights)
        keep = self.alive[all_ids]
        if not keep.all():
            all_ids, all_w = all_ids[keep], all_w[keep]
        return Postings(all_ids, all_w, parts, sum(len(tp) for _off, tp in parts))

    @property
    def alive(self) -> np.ndarray:
        """True for each document number that is not deleted."""
        return self.columns.alive

    def out_of_time(self) -> bool:
        """True (and remembered) once the request's deadline for position work has passed."""
        if self.deadline is not None and not self.over_budget and time.perf_counter() > self.deadline:
            self.over_budget = True
        return self.over_budget

    def occurrences(self, fieldname: str, text, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(doc, position) of every occurrence of the term in the sorted docs, in that order
        (phrases and proximity use this)."""
        p = self.postings(fieldname, text)
        if not len(p):
            return _EMPTY_IDS, _EMPTY_IDS
        doc_of, pos, _start, _end = p.occurrences(np.asarray(docs, dtype=np.int64))
        return doc_of, pos

    def char_spans(self, fieldname: str, text, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(doc, startchar, endchar) of every occurrence of the term in the sorted docs."""
        p = self.postings(fieldname, text)
        if not len(p):
            return _EMPTY_IDS, _EMPTY_IDS, _EMPTY_IDS
        doc_of, _pos, start, end = p.occurrences(np.asarray(docs, dtype=np.int64))
        return doc_of, start, end

    def characters(self, fieldname: str, text, docs) -> dict[int, list[tuple[int, int, int]]]:
        """doc -> [(position, startchar, endchar)] of the term, for the given docs that hold it."""
        p = self.postings(fieldname, text)
        if not len(p):
            return {}
        doc_of, pos, start, end = p.occurrences(np.asarray(sorted(docs), dtype=np.int64))
        out: dict[int, list[tuple[int, int, int]]] = {}
        for d, row in zip(doc_of.tolist(), zip(pos.tolist(), start.tolist(), end.tolist())):
            out.setdefault(d, []).append(row)
        return out

    def doc_frequency(self, fieldname: str, text) -> int:
        """Documents holding the term, as Whoosh's statistics count them (deletions included)."""
        return self.postings(fieldname, text).df

    def avg_field_length(self, fieldname: str) -> float:
        return self.searcher.avg_field_length(fieldname) or 1.0

    def expand_prefix(self, fieldname: str, prefix: str, limit: int) -> list[str]:
        """Up to limit terms of the field starting with prefix, in term order."""
        if fieldname not in self.schema:
            return []
        try:
            terms = islice(self.reader.expand_prefix(fieldname, prefix), limit)
            return [t.decode("utf-8") if isinstance(t, bytes) else t for t in terms]
        except KeyError:
            return []

    def fuzzy_terms(self, fieldname: str, term: str, distance: int, limit: int) -> list[str]:
        """Up to limit terms of the field within ``distance`` edits of term, the first letter
        fixed (Whoosh's fuzzy terms), sorted."""
        if fieldname not in self.schema:
            return []
        try:
            found = self.reader.terms_within(fieldname, term, distance, prefix=1)
            return sorted(t.decode("utf-8") if isinstance(t, bytes) else t for t in found)[:limit]
        except KeyError:
            return []

    def stored_fields(self, doc: int) -> dict:
        return self.searcher.stored_fields(int(doc))
