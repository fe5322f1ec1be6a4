"""extract_html on real saved pages from both extraction sets, and on hostile input."""

from __future__ import annotations

import gzip
import json
import os
import random
import socket
from pathlib import Path

import pytest

from extraction_metrics import shingle_score, snippet_score
from indexer.htmlclean import ExtractionError, HtmlArticle, extract_html

DATA = Path(os.environ.get("EXTRACTION_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data" / "extraction"))
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"extraction data sets not at {DATA}")

ARTICLE = "<p>" + "A real sentence of the article body, long enough to count. " * 12 + "</p>"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test: extraction must never fetch."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("extract_html tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def rows(name: str) -> list[dict]:
    with open(DATA / name / "ground_truth.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def extract_file(name: str, row: dict) -> HtmlArticle | None:
    return extract_html(gzip.decompress((DATA / name / row["file"]).read_bytes()), row.get("url"))


@needs_data
def test_trafilatura_sample_snippets() -> None:
    """Every 50th page: must-contain snippets found, boilerplate snippets absent."""
    sample = rows("trafilatura")[::50]
    outputs = [(extract_file("trafilatura", row), row) for row in sample]
    figures = snippet_score((a.body if a else None, r["with"], r["without"]) for a, r in outputs)
    assert len(sample) == 20
    assert figures["precision"] >= 0.9 and figures["recall"] >= 0.9, figures


@needs_data
def test_scrapinghub_sample_shingles() -> None:
    """Every 18th page of the Scrapinghub set scores like the full benchmark."""
    sample = rows("scrapinghub")[::18]
    pairs = [(row["articleBody"], (extract_file("scrapinghub", row) or HtmlArticle("", "")).body)
             for row in sample]
    figures = shingle_score(pairs)
    assert figures["f1"] >= 0.9, figures


@needs_data
def test_metadata_of_a_real_page() -> None:
    """Title, author, tags, canonical URL and day-precision date from a blog page."""
    (row,) = [r for r in rows("trafilatura") if r["file"] == "html/rete-mirabile.net.15jahre.html.gz"]
    article = extract_file("trafilatura", row)
    assert article is not None
    assert article.title.startswith("15 Jahre rete-mirabile.net")
    assert article.author == "Andreas Kalt"
    assert article.date is not None and (article.date.iso(), article.date.precision) == (
        "2019-07-28", "day")
    assert article.url == "https://rete-mirabile.net/notizen/15-jahre-rete-mirabile/"
    assert {"Notizen", "blogs"} <= set(article.tags)
    assert "\n\n" in article.body and "\n\n\n" not in article.body


def test_canonical_and_og_url_win_over_the_callers() -> None:
    page = ('<html><head><title>T</title><link rel="canonical" href="/news/story-1">'
            f'</head><body><article>{ARTICLE}</article></body></html>')
    article = extract_html(page, url="https://example.com/amp/story-1?utm=x")
    assert article is not None and article.url == "https://example.com/news/story-1"
    og = page.replace('<link rel="canonical" href="/news/story-1">',
                      '<meta property="og:url" content="https://example.org/s">')
    assert extract_html(og, url=None).url == "https://example.org/s"
    plain = page.replace('<link rel="canonical" href="/news/story-1">', "")
    assert extract_html(plain, url="https://example.com/x").url == "https://example.com/x"
    assert extract_html(plain).url is None


def test_no_date_is_none_not_today() -> None:
    """A page without any date gets None: never today's date, never a file time."""
    page = f"<html><head><title>T</title></head><body><article>{ARTICLE}</article></body></html>"
    article = extract_html(page)
    assert article is not None and article.date is None


def test_script_in_body_never_becomes_text() -> None:
    page = ("<html><head><title>T</title><script>var tracker = 1;</script></head><body>"
            f"<article>{ARTICLE}<script>alert(1)</script>{ARTICLE}"
            "<noscript>enable javascript</noscript><style>p {color: red}</style></article>"
            "</body></html>")
    article = extract_html(page)
    assert article is not None
    assert "alert" not in article.body and "tracker" not in article.body
    assert "color" not in article.body
    assert "A real sentence" in article.body


def _nested(depth: int) -> str:
    return "<html><body>" + "<div>" * depth + ARTICLE + "</div>" * depth + "</body></html>"


def refused(html: str | bytes) -> bool:
    """True when extract_html declines the input cleanly (None or ExtractionError)."""
    try:
        return extract_html(html) is None
    except ExtractionError as exc:
        assert exc.reason
        return True


@pytest.mark.parametrize("html", [
    pytest.param(_nested(10_000), id="10000-deep"),
    pytest.param("<html><head><script>var a = 1;</script></head>"
                 "<body><script>alert(1)</script><script>x()</script></body></html>",
                 id="only-scripts"),
    pytest.param("", id="empty-str"),
    pytest.param(b"", id="empty-bytes"),
    pytest.param("   \n\t ", id="whitespace"),
    pytest.param(random.Random(0).randbytes(20_000), id="binary"),
    pytest.param(b"\x00" * 5000, id="nul-bytes"),
    pytest.param(b"\x1f\x8b\x08\x00garbage-not-really-gzip" * 10, id="broken-gzip"),
    pytest.param("https://example.com/2019/06/06/story", id="a-url-is-not-fetched"),
    pytest.param("<html><head><title>x</title></head><body><!-- nothing --></body></html>",
                 id="comment-only"),
    pytest.param("<" * 50_000, id="angle-brackets"),
])
def test_hostile_input_is_refused_not_crashed(html: str | bytes) -> None:
    assert refused(html)


def test_deep_but_legal_nesting_still_extracts() -> None:
    """Nesting that parsers accept (200 levels) keeps its text."""
    article = extract_html(_nested(200))
    assert article is not None and "A real sentence" in article.body


def test_wrong_type_is_a_clear_error() -> None:
    with pytest.raises(ExtractionError, match="expected str or bytes"):
        extract_html(123)  # type: ignore[arg-type]


def test_binary_reason_is_stated() -> None:
    with pytest.raises(ExtractionError, match="binary"):
        extract_html(random.Random(1).randbytes(10_000))


@needs_data
@pytest.mark.parametrize("file, expected", [
    # a visible label names the day; htmldate took a later date elsewhere on the page
    ("html/resonator-podcast.de.res158.html.gz", "2019-08-16"),  # "Veröffentlicht am 16.08.2019"
    ("html/literaturkritik.de-Ann-Cotten.html.gz", "2023-11-01"),  # "Erschienen am: 01.11.2023"
    # JSON-LD datePublished backed by the headline's <time>, over the URL's older day
    ("html/larepublica.pe-minedu.html.gz", "2022-05-08"),
    # "2021-11-04T23:00Z" is local midnight of 5 November, not 4 November
    ("html/kas.de-nordmazedonien.html.gz", "2021-11-05"),
    # a teaser list labels several different days: the labels are ignored
    ("html/werkzeugforum.de-heizjacke.html.gz", "2022-01-26"),
])
def test_page_own_date_statements_correct_htmldate(file: str, expected: str) -> None:
    """The date the page itself states (label, corroborated JSON-LD, local midnight) wins."""
    (row,) = [r for r in rows("trafilatura") if r["file"] == file]
    article = extract_file("trafilatura", row)
    assert article is not None and article.date is not None
    assert (article.date.iso(), article.date.precision) == (expected, "day")
