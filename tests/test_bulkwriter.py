"""The bulk writer (common/bulkwriter.py) writes exactly what Whoosh's own writer writes.

Whoosh's SegmentWriter pools one tuple per posting and replays them into our codec; the
bulk writer takes each worker's field as arrays and encodes a whole field at once. The
segments must not differ by a byte, on real text (seeds, tricky strings, Reuters).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import fields, index

from common import bulkwriter, codec
from common.bulkwriter import BulkWriter
from common.codec import ArrayCodec
from common.layout import open_live_index
from common.schema import PreAnalyzed, build_schema
from indexer.run import RunOptions, run_indexer
from tests.datasets import reuters_stories, write_reuters_corpus
from tests.test_index_format import REUTERS, _contents, real_texts

needs_reuters = pytest.mark.skipif(not REUTERS.is_file(), reason=f"needs {REUTERS} (a few hundred real stories)")


def _docs(texts: list[str], pre_analysed: bool) -> list[dict]:
    """Documents as the indexer writes them: text fields analysed in advance, or as text."""
    schema = build_schema()
    docs = []
    for i, text in enumerate(texts):
        title, _, body = text.strip().partition("\n")
        doc = dict(id=str(i), kind="article", path=f"{i}.txt", title=title, body=body,
                   tags="a,b" if i % 3 else None, source_key="wire" if i % 2 else None)
        if pre_analysed:
            for name in ("title", "body"):
                doc[f"_stored_{name}"], doc[name] = doc[name], schema[name].postings(doc[name])
        docs.append(doc)
    return docs


def _write(folder: Path, bulk: bool, docs: list[dict], **commit) -> index.Index:
    folder.mkdir(exist_ok=True)
    ix = index.open_dir(str(folder)) if index.exists_in(str(folder)) else index.create_in(folder, build_schema())
    writer = BulkWriter(ix, codec=ArrayCodec()) if bulk else ix.writer(codec=ArrayCodec())
    for doc in docs:
        writer.update_document(**doc)
    writer.commit(**commit)
    return ix


def segment_files(ix: index.Index) -> list[dict[str, bytes]]:
    """Each segment's files by extension (names differ from build to build, bytes must not)."""
    out = []
    for seg in ix._segments():
        store = seg.open_compound_file(ix.storage) if seg.is_compound() else ix.storage
        prefix = seg.segment_id()
        out.append({n[len(prefix):]: store.open_file(n).read() for n in store.list() if n.startswith(prefix)})
    return out


@pytest.mark.parametrize("pre_analysed, part, gather", [(True, None, None), (False, None, None), (True, 500, 7)])
def test_bulk_segments_equal_whoosh_segments(tmp_path: Path, monkeypatch, pre_analysed: bool, part, gather) -> None:
    """Also with a field encoded in parts of ~500 postings (at scale: 2**18) and its
    occurrences gathered 7 postings at a time (at scale: 2**18)."""
    if part:
        monkeypatch.setattr(codec, "ENCODE_POSTINGS", part)
    if gather:
        monkeypatch.setattr(bulkwriter, "GATHER_POSTINGS", gather)
    texts = real_texts()
    whoosh_way = _write(tmp_path / "whoosh", False, _docs(texts, True))
    bulk = _write(tmp_path / "bulk", True, _docs(texts, pre_analysed))
    ours, theirs = segment_files(bulk), segment_files(whoosh_way)
    assert ours == theirs
    assert {".pst", ".pos", ".trm", ".stz"} <= set(ours[0])


def test_updates_and_merges_write_alike(tmp_path: Path) -> None:
    """A second commit replacing a third of the documents, then an optimize (Whoosh's
    merge path feeds the buffer one posting at a time, from our codec's readers)."""
    texts = real_texts(120)
    changed = _docs([text.upper() + "\nand a new last line" for text in texts[::3]], True)
    for i, doc in enumerate(changed):
        doc["id"] = str(3 * i)
    results = []
    for name, bulk in (("whoosh", False), ("bulk", True)):
        _write(tmp_path / name, bulk, _docs(texts, True))
        _write(tmp_path / name, bulk, changed, merge=False)
        with index.open_dir(str(tmp_path / name)).reader() as r:
            assert r.doc_count() == len(texts) and r.has_deletions()
        ix = _write(tmp_path / name, bulk, [], optimize=True)
        results.append((_contents(ix), segment_files(ix)))
    assert results[0] == results[1]
    assert len(results[1][1]) == 1


def test_bad_blocks_are_refused(tmp_path: Path) -> None:
    ix = index.create_in(tmp_path, build_schema())
    block = build_schema()["body"].postings("Oil prices rose")
    with BulkWriter(ix, codec=ArrayCodec()) as writer:
        with pytest.raises(ValueError, match="malformed"):
            writer.add_document(id="1", body=PreAnalyzed(block.terms, block.freqs, block.occurrences[:-4]))
        with pytest.raises(ValueError, match="ArrayCharacters"):
            writer.add_document(id="2", kind=block)
        with pytest.raises(ValueError, match="boosts"):
            writer.add_document(id="3", body="x", _boost=2.0)
        writer.add_document(id="4", body=block, _stored_body="Oil prices rose")
    with ix.searcher() as s:
        assert [d["id"] for d in s.all_stored_fields()] == ["4"]
        # the refused documents left no postings behind (id "2" was buffered before "kind")
        assert sorted(t for _f, t in s.reader().all_terms()) == [b"4", b"oil", b"price", b"rose"]


def test_vectors_are_refused(tmp_path: Path) -> None:
    ix = index.create_in(tmp_path, fields.Schema(body=fields.TEXT(vector=True)))
    with pytest.raises(ValueError, match="vectors"):
        BulkWriter(ix, codec=ArrayCodec())
    with ix.writer() as writer:  # the lock was released
        writer.add_document(body="free")


def _by_id(ix: index.Index) -> dict:
    """Every term's postings keyed by document id (doc numbers depend on commit sizes)."""
    with ix.reader() as r:
        ids = {n: d["id"] for n, d in r.iter_docs()}
        return {(fn, t): sorted((ids[d], v) for d, v in r.postings(fn, t).all_items())
                for fn, t in r.all_terms() if fn != "id"}


@pytest.mark.slow
@needs_reuters
def test_full_buffer_commits_in_parts(tmp_path: Path) -> None:
    """A rebuild whose postings outgrow the writer's buffer commits in parts (memory
    stays bounded) and indexes the same postings as one commit does."""
    corpus = tmp_path / "corpus"
    write_reuters_corpus(corpus, reuters_stories(0, 300))
    built = {}
    for name, mb in (("one", 256), ("parts", 0.1)):
        summary = run_indexer(RunOptions(corpus, tmp_path / name, rebuild=True, writer_mb=mb))
        ix = open_live_index(tmp_path / name)
        built[name] = (summary.added, summary.duplicates, len(ix._segments()), _by_id(ix))
        ix.close()
    assert built["one"][2] == 1 and built["parts"][2] > 3
    assert built["one"][:2] == built["parts"][:2] and built["one"][0] > 250
    assert built["one"][3] == built["parts"][3]


def test_a_finished_writer_holds_nothing_without_a_garbage_collection(tmp_path: Path) -> None:
    """Whoosh keeps each writer in a reference cycle (a caught EEXIST's traceback); what
    the segment held must not wait for a full collection, which a long rebuild seldom
    makes (each commit's zstd context and term table piled up)."""
    import gc
    import weakref

    texts = real_texts()[:40]
    gc.collect()
    gc.disable()
    try:
        for i in range(2):
            folder = tmp_path / "ix"
            folder.mkdir(exist_ok=True)
            ix = index.open_dir(str(folder)) if i else index.create_in(folder, build_schema())
            writer = BulkWriter(ix, codec=ArrayCodec())
            for doc in _docs(texts, True):
                writer.add_document(**doc)
            pool, fields_, perdoc = weakref.ref(writer.pool), weakref.ref(writer.fieldwriter), writer.perdocwriter
            writer.commit()
            del writer
            assert pool() is None and fields_() is None
            assert vars(perdoc) == {}
            del perdoc
    finally:
        gc.enable()
    assert index.open_dir(str(tmp_path / "ix")).doc_count() == 2 * len(texts)
