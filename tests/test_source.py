"""Outlet from URL hosts and text signatures, and the priority rule, on the real seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.source import display_source, source_from_text, source_from_url

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.mark.parametrize("url, expected", [
    ("https://www.biometricupdate.com/201906/story", "biometricupdate.com"),
    ("https://www.bloombergquint.com/business/story", "bloombergquint.com"),
    ("http://WWW.Example.COM:8080/a", "example.com"),
    ("https://news.bbc.co.uk/2/hi/story.stm", "news.bbc.co.uk"),
    ("https://www2.example.org/x", "example.org"),
    ("example.net/path", "example.net"),
    ("http://localhost/x", None),
    ("http://[::1", None),
    ("", None),
    (None, None),
])
def test_source_from_url(url: str | None, expected: str | None) -> None:
    assert source_from_url(url) == expected


@pytest.mark.parametrize("text, expected", [
    ("(Bloomberg) -- Human Rights Watch has withdrawn", "Bloomberg"),
    ("Title\n\nLONDON (Reuters) - Oil prices rose", "Reuters"),
    ("WASHINGTON (AP) — The Senate voted", "Associated Press"),
    ("story text\n\n©2019 Bloomberg L.P.", "Bloomberg"),
    ("© 2019 Bloomberg L.P.", "Bloomberg"),
    ("Copyright 2019 The Associated Press. All rights reserved.", "Associated Press"),
    ("Copyright © 2018 Example Media Inc. All rights reserved.", "Example Media"),
    # not signatures
    ("Megvii's tech is used in phones. (Picture: Simon Song/SCMP)", None),
    ("The vote was 5-4 (a narrow margin) - and then", None),
    ("© 2019", None),
    ("Copyright 2019. All rights reserved.", None),
    ("", None),
])
def test_source_from_text(text: str, expected: str | None) -> None:
    assert source_from_text(text) == expected


def test_display_source() -> None:
    assert display_source("AP") == "Associated Press"
    assert display_source("biometricupdate.com") == "Biometric Update"
    assert display_source("unknown.example") == "unknown.example"
    assert display_source(None) is None


def _seeds() -> list[tuple[str, str]]:
    with open(SEEDS / "manifest.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [((SEEDS / r["file"]).read_text(encoding="utf-8"), r["url"]) for r in rows]


@pytest.mark.parametrize("index, expected", [
    (0, ("biometricupdate.com", "url")),
    (1, ("biometricupdate.com", "url")),
    (2, ("biometricupdate.com", "url")),
    (3, ("Bloomberg", "text")),  # served by bloombergquint.com, signed by Bloomberg
    (4, ("abacusnews.com", "url")),
])
def test_seed_sources(index: int, expected: tuple[str, str]) -> None:
    """The seeds mention Bloomberg in passing; only seed 003 is signed by it."""
    text, url = _seeds()[index]
    found = source_from_text(text)  # a text dump: the signature first, then the URL's host
    assert ((found, "text") if found else (source_from_url(url), "url")) == expected
