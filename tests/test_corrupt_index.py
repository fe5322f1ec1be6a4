"""A damaged index is detected before a search trips on it, and `--rebuild` recovers it."""

from __future__ import annotations

import gc
import shutil
import warnings
from pathlib import Path

import pytest
from whoosh.query import Every

from common.layout import IndexUnavailable, check_index, current_version, open_live_index
from conftest import run_indexer


def snapshot(index_dir: Path) -> dict[str, tuple[str, str, str]]:
    ix = open_live_index(index_dir)
    with ix.searcher() as s:
        return {d["path"]: (d["id"], d["kind"], d["content_hash"]) for d in s.all_stored_fields()}


@pytest.fixture
def index(seed_index, tmp_path) -> Path:
    """A private copy of the seed index (symlinks kept, so `current` stays a symlink)."""
    dest = tmp_path / "index"
    shutil.copytree(seed_index, dest, symlinks=True)
    return dest


def segment_files(index_dir: Path) -> list[Path]:
    files = sorted(current_version(index_dir).glob("*.seg"))
    assert files, "the seed index has at least one compound segment"
    return files


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_whole_index_passes_the_check(index):
    check_index(index)
    ix = open_live_index(index)
    with ix.searcher() as s:
        assert s.search(Every()).estimated_length() > 0


def test_truncated_segment_would_break_search_without_the_check(index):
    """Why the check exists: Whoosh opens segments lazily, so opening alone succeeds."""
    truncate(segment_files(index)[0])
    ix = open_live_index(index, check=False)  # opens fine
    # Whoosh leaves the damaged file open when it fails: not what this test is about.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(Exception):  # noqa: B017 (whatever Whoosh raises on damaged bytes)
            with ix.searcher() as s:
                [hit.fields() for hit in s.search(Every(), limit=None)]
        gc.collect()


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda seg: truncate(seg, 0.5), "damaged"),
        (lambda seg: truncate(seg, 0.0), "truncated"),
        (lambda seg: truncate(seg, 0.999), "damaged"),
        (lambda seg: seg.unlink(), "missing"),
    ],
    ids=["truncated-half", "emptied", "last-bytes-cut", "deleted"],
)
def test_damaged_segment_is_detected(index, damage, expected):
    seg = segment_files(index)[0]
    damage(seg)
    for check in (lambda: check_index(index), lambda: open_live_index(index)):
        with pytest.raises(IndexUnavailable) as err:
            check()
        message = str(err.value)
        assert expected in message and seg.name in message
        assert "--rebuild" in message


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_damaged_table_of_contents_is_detected(index, damage):
    (toc,) = current_version(index).glob("_MAIN_*.toc")
    if damage == "delete":
        toc.unlink()
    elif damage == "truncate":
        truncate(toc, 0.5)
    else:
        toc.write_bytes(b"\x00garbage" * 64)
    with pytest.raises(IndexUnavailable, match="--rebuild"):
        check_index(index)


def test_incremental_run_refuses_a_damaged_index_and_rebuild_recovers(index, seed_corpus):
    before = snapshot(index)
    version = current_version(index)
    seg = segment_files(index)[0]
    truncate(seg)
    damaged_bytes = seg.read_bytes()

    proc = run_indexer(seed_corpus, index, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "damaged" in lines[0] and "--rebuild" in lines[0]
    # Refused, not papered over: the same version is live and untouched.
    assert current_version(index) == version and seg.read_bytes() == damaged_bytes

    run_indexer(seed_corpus, index, "--rebuild")
    check_index(index)
    assert current_version(index) != version and not version.exists()
    assert snapshot(index) == before
    # and the next plain run is a no-op again
    again = run_indexer(seed_corpus, index, "--json")
    assert '"unchanged": 5' in again.stdout


def test_rebuild_recovers_when_the_table_of_contents_is_gone(index, seed_corpus):
    before = snapshot(index)
    for toc in current_version(index).glob("_MAIN_*.toc"):
        toc.unlink()
    proc = run_indexer(seed_corpus, index, check=False)
    assert proc.returncode == 1 and "--rebuild" in proc.stderr and "Traceback" not in proc.stderr
    run_indexer(seed_corpus, index, "--rebuild")
    assert snapshot(index) == before


def test_app_answers_503_on_a_damaged_index(index):
    from app import create_app

    truncate(segment_files(index)[0], 0.5)
    client = create_app({"INDEX_DIR": str(index)}).test_client()
    for path in ("/api/search?q=megvii", "/healthz", "/api/stats"):
        r = client.get(path)
        assert r.status_code == 503, path
        assert r.get_json()["error"]["code"] == "index_unavailable"
    page = client.get("/search?q=megvii")
    assert page.status_code == 503
    assert b"Traceback" not in page.data and b"<form" in page.data
