"""The array codec holds exactly what Whoosh's own codec holds, and plain Whoosh reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh import index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.qparser import QueryParser

from common.codec import (ArrayCodec, ArrayTermsReader, is_array_segment, pack_ids_weights, pack_occurrences,
                          record_dtype, unpack_ids_weights,
                          segment_file_sizes, term_extent, unpack_occurrences)
from common.schema import build_schema
from tests.test_index_format import REUTERS, _build, _contents, real_texts

needs_reuters = pytest.mark.skipif(not REUTERS.is_file(), reason=f"needs {REUTERS} (the seeds alone hold too few common words)")


def test_array_codec_stores_what_whoosh_stores(tmp_path: Path) -> None:
    texts = real_texts()
    plain = _build(tmp_path / "plain", W3Codec(), texts)
    ours = _build(tmp_path / "ours", ArrayCodec(), texts)
    assert _contents(ours) == _contents(plain)
    assert all(is_array_segment(s) for s in ours._segments())


QUERIES = ("oil prices", '"crude oil"', "megvii police", '"facial recognition"', "megvii OR xinjiang",
           "bank -dollar", "tonn*")


def test_plain_open_dir_searches_our_index(tmp_path: Path) -> None:
    texts = real_texts()
    _build(tmp_path / "ours", ArrayCodec(), texts).close()
    _build(tmp_path / "plain", W3Codec(), texts).close()
    found = {}
    for name in ("ours", "plain"):
        ix = index.open_dir(str(tmp_path / name))  # no flag: the segment names its codec
        with ix.searcher() as s:
            for q in QUERIES:
                hits = s.search(QueryParser("body", ix.schema).parse(q), limit=None)
                found[name, q] = sorted((h["id"], round(h.score, 4)) for h in hits)
        ix.close()
    for q in QUERIES:
        assert found["ours", q] == found["plain", q], q
    # the seeds hold these (the Reuters stories, when ../shared is there, hold the oil ones)
    assert found["ours", "megvii police"] and found["ours", '"facial recognition"']


def test_postings_decode_to_arrays(tmp_path: Path) -> None:
    ix = _build(tmp_path / "ours", ArrayCodec(), real_texts(50))
    with ix.reader() as r:
        leaf = r.leaf_readers()[0][0] if hasattr(r, "leaf_readers") else r
        terms = leaf.codec().terms_reader(leaf.storage(), leaf.segment())
        assert isinstance(terms, ArrayTermsReader)
        p = terms.term_postings("body", b"said")
        assert p.ids.dtype == np.int64 and p.weights.dtype == np.float32
        assert np.all(np.diff(p.ids.astype(np.int64)) > 0)
        assert p.ids.tolist() == list(r.postings("body", "said").all_ids())
        fmt = build_schema()["body"].format
        assert fmt.decode_positions(p.value(0)) == list(r.postings("body", "said").value_as("positions"))
        terms.close()


def test_term_infos_are_cached_per_segment_and_bounded(tmp_path: Path) -> None:
    """A term looked up once is answered from TERM_INFOS by any reader of that segment;
    absent terms too; the cache keeps at most its size, dropping the least recent."""
    from common.codec import TERM_INFOS, TermInfoCache
    from whoosh.reading import TermNotFound

    ix = _build(tmp_path / "ours", ArrayCodec(), real_texts(50))
    seg = ix._segments()[0]
    with ix.reader() as r1:
        expected = r1.postings("body", "said").all_ids()
        expected = list(expected)
        assert TERM_INFOS.get((seg.segment_id(), "body", b"said")) is not TERM_INFOS
        assert ("body", b"zzzz-not-a-word") not in r1
        assert TERM_INFOS.get((seg.segment_id(), "body", b"zzzz-not-a-word")) is None
    with ix.reader() as r2:  # a new reader of the same segment: same answers
        assert list(r2.postings("body", "said").all_ids()) == expected
        assert ("body", b"said") in r2 and ("body", b"zzzz-not-a-word") not in r2
        try:
            r2.postings("body", "zzzz-not-a-word")
            raise AssertionError("an absent term must raise TermNotFound")
        except TermNotFound:
            pass
    ix.close()
    small = TermInfoCache(2)
    small.put("a", 1)
    small.put("b", 2)
    assert small.get("a") == 1  # "a" is now the most recent
    small.put("c", 3)
    assert small.get("b") is small and small.get("a") == 1 and small.get("c") == 3


OCCURRENCES = [  # (counts per posting, rows (position, start, end)), as a term's block holds them
    ([1], [(0, 0, 3)]),
    ([2, 1], [(0, 0, 5), (7, 40, 45), (3, 20, 24)]),
    ([0, 2, 0, 1], [(5, 30, 33), (9, 70, 73), (0, 0, 1)]),  # postings without occurrences
    ([3], [(1, 10, 14), (1, 10, 14), (2, 15, 30)]),  # the same position twice (hyphen parts)
    ([2], [(9, 90, 95), (4, 20, 25)]),  # out of order: negative deltas
    ([1, 2], [(70_000, 3_000_000, 3_000_009), (0, 0, 2), (100_000, 5_000_000, 5_000_300)]),  # wide
]


@pytest.mark.parametrize("counts, rows", OCCURRENCES)
def test_packed_occurrences_decode_to_what_was_written(counts, rows) -> None:
    counts = np.array(counts, dtype=np.int64)
    triples = np.array(rows, dtype=np.int64).reshape(-1, 3)
    codes, packed = pack_occurrences(triples, counts)
    rec = np.frombuffer(packed, dtype=record_dtype(*codes[1:]))
    assert np.column_stack(unpack_occurrences(rec, counts)).tolist() == triples.tolist()


@needs_reuters
def test_positions_stream_is_delta_packed(tmp_path: Path) -> None:
    """Real texts: the .pos stream takes well under the 12 bytes per occurrence of plain
    uint32 triples, and every posting's values still read back exactly."""
    ix = _build(tmp_path / "ours", ArrayCodec(), real_texts())
    fmt = build_schema()["body"].format
    occurrences = postings = 0
    with ix.reader() as r:
        for fn in ("title", "body"):
            for t in r.field_terms(fn):
                for _doc, value in r.postings(fn, t).all_items():
                    occurrences += len(fmt.decode_characters(value))
                info = r.term_info(fn, t)
                if info.doc_frequency() >= 50:  # a common word: doc gaps, weights and
                    # counts in one byte each, not uint32 + float32 + uint32 per posting
                    postings += 1
                    assert term_extent(info)[1] <= 6 + 12 + 3 * info.doc_frequency(), (fn, t)
    sizes = [segment_file_sizes(ix.storage, seg) for seg in ix._segments()]
    ix.close()
    assert occurrences > 1000 and postings > 10
    assert sum(s.get(".pos", 0) for s in sizes) < 0.5 * 12 * occurrences


@needs_reuters
@pytest.mark.parametrize("stretch", [0, 64 * 1024])
def test_occurrences_of_some_postings_equal_whoosh_values(tmp_path: Path, monkeypatch, stretch: int) -> None:
    """Each way of reading some postings' occurrences (one read per posting, one read of
    the stretch holding them, the term's whole stream) gives the values Whoosh's
    matcher reads, posting by posting."""
    import common.codec as codec

    monkeypatch.setattr(codec, "STRETCH_BYTES", stretch)
    ix = _build(tmp_path / "ours", ArrayCodec(), real_texts())
    fmt = build_schema()["body"].format
    with ix.reader() as r:
        leaf = r.leaf_readers()[0][0] if hasattr(r, "leaf_readers") else r
        terms = leaf.codec().terms_reader(leaf.storage(), leaf.segment())
        for word in (b"said", b"the", b"oil"):
            expected = [fmt.decode_characters(v) for _d, v in r.postings("body", word).all_items()]
            n = len(expected)
            assert n >= 20, word
            for chosen in ([0, 1, n - 1], list(range(0, n, 7)), list(range(n))):
                p = terms.term_postings("body", word)  # fresh: nothing read yet
                counts, pos, start, end = p.occurrences(np.array(chosen))
                rows = list(zip(pos.tolist(), start.tolist(), end.tolist()))
                assert counts.tolist() == [len(expected[i]) for i in chosen]
                assert rows == [t for i in chosen for t in expected[i]]
        terms.close()
    ix.close()


IDS_WEIGHTS = [  # (doc numbers, weights): small lists take struct, long ones numpy
    ([0], [1.0]),
    ([7, 8, 300, 70_000], [1.0, 2.0, 4.0, 300.0]),
    ([4_000_000_000], [2.0]),  # a first doc number past what a gap type would hold
    ([3, 9], [0.5, 1.25]),  # fractional weights stay float32
    (list(range(5, 5 + 3 * 40, 3)), [float(i % 7 + 1) for i in range(40)]),
    (list(range(0, 40 * 100_000, 100_000)), [1.5] * 40),
]


@pytest.mark.parametrize("ids, weights", IDS_WEIGHTS)
def test_doc_gaps_and_weights_decode_to_what_was_written(ids, weights) -> None:
    raw = pack_ids_weights(ids, weights)
    got_ids, got_w, at = unpack_ids_weights(raw, len(ids))
    assert at == len(raw)
    assert got_ids.tolist() == ids and got_w.dtype == np.float32
    assert got_w.tolist() == [float(np.float32(w)) for w in weights]
