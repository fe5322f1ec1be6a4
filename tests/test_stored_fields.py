"""Stored fields in codec format 4 (common/stored.py): what goes in comes out, smaller,
and damage is detected instead of unpickled."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest
from whoosh import index
from whoosh.codec.whoosh3 import W3Codec

from common import stored
from common.codec import ArrayCodec, is_array_segment, segment_file_sizes
from common.layout import open_live_index
from common.schema import build_schema
from tests.test_index_format import REUTERS, _build, real_texts


def _stored(ix: index.Index) -> list[dict]:
    with ix.reader() as r:
        return list(r.all_stored_fields())


def _sizes(ix: index.Index) -> dict[str, int]:
    total: dict[str, int] = {}
    for seg in ix._segments():
        for ext, size in segment_file_sizes(ix.storage, seg).items():
            total[ext] = total.get(ext, 0) + size
    return total


@pytest.mark.slow
def test_reuters_stored_fields_round_trip_and_shrink(tmp_path: Path, monkeypatch) -> None:
    """3,000 Reuters stories (past the documents held back to train the dictionary, so
    both held and streamed documents are read): every document's fields equal what
    Whoosh's own codec stores, read in any order, in well under the bytes of its column."""
    if not REUTERS.is_file():
        pytest.skip(f"{REUTERS} is missing (../shared/data)")
    monkeypatch.setattr(stored, "SAMPLE_BYTES", 1024 * 1024)  # half the stories held back
    texts = real_texts(3000)
    plain = _build(tmp_path / "plain", W3Codec(), texts)
    ours = _build(tmp_path / "ours", ArrayCodec(), texts)
    expected = _stored(plain)
    assert sum(len(d.get("body", "")) for d in expected) > 1.5 * stored.SAMPLE_BYTES
    assert _stored(ours) == expected
    order = list(range(len(expected)))
    random.Random(7).shuffle(order)
    with ours.searcher() as s:
        assert [s.stored_fields(d) for d in order] == [expected[d] for d in order]
    ours_bytes, plain_bytes = _sizes(ours), _sizes(plain)
    assert ours_bytes[".stz"] < 0.75 * plain_bytes["._stored.col"]
    # Whoosh's own column holds no values: only its length table, a byte per document
    assert ours_bytes.get("._stored.col", 0) <= len(expected) + 16
    plain.close()
    ours.close()


def test_seed_index_stored_fields_read_back(seed_index: Path) -> None:
    """The real indexer's seed index: every segment has its .stz, and each document's
    stored id and path agree with the id and path columns the indexer wrote beside them."""
    ix = open_live_index(seed_index)
    assert all(is_array_segment(s) and ".stz" in segment_file_sizes(ix.storage, s) for s in ix._segments())
    with ix.reader() as r:
        ids = list(r.column_reader("id"))
        paths = list(r.column_reader("path"))
        docs = [r.stored_fields(d) for d in range(r.doc_count_all())]
    ix.close()
    assert sum(1 for d in docs if d.get("kind") == "article" and d.get("body")) == 5  # the five seed stories
    assert [(d["id"], d["path"]) for d in docs] == list(zip(ids, paths))


def test_merged_segments_keep_their_stored_fields(tmp_path: Path) -> None:
    """Documents written in three commits, then merged into one segment (Whoosh re-adds
    each document through the per-document writer): the same fields, in the same order."""
    texts = real_texts(120)
    folder = tmp_path / "ix"
    folder.mkdir()
    ix = index.create_in(folder, build_schema())
    for part in range(3):
        with ix.writer(codec=ArrayCodec(), merge=False) as w:
            for i in range(part, len(texts), 3):
                title, _, body = texts[i].strip().partition("\n")
                w.add_document(id=str(i), kind="article", path=f"{i}.txt", title=title, body=body)
    assert len(ix._segments()) == 3
    before = sorted(_stored(ix), key=lambda d: int(d["id"]))
    ix.writer(codec=ArrayCodec()).commit(optimize=True)
    assert len(ix._segments()) == 1
    assert sorted(_stored(ix), key=lambda d: int(d["id"])) == before
    ix.close()


def test_format_3_segment_reads_its_own_column(tmp_path: Path) -> None:
    """A segment of the previous format keeps stored fields in Whoosh's column and stays
    readable (until the next indexer run rebuilds it)."""
    texts = real_texts(30)
    older = ArrayCodec()
    older.format_version = 3
    old = _build(tmp_path / "old", older, texts)
    plain = _build(tmp_path / "plain", W3Codec(), texts)
    assert not any(is_array_segment(s) for s in old._segments())
    assert ".stz" not in _sizes(old)
    assert _stored(old) == _stored(plain)
    old.close()
    plain.close()


def _loose_segment(tmp_path: Path) -> tuple[index.Index, Path]:
    """An index whose segment files are loose (not compound), so one can be damaged."""
    folder = tmp_path / "loose"
    folder.mkdir()
    ix = index.create_in(folder, build_schema())
    with ix.writer(codec=ArrayCodec(), compound=False) as w:
        for i, text in enumerate(real_texts(40)):
            title, _, body = text.strip().partition("\n")
            w.add_document(id=str(i), kind="article", path=f"{i}.txt", title=title, body=body)
    (stz,) = folder.glob("*.stz")
    return ix, stz


def _read_all(ix: index.Index) -> None:
    with ix.reader() as r:
        for d in range(r.doc_count_all()):
            r.stored_fields(d)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_stored_fields_are_detected(tmp_path: Path, damage: str) -> None:
    ix, stz = _loose_segment(tmp_path)
    _read_all(ix)  # whole: reads
    stored.HEADS.discard(ix._segments()[0].segment_id())  # read the damaged trailer anew
    data = bytearray(stz.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:  # one byte in the middle of the documents' streams, past the dictionary
        f = ix.storage.open_file(stz.name)
        zdict, offsets_at, _n, _dtype = stored.read_head(f, len(data))
        f.close()
        data[(len(stored.MAGIC) + len(zdict) + offsets_at) // 2] ^= 0xFF
    stz.write_bytes(bytes(data))
    with pytest.raises(stored.CorruptStoredFields):
        _read_all(ix)
    ix.close()


@pytest.mark.skipif(not REUTERS.is_file(), reason=f"needs {REUTERS} (real stories to train on)")
def test_dictionary_is_trained_only_when_it_pays() -> None:
    """A handful of documents get none (zstd cannot train on them, nor would it pay);
    real stories get one, and it makes each story's frame smaller."""
    docs = [pickle.dumps({"body": t}, 2) for t in real_texts(400)]
    assert stored.train_dictionary(docs[:3]) == b""
    zdict = stored.train_dictionary(docs)
    assert 0 < len(zdict) <= stored.DICT_BYTES
    with_dict, without = stored.compressor(zdict), stored.compressor(b"")
    assert sum(len(with_dict.compress(d)) for d in docs) < 0.8 * sum(len(without.compress(d)) for d in docs)
    assert stored.decompressor(zdict).decompress(with_dict.compress(docs[-1])) == docs[-1]
