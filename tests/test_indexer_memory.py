"""The indexer's run-wide state is packed (issue 11, peak RSS bounded): file states as
records, the manifest as line offsets, the job list as scan rows, and workers forked
before the parent's heap grows. Real runs on the seeds; the packed forms must read back
exactly what the plain ones held."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from dataclasses import replace
from hashlib import sha1

import pytest
from whoosh.index import FileIndex

from common.layout import current_version, open_live_index
from conftest import SEEDS
from indexer import run as indexer_run
from indexer.corpus import MANIFEST, Manifest, load_manifest
from indexer.run import RunOptions, run_indexer
from indexer.store import DocState, States, load_state_table, read_states


def build(tmp_path, **kwargs):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    shutil.copy(corpus / "002_51ab61055f3fe5d9.txt", corpus / "zz-copy.txt")
    (corpus / "empty.txt").write_text("\n", "utf-8")
    index = tmp_path / "index"
    run_indexer(RunOptions(corpus, index, workers=1, **kwargs))
    return corpus, index


def test_packed_states_read_back_what_the_index_holds(tmp_path):
    _, index = build(tmp_path)
    ix = open_live_index(index)
    states = read_states(ix)
    table = load_state_table(ix, current_version(index))
    assert table is not None and table.states() == states
    kinds = {st.kind for st in states.values()}
    assert kinds == {"article", "duplicate", "skipped"}  # every kind packs
    plain = dict(states.items())
    assert len(plain) == len(states) == 7 and all(type(st) is DocState for st in plain.values())

    # values that do not pack are kept as they are; removed records are reused
    packed = States(plain)
    first, *_ = plain
    odd = [replace(plain[first], id="ABCDEF0123456789"), replace(plain[first], content_hash="not hex"),
           replace(plain[first], kind="other"), replace(plain[first], size=2**70),
           replace(plain[first], file_hash="", meta_hash="", content_hash="")]
    for i, st in enumerate(odd):
        packed[f"odd/{i}"] = st
    assert [packed[f"odd/{i}"] for i in range(len(odd))] == odd
    records = len(packed._data)
    del packed[first]
    packed["again.txt"] = plain[first]
    assert len(packed._data) == records and packed["again.txt"] == plain[first] and first not in packed
    with pytest.raises(KeyError):
        del packed[first]
    packed["odd/1"] = plain[first]  # an odd state replaced by one that packs
    assert packed["odd/1"] == plain[first] and len(packed) == 7 + len(odd)
    ids = packed.ids()
    assert all(st.id in ids for st in packed.values()) and "ABCDEF0123456789" in ids
    assert "0000000000000000" not in ids and "not an id" not in ids and "abcdef0123456789" not in ids
    assert packed.copies_of({bytes.fromhex(plain["zz-copy.txt"].content_hash)}) == [
        ("zz-copy.txt", plain["zz-copy.txt"].id)]


def test_manifest_entries_come_from_their_lines(tmp_path):
    lines = [
        {"file": "a.txt", "url": "https://example.com/a", "date": "2019-06-10"},
        {"file": "./b.txt", "title": "B\u2028with a line separator inside"},
        {"file": "c.txt", "url": "http://[::1", "source": "Wire"},
        {"file": "a.txt", "title": "Later entry wins"},
    ]
    text = "\r\n".join(json.dumps(obj, ensure_ascii=False) for obj in lines) + "\n\nnot json\n"
    (tmp_path / MANIFEST).write_text(text, "utf-8")
    manifest = load_manifest(tmp_path)
    assert manifest.entry("a.txt") == {"title": "Later entry wins"}
    assert manifest.entry("c.txt") == {"source": "Wire"}  # the bad URL is dropped
    assert manifest.entry("missing.txt") == {} and manifest.entry_hash("missing.txt") == ""
    # the separator inside b's title ends a line, as str.splitlines has it: the offsets of
    # the lines after it must still be right
    (later,) = [line for line in text.splitlines() if "Later" in line]
    assert manifest.entry_hash("a.txt") == sha1(later.strip().encode("utf-8")).hexdigest()[:16]
    reasons = sorted(p.reason.split(" (")[0] for p in manifest.problems)
    assert any("not JSON" in r for r in reasons) and any("duplicate" in r for r in reasons)
    assert any("not a valid URL" in r for r in reasons)

    # a manifest known from the last run is parsed only when an entry is asked for
    again = load_manifest(tmp_path, known=manifest.record())
    assert again.unchanged and not again.parsed
    assert again.entry("c.txt") == manifest.entry("c.txt") and again.parsed
    assert Manifest().entry("a.txt") == {}


def test_an_incremental_run_finds_orphans_without_searching_the_index(tmp_path, monkeypatch):
    """A completed run leaves no orphan, so the next run's orphans are copies of what it
    removes or changes, found in the file states: a searcher over a 200k index was most
    of an incremental run's memory."""
    corpus, index = build(tmp_path)
    (corpus / "002_51ab61055f3fe5d9.txt").unlink()
    (corpus / "new.txt").write_text("A new headline about watchdogs\n\nA watchdog group published a "
                                    "long report today about facial recognition exports.\n", "utf-8")

    def no_searcher(self, **kwargs):
        raise AssertionError("the run searched the whole index")

    monkeypatch.setattr(FileIndex, "searcher", no_searcher)
    summary = run_indexer(RunOptions(corpus, index, workers=1))
    assert (summary.added, summary.removed) == (1, 1)
    monkeypatch.undo()
    with open_live_index(index).searcher() as s:
        docs = {d["path"]: d for d in s.all_stored_fields()}
    assert docs["zz-copy.txt"]["kind"] == "article" and "Hikvision" in docs["zz-copy.txt"]["body"]
    assert "002_51ab61055f3fe5d9.txt" not in docs


@pytest.mark.parametrize("rebuild", [True, False])
def test_workers_are_forked_before_the_run_holds_its_file_lists(tmp_path, monkeypatch, rebuild):
    """A forked worker's RSS includes the parent's heap: a rebuild forks them before the
    scan, an incremental run before the file states and the diff."""
    corpus, index = build(tmp_path)
    (corpus / "new.txt").write_text("Another headline\n\nA long enough body about a new thing that "
                                    "happened today in the city, reported by a wire.\n", "utf-8")
    seen = []
    spy = indexer_run.scan_corpus if rebuild else indexer_run._diff

    def counting(*args, **kwargs):
        seen.append(len(multiprocessing.active_children()))
        return spy(*args, **kwargs)

    monkeypatch.setattr(indexer_run, "scan_corpus" if rebuild else "_diff", counting)
    summary = run_indexer(RunOptions(corpus, index, workers=2, rebuild=rebuild))
    assert seen == [2] and summary.added == (6 if rebuild else 1)
    assert multiprocessing.active_children() == []


def test_hashed_furniture_counts_pick_the_lines_string_counts_did(tmp_path, monkeypatch):
    """Line keys are counted as 64-bit hashes and named once on MIN_DOCS pages: the same
    furniture as counting the strings (a reference counter below, with the same pruning,
    made to prune often), and the same after a save and a load, from either file format."""
    from collections import Counter

    from datasets import SHARED_DATA, reuters_stories
    from indexer import furniture as fmod
    from indexer.textclean import furniture_candidates

    if not (SHARED_DATA / "reuters21578" / "docs.jsonl.gz").exists():
        pytest.skip("../shared/data/reuters21578 is missing")
    monkeypatch.setattr(fmod, "MAX_KEYS_PER_GROUP", 300)
    monkeypatch.setattr(fmod, "MIN_SHARE", 0.004)  # Reuters has little furniture: find some
    stats, reference = fmod.FurnitureStats(), {}
    for doc in reuters_stories(0, 1500):
        group = f"g{int(doc['id']) % 3}"
        keys = furniture_candidates(f"{doc['title'] or ''}\n\n{doc['text']}\n")
        stats.add(group, keys)
        docs, lines = reference.get(group, (0, Counter()))
        lines.update(keys)
        if len(lines) > 300:
            lines = Counter(dict(lines.most_common(150)))
        reference[group] = (docs + 1, lines)

    def expected(group):
        docs, lines = reference[group]
        floor = max(fmod.MIN_DOCS, fmod.MIN_SHARE * docs)
        return frozenset(k for k, c in lines.items() if c >= floor)

    assert sorted(stats.groups) == ["g0", "g1", "g2"]
    found = {g: stats.furniture(g) for g in stats.groups}
    assert found == {g: expected(g) for g in stats.groups} and all(found.values())
    stats.save(tmp_path)
    assert {g: fmod.FurnitureStats.load(tmp_path).furniture(g) for g in found} == found
    stats.freeze()  # groups held as text: the same furniture, and adding parses them again
    assert all(isinstance(v, str) for v in stats.groups.values())
    assert {g: stats.furniture(g) for g in found} == found
    stats.add("g0", ["a line only this page has"])
    assert isinstance(stats.groups["g0"], fmod.GroupStats) and stats.groups["g0"].docs == reference["g0"][0] + 1
    (tmp_path / fmod.FILE).write_text("damaged\n", "utf-8")
    assert fmod.FurnitureStats.load(tmp_path).groups == {}
    old_format = {g: {"docs": d, "lines": dict(lines)} for g, (d, lines) in reference.items()}
    (tmp_path / fmod.FILE).write_text(json.dumps(old_format), "utf-8")
    assert {g: fmod.FurnitureStats.load(tmp_path).furniture(g) for g in found} == found


def test_a_rebuild_counts_the_live_index_without_reading_it(tmp_path, monkeypatch):
    """The mass-delete check of a rebuild counts the live index's documents from its table
    of contents: a reader over a 200k index was ~540 MB, the peak of the whole rebuild."""
    corpus, index = build(tmp_path)

    def no_reader(self, **kwargs):
        raise AssertionError("the rebuild opened a reader over the whole live index")

    monkeypatch.setattr(FileIndex, "reader", no_reader)
    for name in ("000_e1c154806f9c8927.txt", "001_e03d6154ed26c3dc.txt", "003_66bd743d1ceed7ab.txt",
                 "004_b84ecb76034e73ae.txt", "zz-copy.txt"):
        (corpus / name).unlink()
    with pytest.raises(indexer_run.MassDeleteRefused):  # 5 of the 7 files gone: counted
        run_indexer(RunOptions(corpus, index, workers=1, rebuild=True))
    summary = run_indexer(RunOptions(corpus, index, workers=1, rebuild=True, allow_mass_delete=True))
    assert summary.added == 1 and summary.skipped == 1
