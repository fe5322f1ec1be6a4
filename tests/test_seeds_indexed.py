"""The seeds end to end through the real indexer: titles, dates, tags, sources, clean bodies."""

from __future__ import annotations

import re

import pytest

from common.layout import open_live_index
from conftest import SEEDS

FURNITURE = [
    "FB pixel", "ADVERTISEMENT", "Related Posts", "Article Topics", "Latest Biometrics News",
    "Leave a Reply", "Akismet", "Most Read This Week", "Most Read From This Week",
    "Featured Company", "Biometrics Insight, Opinion", "Biometrics White Papers",
    "Biometrics Events", "Explaining Biometrics", "To contact the reporter",
    "To contact the editors", "©2019 Bloomberg L.P.", "(Picture:", "Updated 2019-06-06",
]


@pytest.fixture(scope="module")
def docs(seed_index) -> dict[str, dict]:
    ix = open_live_index(seed_index)
    with ix.searcher() as s:
        return {d["path"][:3]: d for d in s.all_stored_fields()}


@pytest.mark.parametrize(
    "seed, date, precision, origin",
    [
        ("000", "2019-06-06", "day", "text"),
        ("001", "2019-05", "month", "url"),
        ("002", "2019-05", "month", "url"),
        ("003", "2019", "year", "text"),
        ("004", "2019-06-10", "day", "text"),
    ],
)
def test_dates_with_precision_and_origin(docs, seed, date, precision, origin):
    d = docs[seed]
    assert (d["date"], d["date_precision"], d["date_origin"]) == (date, precision, origin)


@pytest.mark.parametrize(
    "seed, title",
    [
        ("000", "Megvii cleared of supplying biometrics for Chinese surveillance app but may still delay IPO"),
        ("001", "Megvii accused of providing facial biometrics for repressive Chinese surveillance system"),
        ("002", "U.S. considers blacklisting Megvii, Hikvision and other Chinese biometric companies"),
        ("003", "Rights Group Corrects Report Linking Megvii to Xinjiang Police"),
    ],
)
def test_titles(docs, seed, title):
    assert docs[seed]["title"] == title
    assert title not in docs[seed]["body"]


def test_derived_title_when_the_page_has_none(docs):
    title = docs["004"]["title"]
    assert title.startswith("Verifying your identity through facial recognition")
    assert len(title) <= 100


def test_tags_and_sources(docs):
    assert docs["001"]["tags"].split(",") == [
        "biometrics", "China", "ethics", "facial recognition", "Megvii", "surveillance"]
    assert docs["003"]["source"] == "Bloomberg"
    assert docs["000"]["source"] == "biometricupdate.com"
    assert docs["004"]["source"] == "abacusnews.com"
    assert docs["000"]["url"].startswith("https://www.biometricupdate.com/201906/")


@pytest.mark.parametrize("seed", ["000", "001", "002", "003", "004"])
def test_no_furniture_and_every_paragraph_kept(docs, seed):
    body = docs[seed]["body"]
    for junk in FURNITURE:
        assert junk not in body, junk
    assert not re.search(r"^\s*\|", body, re.M)
    assert "\nComments" not in body
    raw = next(SEEDS.glob(f"{seed}_*.txt")).read_text("utf-8")
    # every sentence-like paragraph of the page (long lines that end a sentence) is in the body
    paragraphs = [p.strip() for p in raw.splitlines() if len(p.split()) >= 25]
    assert paragraphs
    flat = " ".join(body.split())  # the cleaner folds runs of spaces and no-break spaces
    for p in paragraphs:
        p = " ".join(re.sub(r"\s*\(Picture: [^)]*\)", "", p).split())
        assert p in flat, p[:60]
