"""The array codec holds exactly what Whoosh's own codec holds, and plain Whoosh reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from whoosh import index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.qparser import QueryParser

from common.codec import ArrayCodec, ArrayTermsReader, is_array_segment
from common.schema import build_schema
from tests.test_index_format import _build, _contents, real_texts


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


def test_postings_are_little_endian_arrays(tmp_path: Path) -> None:
    ix = _build(tmp_path / "ours", ArrayCodec(), real_texts(50))
    with ix.reader() as r:
        leaf = r.leaf_readers()[0][0] if hasattr(r, "leaf_readers") else r
        terms = leaf.codec().terms_reader(leaf.storage(), leaf.segment())
        assert isinstance(terms, ArrayTermsReader)
        p = terms.term_postings("body", b"said")
        assert p.ids.dtype == np.dtype("<u4") and p.weights.dtype == np.dtype("<f4")
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
