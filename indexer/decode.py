"""Bytes to text: UTF-8 first (with or without BOM), then a declared or legacy encoding.

Valid UTF-8 is always read as UTF-8, so a correct file never turns into mojibake; only
bytes that are not UTF-8 fall back to the page's declared charset or cp1252/Latin-1,
which decode any byte and so never crash.
"""

from __future__ import annotations

import codecs
import re

_BINARY_SAMPLE = 8192
_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Control characters other than tab, newline, carriage return and form feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class DecodeError(ValueError):
    """The bytes are not text (binary), with a reason for the run summary."""


def looks_binary(data: bytes) -> bool:
    """NUL bytes near the start mean a binary file (image, PDF, archive)."""
    return b"\x00" in data[:_BINARY_SAMPLE]


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in a <meta> tag, if Python knows it."""
    m = _DECLARED.search(data[:4096])
    if not m:
        return None
    try:
        return codecs.lookup(m.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None


def decode_bytes(data: bytes, html: bool = False) -> tuple[str, str]:
    """Decode file bytes; return (text, encoding used). Raise DecodeError for binary data."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # errors="replace": a truncated download has an odd byte count, and the text
        # before the cut is still worth indexing.
        return data.decode("utf-16", errors="replace"), "utf-16"
    if looks_binary(data):
        raise DecodeError("binary file (contains NUL bytes)")
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = _mostly_utf8(data) or _decode_legacy(data, html)
    sample = text[:_BINARY_SAMPLE]
    if sample and len(_CONTROL.findall(sample)) > len(sample) * 0.01:
        raise DecodeError("binary file (too many control characters)")
    return text, encoding


def _mostly_utf8(data: bytes) -> tuple[str, str] | None:
    """UTF-8 with a few broken bytes (a cut or spliced page): keep UTF-8, replace the bad
    bytes, rather than turn every correct character into mojibake via a legacy codec."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return (text, "utf-8-replace") if good > bad else None


def _decode_legacy(data: bytes, html: bool) -> tuple[str, str]:
    declared = declared_charset(data) if html else None
    if declared and declared not in ("utf-8", "utf_8"):
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; Latin-1 maps every byte.
        return data.decode("latin-1"), "latin-1"
