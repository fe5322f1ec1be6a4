"""Finding the corpus files and their manifest entries, without reading file contents.

The scan only stats files, so an incremental run over an unchanged corpus costs one
``stat`` per file. Anything that is not an indexable file is reported as a Skip with a
reason instead of raising, so one odd entry never stops a run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html"}
MANIFEST = "manifest.jsonl"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class CorpusFile:
    """A candidate file: its path relative to the corpus (posix) and its stat."""

    rel: str
    abs: Path
    size: int
    mtime_ns: int

    @property
    def kind(self) -> str:
        return SUPPORTED_SUFFIXES[Path(self.rel).suffix.lower()]


@dataclass(frozen=True)
class Skip:
    """A file left out of the index, and why."""

    path: str
    reason: str


@dataclass
class Scan:
    files: list[CorpusFile] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def _inside(root: Path, target: Path) -> bool:
    return target == root or root in target.parents


def scan_corpus(root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Scan:
    """Every supported file under root, at any depth, sorted by path; the rest as Skips."""
    root = Path(root).resolve()
    scan = Scan()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames.sort()
        for name in list(dirnames):
            if name.startswith("."):
                dirnames.remove(name)
            elif (here / name).is_symlink():
                # Followed folders could loop or leave the corpus; report, don't follow.
                dirnames.remove(name)
                rel = (here / name).relative_to(root).as_posix()
                scan.skipped.append(Skip(rel, _symlink_reason(root, here / name, folder=True)))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            suffix = path.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                continue
            rel = path.relative_to(root).as_posix()
            skip = _check_file(root, path, rel, max_bytes, scan)
            if skip is not None:
                scan.skipped.append(skip)
    scan.files.sort(key=lambda f: f.rel)
    return scan


def _symlink_reason(root: Path, path: Path, folder: bool) -> str:
    try:
        target = path.resolve(strict=True)
    except (RuntimeError, OSError):
        return "symlink loop or broken symlink"
    if not _inside(root, target):
        return "symlink leaves the corpus folder"
    return "symlinked folder inside the corpus (not followed; index the real folder)" if folder else ""


def _check_file(root: Path, path: Path, rel: str, max_bytes: int, scan: Scan) -> Skip | None:
    """Stat one file and append it to the scan, or return why it is skipped."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 in a name (surrogate-escaped by os) cannot be an id,
        # a stored path or JSON; report the name with the odd bytes escaped.
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return Skip(shown, "file name is not valid UTF-8 (rename the file)")
    if path.is_symlink():
        reason = _symlink_reason(root, path, folder=False)
        if reason:
            return Skip(rel, reason)
    try:
        st = path.stat()
    except OSError as exc:
        return Skip(rel, f"cannot stat file: {exc.strerror or exc}")
    if not path.is_file():
        return Skip(rel, "not a regular file")
    if st.st_size == 0:
        return Skip(rel, "empty file")
    if st.st_size > max_bytes:
        return Skip(rel, f"file too large ({st.st_size} bytes > limit of {max_bytes})")
    if not os.access(path, os.R_OK):
        return Skip(rel, "file not readable (permission denied)")
    scan.files.append(CorpusFile(rel, path, st.st_size, st.st_mtime_ns))
    return None


@dataclass
class Manifest:
    """Per-file metadata from manifest.jsonl; values here win over extracted ones."""

    entries: dict[str, dict] = field(default_factory=dict)
    problems: list[Skip] = field(default_factory=list)

    def entry(self, rel: str) -> dict:
        return self.entries.get(rel, {})

    def entry_hash(self, rel: str) -> str:
        """Hash of a file's entry, so editing the manifest re-indexes that file."""
        entry = self.entries.get(rel)
        if not entry:
            return ""
        blob = json.dumps(entry, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha1(blob).hexdigest()[:16]


MANIFEST_FIELDS = ("url", "date", "source", "title")


def load_manifest(root: Path) -> Manifest:
    """Read manifest.jsonl if present; bad lines are reported, not fatal."""
    manifest = Manifest()
    path = Path(root) / MANIFEST
    if not path.is_file():
        return manifest
    try:
        lines = path.read_text("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        manifest.problems.append(Skip(MANIFEST, f"manifest unreadable: {exc}"))
        return manifest
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{MANIFEST}:{number}"
        try:
            obj = json.loads(line)
        except ValueError as exc:
            manifest.problems.append(Skip(where, f"manifest line is not JSON: {exc}"))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("file"), str):
            manifest.problems.append(Skip(where, 'manifest line needs a "file" string'))
            continue
        rel = Path(obj["file"]).as_posix()
        entry = {k: obj[k] for k in MANIFEST_FIELDS if isinstance(obj.get(k), str) and obj[k].strip()}
        manifest.entries[rel] = entry
    return manifest
