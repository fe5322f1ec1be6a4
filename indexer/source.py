"""The outlet an article comes from: from its URL, its text's wire signatures, or metadata.

Rule (applied in ``indexer.pipeline``): manifest > HTML sitename > text signature > URL host.
The outlet that wrote a story outranks the host that served it: seed 003 is served from
bloombergquint.com but signed "(Bloomberg) --" and "©2019 Bloomberg L.P.", so its source
is "Bloomberg". The URL host is the last resort because syndication and mirrors make it
the least specific about who wrote the piece.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# Origins from most to least trusted.

_NAME = r"[A-Z][\w&.'’-]*(?:\s+[A-Z][\w&.'’-]*){0,4}"
_COMPANY_SUFFIX = re.compile(
    r"[\s,]+(?:L\.?P\.?|Inc\.?|Ltd\.?|LLC|plc|PLC|GmbH|S\.A\.|Co\.?|Corp\.?|Corporation|"
    r"Limited|All rights reserved\.?)\s*$"
)


@dataclass(frozen=True)
class Signature:
    """A way a text names its outlet, and where in the text it may appear."""

    name: str
    regex: re.Pattern[str]


# Signatures as data; the first row that matches wins.
TEXT_SIGNATURES: tuple[Signature, ...] = (
    # Wire dateline: "(Bloomberg) --", "LONDON (Reuters) -", "WASHINGTON (AP) —"
    Signature("dateline", re.compile(
        rf"^[ \t]*(?:[A-Z][A-Z .,'-]*\s)?\((?P<name>{_NAME})\)\s*(?:--|—|–|-)\s", re.MULTILINE)),
    # Copyright line: "©2019 Bloomberg L.P.", "Copyright 2019 The Associated Press."
    Signature("copyright", re.compile(
        rf"(?:\b(?i:copyright)\b\s*(?:©|\(c\))?|©|\(c\))\s*(?:(?:19|20)\d{{2}}\s*(?:[-–]\s*(?:19|20)\d{{2}}\s*)?)?"
        rf"(?:by\s+)?(?P<name>{_NAME}(?:\s+L\.P\.|\s+Inc\.|\s+Ltd\.?)?)")),
)

# Wire abbreviations and corporate names -> the name a reader knows.
DISPLAY_NAMES: dict[str, str] = {
    "ap": "Associated Press",
    "the associated press": "Associated Press",
    "afp": "AFP",
    "reuters": "Reuters",
    "thomson reuters": "Reuters",
    "bloomberg": "Bloomberg",
    "bloombergquint.com": "BloombergQuint",
    "biometricupdate.com": "Biometric Update",
    "abacusnews.com": "Abacus News",
}
_NOT_NAMES = {"all rights reserved", "copyright", "the", "by"}


def source_from_url(url: str | None) -> str | None:
    """The URL's host without ``www.`` or port, lower-case (``biometricupdate.com``)."""
    if not url:
        return None
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:  # malformed address, e.g. a broken IPv6 literal
        return None
    if not host or "." not in host:
        return None
    return re.sub(r"^www\d*\.", "", host.rstrip("."))


def clean_name(raw: str) -> str | None:
    """A signature's name without company suffixes ("Bloomberg L.P." -> "Bloomberg")."""
    # A name ends at a sentence's full stop ("Press. All rights ..."), not at "L.P."
    name = re.split(r"(?<=\w\w)\.\s", raw)[0].strip(" .,;:")
    previous = None
    while previous != name:
        previous, name = name, _COMPANY_SUFFIX.sub("", name).strip(" .,;:")
    if not name or name.lower() in _NOT_NAMES or not any(ch.isalpha() for ch in name):
        return None
    return name


def source_from_text(text: str | None) -> str | None:
    """The outlet a text signs itself with ("(Bloomberg) --", "©2019 Bloomberg L.P.")."""
    if not text:
        return None
    for signature in TEXT_SIGNATURES:
        for m in signature.regex.finditer(text):
            name = clean_name(m["name"])
            if name:
                return display_source(name)
    return None


def display_source(source: str | None) -> str | None:
    """A nicer name for a known outlet or host; anything else unchanged."""
    if not source:
        return None
    return DISPLAY_NAMES.get(source.strip().lower(), source.strip())
