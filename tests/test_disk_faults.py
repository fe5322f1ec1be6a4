"""A read-only index folder and a full disk: a clear error (exit 1, one line, no traceback),
and the live index keeps serving, unchanged.

Tests run as root, for whom chmod does not stop writes, so the faults are real mounts: a
read-only bind mount (`mount --bind` then `remount,bind,ro`, which binds root too) and a
small tmpfs filled up with a filler file. Both are unmounted in the fixtures' finalizers;
without the right to mount (not root, or a sandbox that forbids it) the tests skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kill_harness import probe, snapshot
from common.layout import LAST_RUN, check_index, current_version
from conftest import SHARED_DATA, run_indexer
from datasets import write_bbc_corpus


def _mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise OSError(proc.stderr.strip() or f"mount {' '.join(args)} failed")


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def mounts():
    """mount(*args, target): mount and remember target; every mount is undone at teardown."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done: list[Path] = []

    def mount(*args: str, target: Path) -> None:
        try:
            _mount(*args, str(target))
        except OSError as exc:
            pytest.skip(f"cannot mount here ({exc}); needs root with CAP_SYS_ADMIN")
        done.append(target)

    yield mount
    for target in reversed(done):
        _umount(target)


def read_only(mounts, path: Path) -> None:
    mounts("--bind", str(path), target=path)
    mounts("-o", "remount,bind,ro", target=path)
    try:
        (path / ".probe").write_text("x")
    except OSError:
        return
    pytest.skip("a read-only bind mount did not stop writes here")


@pytest.fixture
def index(seed_index, tmp_path) -> Path:
    dest = tmp_path / "index"
    shutil.copytree(seed_index, dest, symlinks=True)
    return dest


@pytest.fixture
def changed_corpus(seed_corpus, tmp_path) -> Path:
    """The seeds plus one new article, so a run has something to write."""
    dest = tmp_path / "corpus"
    shutil.copytree(seed_corpus, dest)
    (dest / "new.txt").write_text(
        "Regulators weigh new export rules\n\nA regulator said on Monday that new export rules "
        "for surveillance cameras would be published next month after a long consultation.\n", "utf-8")
    return dest


def assert_clear_failure(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def assert_serving(index: Path, before: dict) -> None:
    check_index(index)
    every, _term = probe(index)
    assert every > 0
    assert snapshot(index) == before


@pytest.mark.parametrize("what", ["index-folder", "versions-folder"])
@pytest.mark.parametrize("mode", [(), ("--rebuild",)], ids=["incremental", "rebuild"])
def test_read_only_index_folder(index, changed_corpus, mounts, what, mode):
    before = snapshot(index)
    read_only(mounts, index if what == "index-folder" else index / "versions")
    proc = run_indexer(changed_corpus, index, "--quiet", *mode, check=False)
    assert_clear_failure(proc, "Read-only file system", "fix permissions")
    assert_serving(index, before)


@pytest.fixture
def small_disk(mounts, tmp_path) -> Path:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounts("-t", "tmpfs", "-o", "size=16m", "tmpfs", target=disk)
    return disk


def fill(disk: Path, leave: int) -> Path:
    """Fill the disk with a filler file until about `leave` bytes are free."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


@pytest.mark.skipif(not (SHARED_DATA / "bbc").is_dir(), reason="needs ../shared/data/bbc")
@pytest.mark.parametrize("mode", [(), ("--rebuild",), ("--rebuild", "--batch-size", "5")],
                         ids=["incremental", "rebuild", "rebuild-workers-held-back"])
@pytest.mark.slow
def test_full_disk(seed_index, small_disk, tmp_path, mode):
    index = small_disk / "index"
    shutil.copytree(seed_index, index, symlinks=True)
    before = snapshot(index)
    corpus = tmp_path / "bbc"
    write_bbc_corpus(corpus, limit=150)
    version = current_version(index)
    files_before = {p.name for p in version.iterdir()}
    filler = fill(small_disk, leave=48 * 1024)

    # with small batches the workers wait for the writer: a failed commit must stop them,
    # not leave the run waiting for ever (timeout)
    # (the BBC corpus replaces the seeds: all 5 indexed files go, on purpose)
    proc = run_indexer(corpus, index, "--quiet", "--allow-mass-delete", *mode, check=False, timeout=120)
    assert_clear_failure(proc, "No space left on device", "free disk space")
    assert_serving(index, before)
    assert current_version(index) == version
    # What the failed run wrote is gone (its segment files, a half-built version, temp JSON),
    # so the disk is no fuller than before it.
    assert {p.name for p in version.iterdir()} <= files_before
    assert list((index / "versions").iterdir()) == [version]
    assert not list(index.glob(".*.tmp"))

    filler.unlink()  # space freed: the next run completes and clears what the failed run left
    proc = run_indexer(corpus, index, "--json", "--allow-mass-delete", check=False)
    assert proc.returncode == 0, proc.stderr
    assert len(snapshot(index)) == 150 and len(list((index / "versions").iterdir())) == 1


def test_unwritable_run_summary_is_a_clear_error(index, changed_corpus):
    """The index commits, but last_run.json cannot be written: say so, without a traceback."""
    (index / LAST_RUN).unlink()
    (index / LAST_RUN).mkdir()  # os.replace onto a directory fails
    proc = run_indexer(changed_corpus, index, "--quiet", check=False)
    assert_clear_failure(proc, LAST_RUN, "the index was updated")
    assert "new.txt" in snapshot(index)
