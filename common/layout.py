"""Where things live inside INDEX_DIR, and how readers open the live index.

    INDEX_DIR/
      current -> versions/<name>     symlink, swapped atomically by --rebuild
      versions/<name>/               a Whoosh index (plus furniture.json for the cleaner)
      indexer.lock                   flock held by the one running indexer
      last_run.json                  summary of the last completed run (atomic write)

Readers resolve ``current`` once per searcher, so a swap never shows them a half-built
index: they keep the version they opened until they open a new searcher.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from whoosh import index
from whoosh.index import EmptyIndexError, Index

CURRENT = "current"
VERSIONS = "versions"
LOCK = "indexer.lock"
LAST_RUN = "last_run.json"


class IndexUnavailable(RuntimeError):
    """The index is missing or cannot be read; the message says what to do."""


def current_version(index_dir: Path) -> Path | None:
    """The live version's folder, or None when nothing has been indexed yet."""
    link = Path(index_dir) / CURRENT
    if not link.is_symlink() and not link.is_dir():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def open_live_index(index_dir: Path) -> Index:
    """Open the live version for reading; raise IndexUnavailable with a hint otherwise."""
    version = current_version(Path(index_dir))
    if version is None:
        raise IndexUnavailable(
            f"no index in {index_dir}: run `python -m indexer --corpus DIR --index {index_dir}`"
        )
    try:
        return index.open_dir(str(version))
    except (EmptyIndexError, OSError, EOFError, ValueError) as exc:
        raise IndexUnavailable(
            f"index in {version} cannot be read ({exc.__class__.__name__}): "
            f"run `python -m indexer --rebuild --index {index_dir}`"
        ) from exc


def write_json_atomic(path: Path, data: dict, compact: bool = False) -> None:
    """Write JSON so a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        if compact:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_last_run(index_dir: Path) -> dict | None:
    """The last completed run's summary, or None."""
    try:
        return json.loads((Path(index_dir) / LAST_RUN).read_text("utf-8"))
    except (OSError, ValueError):
        return None
