"""Dates from URLs and text, and the choice between candidates: table-driven, on real seeds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from common.dates import PubDate
from indexer.dates import best_date, date_from_text, date_from_url
from indexer.pagedates import leading_date

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def d(text: str) -> PubDate:
    return PubDate.parse(text)


@pytest.mark.parametrize("url, expected", [
    ("https://www.biometricupdate.com/201906/biometrics-unicorn-megvii", "2019-06"),
    ("https://example.com/2019/06/06/some-story", "2019-06-06"),
    ("https://example.com/2019/6/6/some-story", "2019-06-06"),
    ("https://example.com/2019/06/some-story", "2019-06"),
    ("https://example.com/news/2019-06-06/some-story", "2019-06-06"),
    ("https://example.com/news/story-2019-06-06.html", "2019-06-06"),
    ("https://example.com/news/story_20190606.html", "2019-06-06"),
    ("https://example.com/20190606-story", "2019-06-06"),
    ("https://example.com/2019-06/story", "2019-06"),
    ("https://example.com/blog/2019/a-story", "2019"),
    ("https://die-partei.net/luebeck/2012/05/31/das-ministerium/", "2012-05-31"),
    # implausible or no date
    ("https://example.com/201913/story", None),
    ("https://example.com/2019/13/40/story", None),
    ("https://example.com/1850/06/06/story", None),
    (f"https://example.com/{date.today().year + 5}/06/06/story", None),
    ("https://example.com/20190231-story", None),
    ("https://www.abacusnews.com/big-guns/why-megvii/article/3012258", None),
    ("https://example.com/product/123456789", None),
    ("https://example.com/", None),
    ("", None),
    ("http://[::1", None),
])
def test_date_from_url(url: str, expected: str | None) -> None:
    found = date_from_url(url)
    assert (found.iso() if found else None) == expected


@pytest.mark.parametrize("text, expected, precision", [
    ("Some story.\n\nUpdated 2019-06-06 1:50 PM\n\nRelated Posts", "2019-06-06", "day"),
    ("Update (June 10th, 2019): After we published our story", "2019-06-10", "day"),
    ("To contact the reporter...\n\n©2019 Bloomberg L.P.", "2019", "year"),
    ("© 2019 Bloomberg L.P.", "2019", "year"),
    ("Copyright 2005-2019 Example Ltd", "2019", "year"),
    ("Published May 5, 2019", "2019-05-05", "day"),
    ("Posted on 5 May 2019 by someone", "2019-05-05", "day"),
    ("By Jane Doe\n5 May 2019\nThe story starts here.", "2019-05-05", "day"),
    ("Sept. 3, 2018 - A story", "2018-09-03", "day"),
    ("Last updated: March 2020", "2020-03", "month"),
    # publication beats update wherever they appear
    ("Updated June 12, 2019. Published June 10, 2019.", "2019-06-10", "day"),
    # never relative, never today, never impossible
    ("Posted 2 hours ago", None, None),
    ("Published yesterday", None, None),
    ("Published today", None, None),
    ("Date: 31 February 2019", None, None),
    ("A May report said the 1930s were different.", None, None),
    ("", None, None),
])
def test_date_from_text(text: str, expected: str | None, precision: str | None) -> None:
    found = date_from_text(text)
    assert (found.iso() if found else None) == expected
    assert (found.precision if found else None) == precision


@pytest.mark.parametrize("segment, expected", [
    ("16.08.2019 Dauer: 1 Stunde", "2019-08-16"),
    ("2023-11-07 15:03:30 / Updated: 2023-11-07", "2023-11-07"),
    ("2020-02-19T18:37:32+01:00", "2020-02-19"),  # as written, not converted to UTC
    ("26. Jan 2022 im Format Aktuelles", "2022-01-26"),
    ("7 April 2020 Copyright", "2020-04-07"),
    ("30 septembre 2018 Deux ans", "2018-09-30"),
    ("31.02.2019", None),
    ("Dauer: 16.08.2019", None),  # the date must start the segment
    ("vor 2 Stunden", None),
])
def test_leading_date(segment: str, expected: str | None) -> None:
    found = leading_date(segment)
    assert (found.iso() if found else None) == expected


def test_unlabelled_date_mid_article_is_ignored() -> None:
    """A date the story mentions in its middle is not its publication date."""
    filler = "Words of the story go on here. " * 100
    assert date_from_text(filler + "On 5 May 2017 the firm was founded. " + filler) is None


@pytest.mark.parametrize("candidates, expected, origin", [
    ([(d("2019-06"), "url"), (d("2019-06-06"), "text")], "2019-06-06", "text"),
    ([(d("2019-06-06"), "url"), (d("2019-06"), "text")], "2019-06-06", "url"),
    ([(d("2019"), "html"), (d("2019-06-06"), "url")], "2019-06-06", "url"),
    ([(d("2018-01-01"), "url"), (d("2019-06-06"), "text")], "2019-06-06", "text"),
    ([(d("2019-06-06"), "html"), (d("2019-06-07"), "text")], "2019-06-06", "html"),
    ([(d("2020-01-02"), "text"), (d("2019-06-06"), "manifest")], "2019-06-06", "manifest"),
    ([(d("2019"), "manifest"), (d("2019-06"), "url"), (d("2019-06-06"), "text")],
     "2019-06-06", "text"),
    ([(d("2019"), "manifest"), (d("2018-06-06"), "text")], "2019", "manifest"),
    ([(None, "html"), (d("2019-05"), "url")], "2019-05", "url"),
    ([(None, "html"), (None, "url")], None, None),
    ([], None, None),
])
def test_best_date(candidates: list, expected: str | None, origin: str | None) -> None:
    found, found_origin = best_date(candidates)
    assert (found.iso() if found else None) == expected
    assert found_origin == origin


def _seed_urls() -> dict[str, str]:
    with open(SEEDS / "manifest.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return {row["file"]: row["url"] for row in rows}


@pytest.mark.parametrize("prefix, expected, precision, origin", [
    ("000", "2019-06-06", "day", "text"),
    ("001", "2019-05", "month", "url"),
    ("002", "2019-05", "month", "url"),
    ("003", "2019", "year", "text"),
    ("004", "2019-06-10", "day", "text"),
])
def test_seed_dates(prefix: str, expected: str, precision: str, origin: str) -> None:
    """Each seed's date from its text and its manifest URL, as a reader would date it."""
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    url = _seed_urls()[path.name]
    text = path.read_text(encoding="utf-8")
    found, found_origin = best_date([(date_from_text(text), "text"), (date_from_url(url), "url")])
    assert found is not None
    assert (found.iso(), found.precision, found_origin) == (expected, precision, origin)
