"""Whoosh column files read whole (common/column_arrays.py) give exactly what Whoosh's
own column readers give, value by value, on indexes built by the real indexer and on
columns big enough for Whoosh's offsets layout; damaged files raise, never misread."""

from __future__ import annotations

import shutil

import pytest
from whoosh import columns
from whoosh.filedb.filestore import RamStorage
from whoosh.filedb.structfile import BufferFile

from common import column_arrays as ca
from conftest import SEEDS, run_indexer
from search.engine import open_index


def _whoosh_values(sub, name):
    return list(sub.column_reader(name, translate=False))


def _check_reader(reader) -> int:
    checked = 0
    for sub, _off in reader.leaf_readers():
        n = sub.doc_count_all()
        for name, field in sub.schema.items():
            if not field.column_type or not sub.has_column(name):
                continue
            raw, want = ca.column_file(sub, name), _whoosh_values(sub, name)
            if isinstance(field.column_type, columns.NumericColumn):
                assert ca.numeric(raw, field.column_type._typecode, n).tolist() == want, name
            else:
                text = [v.decode("utf-8") for v in want]
                assert ca.strings(raw, n) == text, name
                codes, labels = ca.coded_strings(raw, n)
                assert [labels[c] if c >= 0 else "" for c in codes.tolist()] == text, name
            checked += 1
    return checked


def test_every_column_of_a_multi_segment_index_reads_as_whoosh_reads_it(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    (corpus / "extra.txt").write_text("Ferry terminal opens\n\nJune 10th, 2019\n\nThe harbour "
                                      "authority said the ferry terminal would open next week.\n", "utf-8")
    for p in sorted(corpus.glob("00[01]_*.txt")):
        p.write_text(p.read_text("utf-8") + "\nUpdate: a correction was added.\n", "utf-8")
    run_indexer(corpus, index, "--quiet")
    ix = open_index(index / "current")
    with ix.reader() as reader:
        assert len(list(reader.leaf_readers())) >= 2
        assert _check_reader(reader) >= 20  # ids, paths, hashes, dates, sources, lengths...


def _write_column(col, values: dict[int, object], doccount: int) -> bytes:
    storage = RamStorage()
    f = storage.create_file("col")
    w = col.writer(f)
    for docnum in sorted(values):
        w.add(docnum, values[docnum])
    w.finish(doccount)
    f.close()
    return storage.open_file("col").read()


def test_var_bytes_with_stored_offsets_and_gaps():
    n = 2**15 + 500  # past Whoosh's cutoff: the offsets array and the "X" marker are written
    values = {d: f"doc-{d}-ü".encode() * (1 + d % 3) for d in range(0, n - 7, 3)}
    raw = _write_column(columns.VarBytesColumn(), values, n)
    assert raw.endswith(b"X")
    reader = columns.VarBytesColumn().reader(BufferFile(raw), 0, len(raw), n)
    want = [v.decode() for v in reader]
    assert ca.strings(raw, n) == want
    codes, labels = ca.coded_strings(raw, n)
    assert (codes == -1).sum() == n - len(values)


def test_numeric_with_skipped_and_trailing_defaults():
    n = 1000
    values = {d: d * 1_000_000_007 - 5 for d in range(3, 900, 7)}
    raw = _write_column(columns.NumericColumn("q"), values, n)
    got = ca.numeric(raw, "q", n)
    assert got.tolist() == [values.get(d, 0) for d in range(n)]


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.999])
def test_a_truncated_var_bytes_file_raises(keep):
    n = 500
    raw = _write_column(columns.VarBytesColumn(), {d: b"x" * (d % 9) for d in range(n)}, n)
    cut = raw[: int(len(raw) * keep)] + (b"" if keep else b"\x00")
    with pytest.raises(ca.ColumnFileDamaged):
        ca.strings(cut, n)


@pytest.mark.parametrize("values", [
    {0: b"Reuters", 2: b"AP", 3: b"Reuters", 9: b"\xc3\xbcber", 10: b"AP"},
    {1: b"nul\x00inside", 2: b"nul", 4: b"trailing\x00", 5: b"trailing"},  # NULs: coded one by one
    {d: b"w" * (d % 50) + str(d).encode() for d in range(0, 3000, 2)},
])
def test_coded_strings_give_each_document_its_value(values):
    n = 12 if len(values) < 10 else 3001
    raw = _write_column(columns.VarBytesColumn(), values, n)
    codes, labels = ca.coded_strings(raw, n)
    want = [values.get(d, b"").decode("utf-8") for d in range(n)]
    assert [labels[c] if c >= 0 else "" for c in codes.tolist()] == want
    assert len(labels) == len(set(labels)) == len(set(values.values()))
