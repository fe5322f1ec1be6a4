"""The indexer as cron runs it: incremental changes, duplicates, locking, bad files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from common.codec import ArrayCodec, is_array_segment
from common.layout import current_version
from conftest import SEEDS, run_indexer
from indexer.store import RunLock


def summary_of(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def docs_by_path(index_dir: Path) -> dict[str, dict]:
    ix = whoosh_index.open_dir(str(current_version(index_dir)))
    with ix.searcher() as s:
        return {d["path"]: d for d in s.all_stored_fields()}


@pytest.fixture
def corpus(tmp_path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(SEEDS, dest)
    return dest


@pytest.mark.slow
def test_incremental_add_change_touch_delete(corpus, tmp_path):
    index = tmp_path / "index"
    first = summary_of(run_indexer(corpus, index, "--json"))
    assert (first["added"], first["unchanged"], first["skipped"]) == (5, 0, 0)

    again = summary_of(run_indexer(corpus, index, "--json"))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 5)

    # touched, not changed: state refreshed, not re-indexed
    seed = corpus / "000_e1c154806f9c8927.txt"
    os.utime(seed, ns=(seed.stat().st_atime_ns, seed.stat().st_mtime_ns + 10**9))
    touched = summary_of(run_indexer(corpus, index, "--json"))
    assert (touched["updated"], touched["unchanged"]) == (0, 5)
    assert summary_of(run_indexer(corpus, index, "--json"))["unchanged"] == 5

    # changed
    seed.write_text(seed.read_text("utf-8").replace("SenseTime", "Sensetime Group"), "utf-8")
    changed = summary_of(run_indexer(corpus, index, "--json"))
    assert (changed["updated"], changed["unchanged"]) == (1, 4)
    assert "Sensetime Group" in docs_by_path(index)[seed.name]["body"]

    # added in a subfolder, then deleted
    (corpus / "more").mkdir()
    shutil.copy(corpus / "001_e03d6154ed26c3dc.txt", corpus / "more" / "copy.txt")
    (corpus / "more" / "new.txt").write_text(
        "A new headline about watchdogs\n\nA watchdog group published a long report today about "
        "facial recognition exports, and said regulators should act.\n", "utf-8")
    added = summary_of(run_indexer(corpus, index, "--json"))
    assert (added["added"], added["duplicates"]) == (1, 1)
    docs = docs_by_path(index)
    assert docs["more/copy.txt"]["kind"] == "duplicate"
    assert docs["more/copy.txt"]["dup_of"] == docs["001_e03d6154ed26c3dc.txt"]["id"]

    (corpus / "more" / "new.txt").unlink()
    removed = summary_of(run_indexer(corpus, index, "--json"))
    assert removed["removed"] == 1
    assert "more/new.txt" not in docs_by_path(index)


@pytest.mark.slow
def test_deleting_the_original_promotes_its_duplicate(corpus, tmp_path):
    index = tmp_path / "index"
    shutil.copy(corpus / "002_51ab61055f3fe5d9.txt", corpus / "zz-copy.txt")
    run_indexer(corpus, index)
    (corpus / "002_51ab61055f3fe5d9.txt").unlink()
    run_indexer(corpus, index)
    docs = docs_by_path(index)
    assert docs["zz-copy.txt"]["kind"] == "article"
    assert "Hikvision" in docs["zz-copy.txt"]["body"]


@pytest.mark.slow
def test_ids_are_stable_across_rebuilds(corpus, tmp_path):
    index = tmp_path / "index"
    run_indexer(corpus, index)
    before = {p: d["id"] for p, d in docs_by_path(index).items()}
    old_version = current_version(index)
    run_indexer(corpus, index, "--rebuild")
    assert current_version(index) != old_version
    assert not old_version.exists()  # the replaced version is cleaned up
    assert {p: d["id"] for p, d in docs_by_path(index).items()} == before


@pytest.mark.slow
def test_rebuild_in_several_commits_equals_one_build(corpus, tmp_path):
    """A rebuild commits in shares while workers clean the rest: same documents."""
    one, shares = tmp_path / "one", tmp_path / "shares"
    run_indexer(corpus, one, "--rebuild")
    run_indexer(corpus, shares, "--rebuild", "--batch-size", "1")
    assert docs_by_path(shares) == docs_by_path(one)
    with whoosh_index.open_dir(str(current_version(shares))).reader() as reader:
        assert len(reader.leaf_readers()) == 3  # shares of 50%, 30% and the rest of 5 seeds


def test_second_run_exits_75_and_changes_nothing(corpus, tmp_path):
    index = tmp_path / "index"
    run_indexer(corpus, index)
    (corpus / "extra.txt").write_text("Headline\n\nSome body text that is long enough to keep.\n", "utf-8")
    with RunLock(index):
        proc = run_indexer(corpus, index, check=False)
    assert proc.returncode == 75
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "another indexer run" in proc.stderr
    assert "extra.txt" not in docs_by_path(index)


@pytest.mark.slow
def test_manifest_change_reindexes_the_file(corpus, tmp_path):
    index = tmp_path / "index"
    run_indexer(corpus, index)
    manifest = corpus / "manifest.jsonl"
    lines = manifest.read_text("utf-8").splitlines()
    entry = json.loads(lines[3])
    entry["date"] = "2019-06-12"
    entry["source"] = "Bloomberg"
    lines[3] = json.dumps(entry)
    manifest.write_text("\n".join(lines) + "\n", "utf-8")
    summary = summary_of(run_indexer(corpus, index, "--json"))
    assert (summary["updated"], summary["unchanged"]) == (1, 4)
    doc = docs_by_path(index)[entry["file"]]
    assert (doc["date"], doc["date_precision"], doc["date_origin"], doc["source"]) == (
        "2019-06-12", "day", "manifest", "Bloomberg")


@pytest.mark.slow
def test_bad_files_are_skipped_with_reasons(corpus, tmp_path):
    index = tmp_path / "index"
    bad = corpus / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50)
    (bad / "big.txt").write_text("Big page\n\n" + "A long sentence about news. " * 2000, "utf-8")
    (bad / "furniture.txt").write_text("Home\nSubscribe\nLeave a Reply\n", "utf-8")
    (bad / "scripts.html").write_text("<html><script>var a = 1;</script></html>", "utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text("Secret\n\nThis file lives outside the corpus and must not be indexed.\n", "utf-8")
    (bad / "escape.txt").symlink_to(outside)
    (bad / "loop.txt").symlink_to(bad / "loop.txt")
    (bad / "dirlink").symlink_to(tmp_path)
    # Latin-1 bytes: not UTF-8, decoded without mojibake and indexed
    (corpus / "latin1.txt").write_bytes(
        "Café owners in Zürich\n\nThe café owners said the £5 fee was too high for most of them.\n".encode("latin-1"))
    (bad / "notes.md").write_text("ignored: not a corpus file type", "utf-8")

    proc = run_indexer(corpus, index, "--json", "--max-bytes", "20000")
    summary = summary_of(proc)
    reasons = {item["path"]: item["reason"] for item in summary["skipped_files"]}
    assert reasons["bad/empty.txt"] == "empty file"
    assert reasons["bad/binary.txt"].startswith("binary file")
    assert reasons["bad/big.txt"].startswith("file too large")
    assert reasons["bad/furniture.txt"] == "no article text after cleaning"
    assert "bad/scripts.html" in reasons
    assert reasons["bad/escape.txt"] == "symlink leaves the corpus folder"
    assert "loop" in reasons["bad/loop.txt"]
    assert reasons["bad/dirlink"] == "symlink leaves the corpus folder"
    assert "bad/notes.md" not in reasons
    assert summary["added"] == 6
    docs = docs_by_path(index)
    assert "£5 fee" in docs["latin1.txt"]["body"]
    assert "Café" in docs["latin1.txt"]["title"]
    assert docs["bad/binary.txt"]["kind"] == "skipped"

    # An unchanged bad file is not read again: only stat-level skips are reported anew.
    again = summary_of(run_indexer(corpus, index, "--json", "--max-bytes", "20000"))
    again_paths = {item["path"] for item in again["skipped_files"]}
    assert "bad/binary.txt" not in again_paths and "bad/furniture.txt" not in again_paths
    assert {"bad/empty.txt", "bad/big.txt", "bad/escape.txt"} <= again_paths
    assert again["added"] == again["updated"] == 0


def test_fatal_errors_say_what_to_do(tmp_path):
    proc = run_indexer(tmp_path / "missing", tmp_path / "index", check=False)
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_work_ahead_is_bounded_and_an_early_stop_does_not_hang():
    """The writer's backpressure on the cleaning workers (indexer.run._Window)."""
    import multiprocessing
    import time

    from indexer.run import _Window

    window, fed = _Window(3), []

    def jobs():
        for i in range(200):
            fed.append(i)
            yield i

    with multiprocessing.get_context("fork").Pool(2) as pool:
        for consumed, _ in enumerate(pool.imap(abs, window.admit(jobs()), chunksize=1), 1):
            time.sleep(0.005)  # a slow writer
            # 3 slots ahead of what was consumed, plus one job read and waiting for a slot
            assert len(fed) <= consumed + 3 + 1
            window.done()
            if consumed == 20:
                break
        window.close()  # the writer stopped early: the feeder must not wait forever
    assert len(fed) < 200


@pytest.mark.slow
def test_index_from_an_older_version_is_rebuilt_not_broken(corpus, tmp_path):
    """An index whose schema lacks a field this version writes: the next cron run rebuilds."""
    index = tmp_path / "index"
    run_indexer(corpus, index)
    before = docs_by_path(index)
    old_version = current_version(index)
    ix = whoosh_index.open_dir(str(old_version))
    with ix.writer() as writer:  # what an index written before `tag_labels` existed looks like
        writer.remove_field("tag_labels")
    (corpus / "extra.txt").write_text("Headline here\n\nA body long enough to be kept as an article text.\n", "utf-8")

    proc = run_indexer(corpus, index, "--json")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["rebuild"] is True
    assert "older version: rebuilding" in proc.stderr
    assert current_version(index) != old_version and not old_version.exists()
    after = docs_by_path(index)
    assert set(after) == set(before) | {"extra.txt"}
    assert {p: d["id"] for p, d in after.items() if p in before} == {p: d["id"] for p, d in before.items()}
    # and the rebuilt index is current: the next run changes nothing
    again = json.loads(run_indexer(corpus, index, "--json").stdout.strip().splitlines()[-1])
    assert (again["rebuild"], again["added"], again["updated"]) == (False, 0, 0)


def test_index_in_the_old_postings_format_is_rebuilt(corpus, tmp_path):
    """Segments written by Whoosh's own codec (the format before common/codec.py): rebuilt."""
    index = tmp_path / "index"
    run_indexer(corpus, index)
    before = docs_by_path(index)
    old_version = current_version(index)
    ix = whoosh_index.open_dir(str(old_version))
    ix.optimize()  # Whoosh's default writer rewrites every segment in its own format
    ix.close()
    ix = whoosh_index.open_dir(str(old_version))
    assert not any(is_array_segment(s) for s in ix._segments())
    ix.close()

    proc = run_indexer(corpus, index, "--json")
    assert json.loads(proc.stdout.strip().splitlines()[-1])["rebuild"] is True
    ix = whoosh_index.open_dir(str(current_version(index)))
    assert ix._segments() and all(is_array_segment(s) for s in ix._segments())
    ix.close()
    assert docs_by_path(index) == before


@pytest.mark.slow
@pytest.mark.parametrize("version", [1, 3])
def test_index_in_an_older_array_format_is_rebuilt(corpus, tmp_path, version):
    """Segments whose ArrayCodec names another layout version (version 1 pickled none;
    version 3 kept stored fields in Whoosh's column): still read until the next run,
    which rebuilds them, as after a schema change."""
    index = tmp_path / "index"
    run_indexer(corpus, index)
    before = docs_by_path(index)
    ix = whoosh_index.open_dir(str(current_version(index)))
    older = ArrayCodec()
    if version == 1:
        del older.format_version  # what a version 1 codec pickled: no version of its own
    else:
        older.format_version = version
    ix.writer(codec=older).commit(optimize=True)  # every segment rewritten under the older codec
    ix.close()
    ix = whoosh_index.open_dir(str(current_version(index)))
    assert ix._segments() and not any(is_array_segment(s) for s in ix._segments())
    ix.close()
    assert docs_by_path(index) == before  # the older segments' stored fields still read

    proc = run_indexer(corpus, index, "--json")
    assert json.loads(proc.stdout.strip().splitlines()[-1])["rebuild"] is True
    ix = whoosh_index.open_dir(str(current_version(index)))
    assert ix._segments() and all(is_array_segment(s) for s in ix._segments())
    ix.close()
    assert docs_by_path(index) == before
