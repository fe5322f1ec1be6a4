"""Where things live inside INDEX_DIR, and how readers open the live index.

    INDEX_DIR/
      current -> versions/<name>     symlink, swapped atomically by --rebuild
      versions/<name>/               a Whoosh index (plus furniture.json for the cleaner)
      indexer.lock                   record lock (lockf) held by the one running indexer
      last_run.json                  summary of the last completed run (atomic write)
      state.sqlite3                  state that is not the index: the indexer's journal of
                                     written articles (indexer/journal.py), article versions
                                     and story clusters (indexer/versions.py, clusters.py),
                                     standing searches and watchlists (watch/store.py);
                                     survives --rebuild

Readers resolve ``current`` once per searcher, so a swap never shows them a half-built
index: they keep the version they opened until they open a new searcher.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from whoosh import index
from whoosh.filedb.structfile import StructFile
from whoosh.index import TOC, EmptyIndexError, Index

CURRENT = "current"
VERSIONS = "versions"
LOCK = "indexer.lock"
LAST_RUN = "last_run.json"
STATE_DB = "state.sqlite3"

# A Whoosh compound segment file (.seg) starts with the offset and length of its
# directory, which is the last thing in the file: so offset + length is the file's size.
_SEG_HEADER = struct.Struct("!qi")


class IndexUnavailable(RuntimeError):
    """The index is missing or cannot be read; the message says what to do."""


def current_version(index_dir: Path) -> Path | None:
    """The live version's folder, or None when nothing has been indexed yet."""
    link = Path(index_dir) / CURRENT
    if not link.is_symlink() and not link.is_dir():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def open_live_index(index_dir: Path, check: bool = True) -> Index:
    """Open the live version for reading; raise IndexUnavailable with a hint otherwise.

    With check (the default) every segment file the index lists is verified to exist with
    its full length (a stat and a 12-byte read each), because Whoosh opens segments lazily
    and a damaged one would otherwise only fail in the middle of a search.
    """
    version = current_version(Path(index_dir))
    if version is None:
        raise IndexUnavailable(
            f"no index in {index_dir}: run `python -m indexer --corpus DIR --index {index_dir}`"
        )
    try:
        ix = index.open_dir(str(version))
    except EmptyIndexError as exc:
        raise _damaged(index_dir, version, "no table of contents") from exc
    # Damaged bytes can fail anywhere in Whoosh's TOC reader (struct, pickle, asserts);
    # every such failure means the same thing here: this version cannot be read.
    except Exception as exc:  # noqa: BLE001
        _drop_leaked_files(exc)
        raise _damaged(index_dir, version, f"{exc.__class__.__name__}: {exc}") from None
    if check:
        try:
            problem = segment_problem(ix)
        except Exception as exc:  # noqa: BLE001 (same reason as above)
            _drop_leaked_files(exc)
            problem = f"{exc.__class__.__name__}: {exc}"
        if problem:
            ix.close()
            raise _damaged(index_dir, version, problem)
    return ix


def check_index(index_dir: Path) -> None:
    """Raise IndexUnavailable unless the live index opens and all its segment files are whole."""
    open_live_index(index_dir, check=True).close()


def segment_problem(ix: Index) -> str | None:
    """What is wrong with the segment files an index's TOC lists, or None when all are whole."""
    storage = ix.storage
    for segment in TOC.read(storage, ix.indexname).segments:
        if not segment.is_compound():
            if not segment.list_files(storage):
                return f"segment {segment.segment_id()} has no files"
            continue
        name = segment.make_filename(segment.COMPOUND_EXT)
        path = os.path.join(storage.folder, name)
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                header = fh.read(_SEG_HEADER.size)
        except FileNotFoundError:
            return f"segment file {name} is missing"
        if len(header) < _SEG_HEADER.size:
            return f"segment file {name} is truncated ({size} bytes)"
        dir_offset, dir_length = _SEG_HEADER.unpack(header)
        if size != dir_offset + dir_length:
            return f"segment file {name} is damaged ({size} bytes, expected {dir_offset + dir_length})"
    return None


def segment_sizes(ix: Index, reader) -> dict[str, int]:
    """Path -> size of the files holding a reader's segments, as they are when it opens.

    A server compares them before reusing a searcher (a stat per file): a segment file
    truncated or replaced under it is then a 503 at once, whatever part of the file the
    next search would read. Segment files never change while their segment is live."""
    folder = ix.storage.folder
    out: dict[str, int] = {}
    for r, _ in reader.leaf_readers():
        seg = r.segment()
        if seg is None:
            continue
        names = [seg.make_filename(seg.COMPOUND_EXT)] if seg.is_compound() else seg.list_files(ix.storage)
        for name in names:
            path = os.path.join(folder, name)
            try:
                out[path] = os.stat(path).st_size
            except FileNotFoundError:
                out[path] = -1
    return out


def sizes_changed(sizes: dict[str, int]) -> bool:
    """Whether any of those files is gone or has another size now."""
    for path, size in sizes.items():
        try:
            if os.stat(path).st_size != size:
                return True
        except OSError:
            return True
    return False


def _drop_leaked_files(exc: BaseException) -> None:
    """Close the files Whoosh was reading when it failed: it leaves them open."""
    tb = exc.__traceback__
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if isinstance(value, StructFile) and not value.is_closed:
                value.close()
        tb = tb.tb_next


def _damaged(index_dir: Path, version: Path, detail: str) -> IndexUnavailable:
    return IndexUnavailable(
        f"index in {version} is damaged ({detail}): rebuild it with "
        f"`python -m indexer --rebuild --corpus DIR --index {index_dir}`"
    )


def write_json_atomic(path: Path, data: dict, compact: bool = False) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one."""
    # dumps, not dump: one C-encoded string instead of thousands of small writes
    if compact:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(data, ensure_ascii=False, indent=1)
    write_bytes_atomic(path, [text.encode("utf-8")])


def write_bytes_atomic(path: Path, parts: list[bytes]) -> None:
    """Write bytes so a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.writelines(parts)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # on a full disk, leave no half-written file behind
        raise


def read_last_run(index_dir: Path) -> dict | None:
    """The last completed run's summary, or None."""
    try:
        return json.loads((Path(index_dir) / LAST_RUN).read_text("utf-8"))
    except (OSError, ValueError):
        return None
