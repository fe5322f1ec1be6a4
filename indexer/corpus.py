"""Finding the corpus files and their manifest entries, without reading file contents.

The scan only stats files, so an incremental run over an unchanged corpus costs one
``stat`` per file. Anything that is not an indexable file is reported as a Skip with a
reason instead of raising, so one odd entry never stops a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

SUPPORTED_SUFFIXES = {".txt": "text", ".html": "html", ".htm": "html"}
MANIFEST = "manifest.jsonl"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class CorpusFile:
    """A candidate file: its path relative to the corpus (posix) and its stat."""

    rel: str
    location: str | os.PathLike  # the absolute path (a str from the scan: no Path per file)
    size: int
    mtime_ns: int
    max_bytes: int = DEFAULT_MAX_BYTES  # the size limit, checked again when reading

    @property
    def abs(self) -> Path:
        """The absolute path as a Path, made when asked (a scan of 200k files spent a
        quarter of a no-change run making one per file)."""
        return Path(self.location)

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
    # Folders that could not be listed ("sub/", or "" for the corpus root): what they held
    # is unknown this run, so their files count as unchanged, not as deleted.
    unlisted: list[str] = field(default_factory=list)

    def unknown(self, rel: str) -> bool:
        """True when rel lies in a folder this scan could not list."""
        return any(rel.startswith(prefix) for prefix in self.unlisted)


def _inside(root: Path, target: Path) -> bool:
    return target == root or root in target.parents


def scan_corpus(root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Scan:
    """Every supported file under root, at any depth, sorted by path; the rest as Skips."""
    root = Path(root).resolve()
    scan = Scan()
    _scan_dir(root, str(root), "", max_bytes, scan)
    scan.files.sort(key=lambda f: f.rel)
    return scan


def _scan_dir(root: Path, path: str, prefix: str, max_bytes: int, scan: Scan) -> None:
    """One folder: stat files with os.scandir (cheap), recurse into real subfolders."""
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        scan.skipped.append(Skip(prefix.rstrip("/") or ".", f"cannot list folder: {exc.strerror or exc} "
                                 "(its indexed files are kept)"))
        scan.unlisted.append(prefix)
        return
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        rel = prefix + name
        if entry.is_symlink():
            try:
                is_folder = entry.is_dir()
            except OSError:  # a loop: ELOOP
                is_folder = False
            if not is_folder and os.path.splitext(name)[1].lower() not in SUPPORTED_SUFFIXES:
                continue
            reason = _symlink_reason(root, Path(entry.path), folder=is_folder)
            if reason:
                scan.skipped.append(Skip(rel, reason))
                continue
        elif entry.is_dir(follow_symlinks=False):
            _scan_dir(root, entry.path, rel + "/", max_bytes, scan)
            continue
        if os.path.splitext(name)[1].lower() not in SUPPORTED_SUFFIXES:
            continue
        skip = _check_file(entry, rel, max_bytes, scan)
        if skip is not None:
            scan.skipped.append(skip)


def _symlink_reason(root: Path, path: Path, folder: bool) -> str:
    try:
        target = path.resolve(strict=True)
    except (RuntimeError, OSError):
        return "symlink loop or broken symlink"
    if not _inside(root, target):
        return "symlink leaves the corpus folder"
    return "symlinked folder inside the corpus (not followed; index the real folder)" if folder else ""


def _check_file(entry: os.DirEntry, rel: str, max_bytes: int, scan: Scan) -> Skip | None:
    """Stat one file and append it to the scan, or return why it is skipped."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 in a name (surrogate-escaped by os) cannot be an id,
        # a stored path or JSON; report the name with the odd bytes escaped.
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return Skip(shown, "file name is not valid UTF-8 (rename the file)")
    try:
        st = entry.stat()
    except OSError as exc:
        return Skip(rel, f"cannot stat file: {exc.strerror or exc}")
    if not stat.S_ISREG(st.st_mode):
        return Skip(rel, "not a regular file")
    if st.st_size == 0:
        return Skip(rel, "empty file")
    if st.st_size > max_bytes:
        return Skip(rel, f"file too large ({st.st_size} bytes > limit of {max_bytes})")
    if not os.access(entry.path, os.R_OK):
        return Skip(rel, "file not readable (permission denied)")
    scan.files.append(CorpusFile(rel, entry.path, st.st_size, st.st_mtime_ns, max_bytes))
    return None


class FileRefused(ValueError):
    """A file that is no longer what the scan saw (not regular, grown past the limit)."""


_READ_CHUNK = 1 << 20


def read_corpus_file(f: CorpusFile) -> bytes:
    """The file's bytes, never more than its limit, never blocking.

    The file may have changed since the scan: a FIFO swapped in would block ``open()``
    for ever (O_NONBLOCK returns at once, then fstat refuses it), and a file that grew
    to hundreds of megabytes is refused after reading limit + 1 bytes, not read whole.
    """
    fd = os.open(f.location, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileRefused("not a regular file (replaced after the scan)")
        chunks, size = [], 0
        while size <= f.max_bytes:
            chunk = os.read(fd, min(_READ_CHUNK, f.max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > f.max_bytes:
        raise FileRefused(f"file too large (grew past the limit of {f.max_bytes} bytes after the scan)")
    return b"".join(chunks)


@dataclass
class Manifest:
    """Per-file metadata from manifest.jsonl; values here win over extracted ones."""

    entries: dict[str, dict] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    problems: list[Skip] = field(default_factory=list)

    def entry(self, rel: str) -> dict:
        return self.entries.get(rel, {})

    def entry_hash(self, rel: str) -> str:
        """Hash of a file's manifest line, so editing it re-indexes that file."""
        return self.hashes.get(rel, "")


MANIFEST_FIELDS = ("url", "date", "source", "title")


def _normalize_rel(name: str) -> str:
    """A manifest "file" as the scan writes paths: posix, relative, no "./"."""
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name if "//" not in name and "/./" not in name else Path(name).as_posix()


def url_problem(url: str) -> str | None:
    """Why a URL cannot be parsed (e.g. "http://[::1": an unclosed IPv6 host), or None."""
    try:
        urlsplit(url).hostname
    except ValueError as exc:
        return str(exc)
    return None


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
    lines_of: dict[str, int] = {}  # file -> the line of its entry
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
        rel = _normalize_rel(obj["file"])
        if rel in lines_of:
            # the last entry wins, as it always did; a scraper that appends corrections
            # keeps working, and the run now says which earlier line was overridden
            manifest.problems.append(Skip(where, f"duplicate manifest entry for {rel} (also line "
                                                 f"{lines_of[rel]}); this later entry is used"))
        lines_of[rel] = number
        entry = {k: obj[k] for k in MANIFEST_FIELDS if isinstance(obj.get(k), str) and obj[k].strip()}
        if "url" in entry and (problem := url_problem(entry["url"])):
            manifest.problems.append(Skip(where, f"manifest url is not a valid URL ({problem}); url ignored"))
            del entry["url"]
        manifest.entries[rel] = entry
        manifest.hashes[rel] = hashlib.sha1(line.strip().encode("utf-8")).hexdigest()[:16]
    return manifest
