"""Runs with nothing changed skip work (the state cache, the manifest's fingerprint), and
every change the cron user makes must still be picked up: real indexer runs on the seeds."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from common.layout import current_version
from conftest import SEEDS, run_indexer
from indexer.corpus import MANIFEST, Skip, load_manifest, path_order, scan_corpus
from indexer.store import STATE_CACHE, load_state_table, read_states, save_states


def summary_of(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def counts(summary: dict) -> tuple[int, int, int, int]:
    return summary["added"], summary["updated"], summary["removed"], summary["unchanged"]


def generation(index: Path) -> int:
    return whoosh_index.open_dir(str(current_version(index))).latest_generation()


def cache(index: Path) -> Path:
    return current_version(index) / STATE_CACHE


def stored(index: Path) -> dict[str, dict]:
    with whoosh_index.open_dir(str(current_version(index))).searcher() as s:
        return {d["path"]: d for d in s.all_stored_fields()}


def run(corpus: Path, index: Path) -> dict:
    return summary_of(run_indexer(corpus, index, "--json", "--no-watch"))


@pytest.fixture
def indexed(tmp_path) -> tuple[Path, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    assert run(corpus, index)["added"] == 5
    return corpus, index


def assert_settled(corpus: Path, index: Path, unchanged: int) -> None:
    """The next run changes nothing: no commit, and the state cache is not rewritten."""
    gen, data, mtime = generation(index), cache(index).read_bytes(), cache(index).stat().st_mtime_ns
    assert counts(run(corpus, index)) == (0, 0, 0, unchanged)
    assert generation(index) == gen
    assert (cache(index).read_bytes(), cache(index).stat().st_mtime_ns) == (data, mtime)


@pytest.mark.slow
def test_a_run_with_nothing_changed_commits_nothing_and_keeps_the_cache(indexed):
    assert_settled(*indexed, unchanged=5)


@pytest.mark.slow
def test_a_manifest_edit_that_keeps_its_size_and_mtime_reindexes_the_file(indexed):
    corpus, index = indexed
    manifest = corpus / MANIFEST
    lines = manifest.read_text("utf-8").splitlines()
    entry = json.loads(lines[2]) | {"source": "Reuters"}
    lines[2] = json.dumps(entry)
    manifest.write_text("\n".join(lines) + "\n", "utf-8")
    assert counts(run(corpus, index)) == (0, 1, 0, 4)
    st = manifest.stat()
    manifest.write_text("\n".join(lines).replace('"Reuters"', '"Reuterz"') + "\n", "utf-8")
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (manifest.stat().st_size, manifest.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert counts(run(corpus, index)) == (0, 1, 0, 4)
    assert stored(index)[entry["file"]]["source"] == "Reuterz"
    assert_settled(corpus, index, unchanged=5)


@pytest.mark.slow
def test_a_manifest_line_for_no_file_is_recorded_once(indexed):
    corpus, index = indexed
    gen = generation(index)
    with open(corpus / MANIFEST, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"file": "not-yet-scraped.txt", "date": "2020-01-01"}) + "\n")
    assert counts(run(corpus, index)) == (0, 0, 0, 5)
    assert generation(index) == gen  # nothing committed; only the cache learnt the new bytes
    assert load_state_table(whoosh_index.open_dir(str(current_version(index))), current_version(index)) is not None
    assert_settled(corpus, index, unchanged=5)


@pytest.mark.slow
def test_bad_manifest_lines_are_reported_by_every_run(indexed):
    corpus, index = indexed
    with open(corpus / MANIFEST, "a", encoding="utf-8") as fh:
        fh.write("not json\n" + json.dumps({"file": 3}) + "\n" + '{"file": "\\ud800.txt"}\n' * 2)
    first = run(corpus, index)
    assert [s["reason"].split(":")[0] for s in first["skipped_files"]] == [
        "manifest line is not JSON", 'manifest line needs a "file" string',
        'manifest "file" holds a lone surrogate (a \\uD800-\\uDFFF escape); line ignored'] + [
        'manifest "file" holds a lone surrogate (a \\uD800-\\uDFFF escape); line ignored']
    again = run(corpus, index)  # the same bytes: problems come from the cache, not a parse
    assert again["skipped_files"] == first["skipped_files"] and again["unchanged"] == 5


@pytest.mark.slow
def test_new_bytes_of_the_same_size_are_reindexed(indexed):
    corpus, index = indexed
    seed = sorted(corpus.glob("*.txt"))[0]
    text = seed.read_text("utf-8")
    st = seed.stat()
    word = next(w for w in text.split() if len(w) > 5 and w.isalpha())
    seed.write_text(text.replace(word, word[::-1].upper(), 1), "utf-8")
    os.utime(seed, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # one nanosecond later
    assert seed.stat().st_size == st.st_size
    assert counts(run(corpus, index)) == (0, 1, 0, 4)
    doc = stored(index)[seed.name]
    assert word[::-1].upper() in doc["title"] + doc["body"]
    assert_settled(corpus, index, unchanged=5)


@pytest.mark.slow
def test_a_touched_file_is_refreshed_once_then_left_alone(indexed):
    corpus, index = indexed
    seed = sorted(corpus.glob("*.txt"))[1]
    st = seed.stat()
    os.utime(seed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert counts(run(corpus, index)) == (0, 0, 0, 5)
    ix = whoosh_index.open_dir(str(current_version(index)))
    assert read_states(ix)[seed.name].mtime_ns == st.st_mtime_ns + 10**9
    assert_settled(corpus, index, unchanged=5)  # once: the cache holds the new mtime too


def _damage(path: Path, how: str, old: bytes) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) - 7])
    elif how == "byte flipped in a path":
        at = data.index(b".txt")  # inside the paths column
        path.write_bytes(data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :])
    elif how == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif how == "another generation":
        path.write_bytes(old)  # the cache of the run before, listing the removed file
    elif how == "missing":
        path.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "byte flipped in a path", "garbage", "another generation", "missing"])
def test_a_state_cache_that_does_not_describe_the_index_is_not_trusted(indexed, how):
    corpus, index = indexed
    old = cache(index).read_bytes()
    gone = sorted(corpus.glob("*.txt"))[0]
    gone.unlink()
    assert counts(run(corpus, index)) == (0, 0, 1, 4)
    _damage(cache(index), how, old)
    # read from the index itself: nothing left to do (a trusted stale cache would remove
    # the file again, a misread one would add or remove others)
    summary = run(corpus, index)
    assert counts(summary) == (0, 0, 0, 4) and summary["duplicates"] == 0
    assert set(stored(index)) == {p.name for p in corpus.glob("*.txt")}
    assert_settled(corpus, index, unchanged=4)


def test_the_state_cache_holds_what_the_index_holds(indexed):
    corpus, index = indexed
    ix = whoosh_index.open_dir(str(current_version(index)))
    table = load_state_table(ix, current_version(index))
    assert table is not None and table.states() == read_states(ix)
    assert table.paths == sorted(table.paths, key=path_order) == scan_corpus(corpus).rels
    assert table.manifest == load_manifest(corpus).record()
    save_states(ix, current_version(index), {}, load_manifest(corpus))  # an empty index's cache
    assert load_state_table(ix, current_version(index)).states() == {}


def test_the_scan_lists_folder_by_folder_and_files_by_path(tmp_path):
    names = ["a-b/x.txt", "a/b.txt", "a/c/d.htm", "A.HTML", "b.txt", "a/notes.md", "a/.hidden.txt", "empty.txt"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("" if name == "empty.txt" else "text", "utf-8")
    scan = scan_corpus(tmp_path)
    assert scan.rels == ["A.HTML", "a/b.txt", "a/c/d.htm", "a-b/x.txt", "b.txt"]  # path_order
    assert [f.rel for f in scan.files] == ["A.HTML", "a-b/x.txt", "a/b.txt", "a/c/d.htm", "b.txt"]
    assert scan.files[0].location == str(tmp_path.resolve() / "A.HTML") and scan.files[0].size == 4
    assert scan.skipped == [Skip("empty.txt", "empty file")]


MANIFEST_CASES = [
    # (lines, entries by file, problems as (line, reason prefix))
    ([' {"file": "a.txt", "date": "2019"} ', "", "   "], {"a.txt": {"date": "2019"}}, []),
    (['{"file": "./b.txt", "title": " ", "source": 5}'], {"b.txt": {}}, []),
    (["null", "[1, 2]", '{"file": 1}'], {}, [(1, 'manifest line needs a "file"'), (2, 'manifest line needs a "file"'),
                                           (3, 'manifest line needs a "file"')]),
    (['{"file": "c.txt"} x', '{"file": "c.txt"', "\ufeff{}"], {}, [(1, "manifest line is not JSON: Extra data"),
                                                                    (2, "manifest line is not JSON: Expecting"),
                                                                    (3, "manifest line is not JSON: Unexpected UTF-8 BOM")]),
    (['{"file": "d.txt", "url": "http://[::1"}', '{"file": "d.txt", "date": "2020"}'],
     {"d.txt": {"date": "2020"}}, [(1, "manifest url is not a valid URL"), (2, "duplicate manifest entry for d.txt")]),
]


@pytest.mark.parametrize("lines,entries,problems", MANIFEST_CASES)
def test_manifest_lines_parse_as_json_loads_reads_them(tmp_path, lines, entries, problems):
    (tmp_path / MANIFEST).write_text("\n".join(lines) + "\n", "utf-8")
    for known in (None, load_manifest(tmp_path).record()):
        manifest = load_manifest(tmp_path, known)
        assert manifest.unchanged == (known is not None)
        assert [(int(p.path.split(":")[1]), p.reason[: len(r)]) for p, (_, r) in zip(manifest.problems, problems)] == problems
        assert len(manifest.problems) == len(problems)
        assert {rel: manifest.entry(rel) for rel in entries} == entries
        assert all(len(manifest.entry_hash(rel)) == 16 for rel in entries)


def test_a_manifest_with_other_bytes_is_parsed_again(tmp_path):
    (tmp_path / MANIFEST).write_text('{"file": "a.txt", "date": "2019"}\n', "utf-8")
    record = load_manifest(tmp_path).record()
    (tmp_path / MANIFEST).write_text('{"file": "a.txt", "date": "2018"}\n', "utf-8")
    manifest = load_manifest(tmp_path, record)
    assert not manifest.unchanged and manifest.entry("a.txt") == {"date": "2018"}
    assert load_manifest(tmp_path, {"fingerprint": manifest.fingerprint, "problems": "bad"}).unchanged is False


@pytest.mark.slow
def test_a_corpus_without_a_manifest_settles_too(indexed):
    corpus, index = indexed
    (corpus / MANIFEST).unlink()
    assert counts(run(corpus, index)) == (0, 5, 0, 0)  # every entry hash changed to none
    assert_settled(corpus, index, unchanged=5)
