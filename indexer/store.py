"""The on-disk index: versions, the run lock, file states and atomic swaps.

Crash safety rests on three facts: Whoosh writes a commit's table of contents to a
temporary file and renames it, so a killed writer leaves the last commit intact; the
run lock is a POSIX record lock, which the kernel releases when the process that took
it dies (its workers do not inherit it); and a rebuild writes a new version folder and
swaps the ``current`` symlink with one rename.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sys
import time
import struct
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, MutableMapping
from operator import attrgetter
from dataclasses import dataclass
from pathlib import Path

from whoosh import index
from whoosh.index import TOC, Index, clean_files

from common.layout import CURRENT, LOCK, VERSIONS, current_version, open_live_index, write_bytes_atomic
from common.schema import KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED, build_schema
from indexer.corpus import Manifest, path_order

class IndexLocked(RuntimeError):
    """Another indexer run holds the index."""


class RunLock:
    """An exclusive, non-blocking lock on INDEX_DIR/indexer.lock that dies with this process.

    A POSIX record lock (``lockf``), not ``flock``: an flock belongs to the open file, so
    the forked cleaning workers shared it, and after a SIGKILL of the main process an
    orphaned worker kept the index locked (every later run exited 75 naming a dead pid).
    A record lock belongs to the process that took it and is not inherited by fork, so
    the kernel frees it the moment this process dies, whatever its workers do. Record
    locks do not exclude a second lock in the same process, so that is checked here.
    """

    _held: set[str] = set()  # lock paths this process holds

    def __init__(self, index_dir: Path):
        self.path = Path(index_dir) / LOCK
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = str(self.path.resolve())
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if key in RunLock._held:
                raise BlockingIOError(errno.EAGAIN, "held by this process")
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise IndexLocked(
                    f"another indexer run (pid {holder or '?'}) holds {self.path.parent}; nothing changed"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd, self.key = fd, key
        RunLock._held.add(key)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            RunLock._held.discard(self.key)
            os.close(self.fd)  # releases the record lock
            self.fd = None


@dataclass
class DocState:
    """What the index holds about one corpus file."""

    id: str
    kind: str
    size: int
    mtime_ns: int
    file_hash: str
    meta_hash: str
    content_hash: str


# A state packed into one record of States: kind, which hashes are empty, size, mtime, and
# the id and the file, manifest-line and content hashes as raw digests (74 bytes).
_RECORD = struct.Struct("<BBqq8s20s8s20s")
_ID_AT = struct.calcsize("<BBqq")  # where a record's id starts
_KINDS = (KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED)
_KIND_CODE = {kind: code for code, kind in enumerate(_KINDS)}
_HEX_SIZES = (8, 20, 8, 20)  # id, file, meta and content hashes


def digest(text: str) -> bytes | str:
    """A lowercase hex string as its bytes (half the size and no str object), anything
    else as it is: the two never compare equal, so either may key the same dict."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return text
    return raw if raw.hex() == text else text


def hex_of(value: bytes | str) -> str:
    return value.hex() if type(value) is bytes else value


class States(MutableMapping):
    """Every file's DocState keyed by corpus path, packed: a path -> record number dict and
    74 bytes a record (the path string is the scan's own). A dict of DocState objects with
    four hex strings each held ~650 B per file for the whole run (~130 MB at 200k).
    DocStates are made when read; a state whose strings do not pack is kept as it is."""

    def __init__(self, items=()):
        self._rows: dict[str, int] = {}
        self._data = bytearray()
        self._free: list[int] = []  # records of removed paths, reused
        self._odd: dict[str, DocState] = {}
        self.update(items)

    def __len__(self) -> int:
        return len(self._rows) + len(self._odd)

    def __iter__(self):
        yield from self._rows
        yield from self._odd

    def __contains__(self, path) -> bool:
        return path in self._rows or path in self._odd

    def __getitem__(self, path: str) -> DocState:
        row = self._rows.get(path)
        if row is None:
            return self._odd[path]
        kind, empty, size, mtime, *raw = _RECORD.unpack_from(self._data, row * _RECORD.size)
        hexes = ["" if empty >> i & 1 else value.hex() for i, value in enumerate(raw)]
        return DocState(hexes[0], _KINDS[kind], size, mtime, *hexes[1:])

    def __setitem__(self, path: str, state: DocState) -> None:
        record = _pack(state)
        if record is None:
            self._drop_row(path)
            self._odd[path] = state
            return
        self._odd.pop(path, None)
        row = self._rows.get(path)
        if row is None:
            row = self._free.pop() if self._free else len(self._data) // _RECORD.size
            if row * _RECORD.size == len(self._data):
                self._data.extend(bytes(_RECORD.size))
            self._rows[path] = row
        _RECORD.pack_into(self._data, row * _RECORD.size, *record)

    def __delitem__(self, path: str) -> None:
        if path in self._odd:
            del self._odd[path]
        elif not self._drop_row(path):
            raise KeyError(path)

    def _drop_row(self, path: str) -> bool:
        row = self._rows.pop(path, None)
        if row is not None:
            self._free.append(row)
        return row is not None

    def copies_of(self, content_hashes: set) -> list[tuple[str, str]]:
        """(path, id) of the duplicates whose content hash (a digest()) is in the set."""
        found = []
        for path in self:
            st = self[path]
            if st.kind == KIND_DUPLICATE and digest(st.content_hash) in content_hashes:
                found.append((path, st.id))
        return found

    def ids(self) -> "IdSet":
        """Every state's id, for membership tests."""
        data, size = self._data, _RECORD.size
        nums = sorted(int.from_bytes(data[row * size + _ID_AT : row * size + _ID_AT + 8], "big")
                      for row in self._rows.values())
        return IdSet(array("Q", nums), {st.id for st in self._odd.values()})

    def articles(self) -> dict:
        """content hash -> article id, both as digest() values (see run.Canonical)."""
        return {digest(st.content_hash): digest(st.id) for st in self.values() if st.kind == KIND_ARTICLE}


class IdSet:
    """Document ids as a sorted array of their 64-bit values (a set of 200k id strings
    was ~27 MB at the end of an incremental run), and the few that are not 16 hex digits."""

    def __init__(self, nums: array, others: set[str]):
        self.nums, self.others = nums, others

    def __contains__(self, doc_id) -> bool:
        raw = digest(doc_id) if isinstance(doc_id, str) else None
        if type(raw) is bytes and len(raw) == 8:
            num = int.from_bytes(raw, "big")
            at = bisect_left(self.nums, num)
            if at < len(self.nums) and self.nums[at] == num:
                return True
        return doc_id in self.others


def _pack(state: DocState) -> tuple | None:
    """The record of a state, or None when a value does not fit one."""
    kind = _KIND_CODE.get(state.kind)
    if kind is None or not (-(2**63) <= state.size < 2**63 and -(2**63) <= state.mtime_ns < 2**63):
        return None
    empty, raws = 0, []
    for i, (text, size) in enumerate(zip((state.id, state.file_hash, state.meta_hash, state.content_hash), _HEX_SIZES)):
        if text == "" and i:
            empty |= 1 << i
            raws.append(b"")
            continue
        raw = digest(text)
        if type(raw) is not bytes or len(raw) != size:
            return None
        raws.append(raw)
    return (kind, empty, state.size, state.mtime_ns, *raws)


def new_version(index_dir: Path) -> tuple[Path, Index]:
    """Create an empty index in a fresh version folder (not yet live)."""
    versions = Path(index_dir) / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    name = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    path, n = versions / name, 1
    while True:  # two rebuilds by one process within a second (a library caller) need two names
        try:
            path.mkdir()
            break
        except FileExistsError:
            n += 1
            path = versions / f"{name}-{n}"
    return path, index.create_in(str(path), build_schema())


def make_live(index_dir: Path, version: Path) -> None:
    """Point ``current`` at version with one atomic rename."""
    link = Path(index_dir) / CURRENT
    tmp = Path(index_dir) / f".{CURRENT}.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(Path(VERSIONS) / version.name)
    os.replace(tmp, link)
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_stale_versions(index_dir: Path) -> list[str]:
    """Delete version folders that are not live (left by a killed rebuild or an old swap).

    Only called while holding the run lock, so no writer is using them; a reader that
    still has an old version open keeps its open files (POSIX unlink semantics).
    """
    live = current_version(Path(index_dir))
    removed = []
    versions = Path(index_dir) / VERSIONS
    if not versions.is_dir():
        return removed
    for child in versions.iterdir():
        if live is not None and child.resolve() == live:
            continue
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child.name)
    return removed


def open_or_create_live(index_dir: Path) -> tuple[Path, Index, bool]:
    """(version, index, created) for an incremental run; a new version when none is live.

    A new version is not published here: the caller publishes it after its first commit
    (so a run killed during the first build leaves an index that holds what was
    committed), or at the end of a run that had nothing to commit. A run that fails
    before then leaves nothing published, never an empty index that looks healthy.
    A live index that is damaged raises IndexUnavailable (its message says to --rebuild):
    an incremental run must not add to, or silently replace, an index it cannot read.
    """
    live = current_version(Path(index_dir))
    if live is not None:
        ix = open_live_index(index_dir)
        discard_uncommitted(ix)
        return live, ix, False
    path, ix = new_version(index_dir)
    return path, ix, True


def discard_uncommitted(ix: Index) -> None:
    """Delete segment files no commit refers to: what a killed or failed writer left.

    Whoosh does the same after every commit; doing it first (under the run lock) also
    frees the space on a disk that filled up, so the next commit has room.
    """
    toc = TOC.read(ix.storage, ix.indexname)
    clean_files(ix.storage, ix.indexname, toc.generation, toc.segments)
    # A writer's scratch folder (Whoosh names it after the index); no writer runs now.
    shutil.rmtree(Path(ix.storage.folder) / f"{ix.indexname}.tmp", ignore_errors=True)


def discard_failed_run(index_dir: Path, version: Path, ix: Index, rebuild: bool) -> None:
    """Give back the space a failed run used; best effort, the next run cleans up too."""
    try:
        if rebuild:
            ix.close()
            if current_version(Path(index_dir)) != version.resolve():
                shutil.rmtree(version, ignore_errors=True)
        else:
            discard_uncommitted(ix)
    except OSError:
        pass  # the next run, under the lock, removes stale versions and uncommitted files


def read_states(ix: Index) -> States:
    """File states of every document, keyed by corpus path, read from columns (fast)."""
    states = States()
    if ix.doc_count() == 0:
        return states  # an empty index has no columns yet
    with ix.searcher() as searcher:
        reader = searcher.reader()
        # Whole columns as lists: one pass each, far cheaper than per-document lookups.
        cols = {
            name: list(reader.column_reader(name))
            for name in ("id", "path", "size", "mtime_ns", "file_hash", "meta_hash", "content_hash")
        }
        kinds = _kinds_by_docnum(reader)
        for docnum in reader.all_doc_ids():
            path = cols["path"][docnum]
            states[path] = DocState(
                id=cols["id"][docnum],
                kind=kinds.get(docnum, KIND_ARTICLE),
                size=int(cols["size"][docnum]),
                mtime_ns=int(cols["mtime_ns"][docnum]),
                file_hash=cols["file_hash"][docnum],
                meta_hash=cols["meta_hash"][docnum],
                content_hash=cols["content_hash"][docnum],
            )
    return states


class StateTable:
    """Every indexed file's state as columns in the scan's order (path_order), as the last
    completed run left them: a run with nothing changed compares paths, sizes and mtimes
    with the scan's as whole lists and builds no DocState at all.

    ``manifest`` is that run's ``Manifest.record()`` when every state's meta hash was its
    manifest's entry hash (else None): the same manifest bytes then need no parsing."""

    def __init__(self, paths: list[str], sizes: array, mtimes: array, rest: list[tuple[bytes, int, int]],
                 manifest: dict | None):
        self.paths, self.sizes, self.mtimes, self.manifest = paths, sizes, mtimes, manifest
        self._rest = rest  # (file bytes, start, end) of the ids, kinds, file, meta and content hashes

    def states(self) -> States:
        """The states keyed by corpus path (for a run with work to do)."""
        ids, kinds, *hashes = [_iter_strings(*part, len(self.paths)) for part in self._rest]
        return States(zip(self.paths, map(DocState, ids, kinds, self.sizes, self.mtimes, *hashes)))


def load_state_table(ix: Index, version_dir: Path) -> StateTable | None:
    """The state cache if it describes the index's current generation, else None.

    None means the last run did not complete (it was killed after a commit), or the cache
    is missing or damaged: the caller then reads the states from the index itself and
    finishes that run's follow-up work (promoting orphaned copies)."""
    try:
        data = (Path(version_dir) / STATE_CACHE).read_bytes()
    except OSError:
        return None
    try:
        return _decode_table(data, ix.latest_generation())
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError):
        return None


def save_states(ix: Index, version_dir: Path, states: Mapping[str, DocState], manifest: Manifest) -> None:
    """Write the state cache for the index's current generation (atomic).

    The manifest is recorded only when every state agrees with it, so that the next run
    may skip parsing the same bytes; a state left as it was (a file in a folder this run
    could not list) makes it None. The columns are encoded SAVE_CHUNK states at a time,
    so no list of every state's strings exists at once."""
    paths = sorted(states, key=path_order)
    parts: list[list[bytes]] = [[] for _ in range(8)]  # paths, ids, kinds, sizes, mtimes, hashes
    agrees = True
    for start in range(0, len(paths), SAVE_CHUNK):
        chunk = paths[start : start + SAVE_CHUNK]
        ids, kinds, sizes, mtimes, *hashes = zip(*map(_COLUMNS, map(states.__getitem__, chunk)))
        agrees = agrees and list(hashes[1]) == list(map(manifest.entry_hash, chunk))  # meta hashes
        for i, col in enumerate((chunk, ids, kinds, None, None, *hashes)):
            if col is not None:
                parts[i] += [b"\0"] * bool(start) + [_STRINGS_SEP.join(col).encode("utf-8")]
        parts[3].append(array("q", sizes).tobytes())
        parts[4].append(array("q", mtimes).tobytes())
    record = manifest.record() if agrees else None
    if any(sum(p.count(b"\0") for p in col) != max(len(paths) - 1, 0) for i, col in enumerate(parts) if i not in (3, 4)):
        # a string holding a NUL could not be read back: no cache, the next run reads the index
        (Path(version_dir) / STATE_CACHE).unlink(missing_ok=True)
        return
    header = {
        "generation": ix.latest_generation(), "count": len(paths), "manifest": record,
        "byteorder": sys.byteorder, "lengths": [sum(map(len, col)) for col in parts],
        "crc32": _crc([p for col in parts for p in col]),
    }
    head = json.dumps(header).encode("ascii")  # escaped: a manifest problem may quote a lone surrogate
    prefix = len(head).to_bytes(4, "little") + zlib.crc32(head).to_bytes(4, "little")
    write_bytes_atomic(Path(version_dir) / STATE_CACHE, [_MAGIC, prefix, head, *(p for col in parts for p in col)])
    (Path(version_dir) / _OLD_STATE_CACHE).unlink(missing_ok=True)


SAVE_CHUNK = 10_000


# The cache file: magic; the header's length and CRC-32 (4 bytes each, little-endian); a
# JSON header (generation, count, manifest record, part lengths, CRC-32 of the parts);
# the parts: paths, ids, kinds, sizes and mtimes (int64), file, meta and content hashes.
# Strings are NUL-separated UTF-8 (no path or hash holds a NUL). Loading 200k states
# takes a split and an array copy per column, where JSON and DocState objects took ~1 s.
STATE_CACHE = "states.bin"
_OLD_STATE_CACHE = "states.json"  # the JSON cache of earlier versions, removed when replaced
_MAGIC = b"news-index states 1\n"
_STRINGS_SEP = "\0"
_COLUMNS = attrgetter("id", "kind", "size", "mtime_ns", "file_hash", "meta_hash", "content_hash")


def _decode_table(data: bytes, generation: int) -> StateTable | None:
    """The table in a cache file's bytes, None for another generation; raises ValueError
    (or the like) for bytes that are not a whole, undamaged cache."""
    if not data.startswith(_MAGIC):
        raise ValueError("not a state cache")
    at = len(_MAGIC)
    size, crc = int.from_bytes(data[at : at + 4], "little"), int.from_bytes(data[at + 4 : at + 8], "little")
    head, at = data[at + 8 : at + 8 + size], at + 8 + size
    if zlib.crc32(head) != crc:
        raise ValueError("damaged state cache")
    header = json.loads(head)
    if header["generation"] != generation:
        return None
    if header["byteorder"] != sys.byteorder:
        raise ValueError("written on another machine")
    spans, view = [], memoryview(data)  # the parts are read in place: the file is ~31 MB at 200k
    for length in header["lengths"]:
        spans.append((at, at + length))
        at += length
    if at != len(data) or len(spans) != 8 or _crc([view[a:b] for a, b in spans]) != header["crc32"]:
        raise ValueError("damaged state cache")
    count = header["count"]
    if not isinstance(header["manifest"], (dict, type(None))) or not isinstance(count, int):
        raise ValueError("damaged state cache")
    paths = _strings(str(view[slice(*spans[0])], "utf-8"), count)
    sizes, mtimes = array("q"), array("q")
    sizes.frombytes(view[slice(*spans[3])])
    mtimes.frombytes(view[slice(*spans[4])])
    if len(sizes) != count or len(mtimes) != count:
        raise ValueError("damaged state cache")
    return StateTable(paths, sizes, mtimes, [(data, *span) for span in spans[1:3] + spans[5:]], header["manifest"])


def _strings(text: str, count: int) -> list[str]:
    """A column of NUL-separated strings (checked by the CRC before), ``count`` long."""
    strings = text.split(_STRINGS_SEP) if count else []
    if len(strings) != count:
        raise ValueError("damaged state cache")
    return strings


def _iter_strings(data: bytes, start: int, end: int, count: int) -> Iterator[str]:
    """The column of NUL-separated strings in data[start:end], one at a time: a list of
    each of the five string columns at 200k states was ~80 MB more at the moment the
    packed states were built."""
    at, n = start, 0
    while count and at <= end:
        stop = data.find(b"\0", at, end)
        stop = end if stop < 0 else stop
        yield data[at:stop].decode("utf-8")
        at, n = stop + 1, n + 1
    if n != count:
        raise ValueError("damaged state cache")


def _crc(blobs: list[bytes]) -> int:
    crc = 0
    for blob in blobs:
        crc = zlib.crc32(blob, crc)
    return crc


def _kinds_by_docnum(reader) -> dict[int, str]:
    kinds: dict[int, str] = {}
    for kind in reader.lexicon("kind"):
        name = kind.decode("utf-8") if isinstance(kind, bytes) else kind
        for docnum in reader.postings("kind", kind).all_ids():
            kinds[docnum] = name
    return kinds
