"""Finding the corpus files and their manifest entries, without reading file contents.

The scan only stats files, so an incremental run over an unchanged corpus costs one
``stat`` per file. Anything that is not an indexable file is reported as a Skip with a
reason instead of raising, so one odd entry never stops a run.
"""

from __future__ import annotations

import json
import os
import re
import stat
from array import array
from dataclasses import dataclass, field
from hashlib import sha1
from operator import attrgetter
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
    """The indexable files as columns, in path-component order (see scan_corpus), and the
    rest as Skips. Columns, not one object per file: a run with nothing changed compares
    them with the state cache's as whole lists (in C) and never needs a CorpusFile."""

    root: str = ""  # the corpus folder, resolved: a file's location is root + "/" + rel
    rels: list[str] = field(default_factory=list)
    # int64 arrays: 8 bytes a value where a list held a pointer and an int object (~60 B a
    # file for the whole run), and compared with the state cache's by memcmp
    sizes: array = field(default_factory=lambda: array("q"))
    mtimes: array = field(default_factory=lambda: array("q"))
    max_bytes: int = DEFAULT_MAX_BYTES
    skipped: list[Skip] = field(default_factory=list)
    # Folders that could not be listed ("sub/", or "" for the corpus root): what they held
    # is unknown this run, so their files count as unchanged, not as deleted.
    unlisted: list[str] = field(default_factory=list)

    def file(self, i: int) -> CorpusFile:
        """The i-th file of the columns as a CorpusFile."""
        rel = self.rels[i]
        return CorpusFile(rel, f"{self.root}/{rel}", self.sizes[i], self.mtimes[i], self.max_bytes)

    @property
    def files(self) -> list[CorpusFile]:
        """One CorpusFile per file, sorted by path (made when a run has work to do)."""
        return sorted(map(self.file, range(len(self.rels))), key=lambda f: f.rel)

    def unknown(self, rel: str) -> bool:
        """True when rel lies in a folder this scan could not list."""
        return any(rel.startswith(prefix) for prefix in self.unlisted)


def path_order(rel: str) -> str:
    """The sort key of the scan's order: folder by folder, names sorted within each (a NUL
    sorts before any character a name can hold, so strings compare as their parts would)."""
    return rel.replace("/", "\0")


def _inside(root: Path, target: Path) -> bool:
    return target == root or root in target.parents


def scan_corpus(root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Scan:
    """Every supported file under root, at any depth, in path_order; the rest as Skips."""
    root = Path(root).resolve()
    scan = Scan(root=str(root), max_bytes=max_bytes)
    _scan_dir(root, None, str(root), "", scan)
    return scan


_SUFFIXES = tuple(SUPPORTED_SUFFIXES)
_by_name = attrgetter("name")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _scan_dir(root: Path, parent_fd: int | None, name: str, prefix: str, scan: Scan) -> None:
    """One folder: list it and stat its files relative to its descriptor, recurse into
    real subfolders.

    This loop is most of a run with nothing changed (200k files): one stat per file, by
    name within an open folder (the kernel resolves one name, not the whole path), and no
    object per file beyond its three column values."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        try:
            with os.scandir(fd) as it:
                entries = sorted(it, key=_by_name)
        except BaseException:
            os.close(fd)
            raise
    except OSError as exc:
        scan.skipped.append(Skip(prefix.rstrip("/") or ".", f"cannot list folder: {exc.strerror or exc} "
                                 "(its indexed files are kept)"))
        scan.unlisted.append(prefix)
        return
    try:
        _scan_entries(root, fd, entries, prefix, scan)
    finally:
        os.close(fd)


def _scan_entries(root: Path, fd: int, entries: list[os.DirEntry], prefix: str, scan: Scan) -> None:
    rels, sizes, mtimes, max_bytes = scan.rels, scan.sizes, scan.mtimes, scan.max_bytes
    for entry in entries:
        name = entry.name
        if name[0] == ".":
            continue
        if entry.is_symlink():
            if not _symlink_ok(root, entry, prefix + name, scan):
                continue
        elif entry.is_dir():  # not a symlink: a real folder
            _scan_dir(root, fd, name, prefix + name + "/", scan)
            continue
        elif not name.lower().endswith(_SUFFIXES):
            continue
        try:
            st = entry.stat()
        except OSError as exc:
            scan.skipped.append(Skip(prefix + name, f"cannot stat file: {exc.strerror or exc}"))
            continue
        size = st.st_size
        # the usual file: regular, not empty, within the limit, readable by anyone
        if not (0 < size <= max_bytes and st.st_mode & _TYPE_AND_READ == _REGULAR_READABLE and name.isascii()):
            skip = _file_problem(fd, name, prefix + name, st, max_bytes)
            if skip is not None:
                scan.skipped.append(skip)
                continue
        rels.append(prefix + name)
        sizes.append(size)
        mtimes.append(st.st_mtime_ns)


# S_IFREG and read permission for owner, group and others: such a file needs no access()
# call (one system call per file was a tenth of the scan).
_REGULAR_READABLE = stat.S_IFREG | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_TYPE_AND_READ = 0o170000 | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH  # S_IFMT: the file type bits


def _symlink_ok(root: Path, entry: os.DirEntry, rel: str, scan: Scan) -> bool:
    """Whether a symlink is scanned as a file; a Skip is recorded for those that matter."""
    try:
        is_folder = entry.is_dir()
    except OSError:  # a loop: ELOOP
        is_folder = False
    if not is_folder and not entry.name.lower().endswith(_SUFFIXES):
        return False
    reason = _symlink_reason(root, root / rel, folder=is_folder)
    if reason:
        scan.skipped.append(Skip(rel, reason))
        return False
    return True


def _symlink_reason(root: Path, path: Path, folder: bool) -> str:
    try:
        target = path.resolve(strict=True)
    except (RuntimeError, OSError):
        return "symlink loop or broken symlink"
    if not _inside(root, target):
        return "symlink leaves the corpus folder"
    return "symlinked folder inside the corpus (not followed; index the real folder)" if folder else ""


def _file_problem(fd: int, name: str, rel: str, st: os.stat_result, max_bytes: int) -> Skip | None:
    """Why a file the fast check did not pass is skipped, or None when it is fine after all."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes that are not UTF-8 in a name (surrogate-escaped by os) cannot be an id,
        # a stored path or JSON; report the name with the odd bytes escaped.
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return Skip(shown, "file name is not valid UTF-8 (rename the file)")
    if not stat.S_ISREG(st.st_mode):
        return Skip(rel, "not a regular file")
    if st.st_size == 0:
        return Skip(rel, "empty file")
    if st.st_size > max_bytes:
        return Skip(rel, f"file too large ({st.st_size} bytes > limit of {max_bytes})")
    if not os.access(name, os.R_OK, dir_fd=fd):
        return Skip(rel, "file not readable (permission denied)")
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


MANIFEST_FIELDS = ("url", "date", "source", "title")
ABSENT = "absent"  # the fingerprint of a corpus without a manifest
_scan_json = json.JSONDecoder().scan_once
# A line as str.splitlines cuts them (any of its line boundaries), without a list of them
_LINE = re.compile("(.*?)(?:\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]|\\Z)", re.S)
_BLANK = object()


class Manifest:
    """Per-file metadata from manifest.jsonl; values here win over extracted ones.

    Parsed on first use when its bytes are those the last completed run recorded
    (``unchanged``): every indexed file's entry hash is then the one in its state, so a
    run with nothing to do never parses 200k lines. ``problems`` are known either way.

    Parsing checks every line and keeps, per file, only where its line is in the text
    (one int): a file's entry and hash are made from that line when asked. A dict of
    parsed objects and a dict of hashes held ~650 B per file for the whole run."""

    def __init__(self, text: str = "", fingerprint: str | None = ABSENT, problems: list[Skip] | None = None):
        self.fingerprint = fingerprint  # size and SHA-1 of the bytes; None when unreadable
        self.unchanged = problems is not None
        self.problems: list[Skip] = problems if problems is not None else []
        self._text = text
        self._done = False
        self._spans: dict[str, int] = {}  # file -> its line's offset << 64 | length << 32 | number
        if not self.unchanged:
            self._parse()

    def entry(self, rel: str) -> dict:
        line = self._line(rel)
        if line is None:
            return {}
        obj = _json_object(line)
        url = obj.get("url")
        if isinstance(url, str) and url.strip() and url_problem(url):
            obj = {k: v for k, v in obj.items() if k != "url"}  # reported when parsed
        return _entry_of(obj)

    def entry_hash(self, rel: str) -> str:
        """Hash of a file's manifest line, so editing it re-indexes that file."""
        line = self._line(rel)
        return "" if line is None else sha1(line.strip().encode("utf-8")).hexdigest()[:16]

    @property
    def parsed(self) -> bool:
        return self._done

    def record(self) -> dict | None:
        """What the state cache keeps of this manifest (None: nothing to rely on)."""
        if self.fingerprint is None:
            return None
        return {"fingerprint": self.fingerprint, "problems": [[p.path, p.reason] for p in self.problems]}

    def _line(self, rel: str) -> str | None:
        if not self._done:
            self._parse()
        span = self._spans.get(rel)
        if span is None:
            return None
        start = span >> 64
        return self._text[start : start + (span >> 32 & 0xFFFFFFFF)]

    def _parse(self) -> None:
        """One pass over the lines; the C scanner of json per line, json.loads only to
        word the error of a line that is not JSON."""
        self._done = True
        text = self._text
        report = not self.unchanged  # else the same bytes' problems are already known
        problems: list[Skip] = []
        spans = self._spans
        for number, found in enumerate(_LINE.finditer(text), 1):
            line, start = found[1], found.start()
            if start == found.end():
                break  # the empty match at the end: not a line (as str.splitlines has it)
            obj = _json_object(line)
            if obj is _BLANK:
                continue
            if isinstance(obj, Exception):
                problems.append(Skip(f"{MANIFEST}:{number}", f"manifest line is not JSON: {obj}"))
                continue
            name = obj.get("file") if type(obj) is dict else None
            if not isinstance(name, str):
                problems.append(Skip(f"{MANIFEST}:{number}", 'manifest line needs a "file" string'))
                continue
            if not name.isascii() and not _is_unicode(name):
                # a "\ud800" escape: no file has that name, and quoting it in the run's
                # summary made every run fail writing last_run.json
                problems.append(Skip(f"{MANIFEST}:{number}", 'manifest "file" holds a lone surrogate '
                                                             '(a \\uD800-\\uDFFF escape); line ignored'))
                continue
            rel = _normalize_rel(name)
            if rel in spans:
                # the last entry wins, as it always did; a scraper that appends corrections
                # keeps working, and the run now says which earlier line was overridden
                problems.append(Skip(f"{MANIFEST}:{number}", f"duplicate manifest entry for {rel} (also "
                                                             f"line {spans[rel] & 0xFFFFFFFF}); this later entry is used"))
            url = obj.get("url")
            if isinstance(url, str) and url.strip() and (problem := url_problem(url)):
                problems.append(Skip(f"{MANIFEST}:{number}",
                                     f"manifest url is not a valid URL ({problem}); url ignored"))
            spans[rel] = start << 64 | len(line) << 32 | number
        if report:
            self.problems = problems


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _entry_of(obj: dict) -> dict:
    """The fields a manifest line gives: the known ones, non-empty strings."""
    return {k: v for k in MANIFEST_FIELDS if isinstance(v := obj.get(k), str) and v.strip()}


def _json_object(line: str):
    """The JSON value of a line, _BLANK for a blank line, or the error json.loads raises."""
    try:
        value, end = _scan_json(line, 0)
        if end == len(line):
            return value
    except (StopIteration, ValueError, RecursionError):
        pass
    if not line.strip():
        return _BLANK
    try:  # whitespace around the value, or not JSON: json.loads decides and words the error
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        return exc


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


def load_manifest(root: Path, known: dict | None = None) -> Manifest:
    """Read manifest.jsonl if present; bad lines are reported, not fatal.

    ``known`` is the last completed run's ``Manifest.record()``: when the bytes are the
    same (size and SHA-1 of the whole file, a few ms for 200k lines), its problems are
    reused and the lines are parsed only if the run needs an entry."""
    path = Path(root) / MANIFEST
    text, fingerprint = "", ABSENT
    if path.is_file():
        try:
            data = path.read_bytes()
            text = data.decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            manifest = Manifest(fingerprint=None)
            manifest.problems.append(Skip(MANIFEST, f"manifest unreadable: {exc}"))
            return manifest
        fingerprint = f"{len(data)}:{sha1(data).hexdigest()}"
        del data  # not held while the text is parsed (11 MB at 200k lines)
    if isinstance(known, dict) and known.get("fingerprint") == fingerprint:
        try:
            problems = [Skip(str(where), str(reason)) for where, reason in known.get("problems", [])]
        except (TypeError, ValueError):
            problems = None  # a record this version cannot read: parse as if unknown
        if problems is not None:
            return Manifest(text, fingerprint, problems)
    return Manifest(text, fingerprint)
