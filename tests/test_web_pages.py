"""The HTML pages through Flask's test client, over real indexes built by the real indexer.

The seeds index (``seed_index``) covers results, filters, timeline, pagination and article
pages; a small hostile corpus (script and img tags in title, body, tags and source, and a
``javascript:`` URL in the manifest) checks that document text only ever appears escaped.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import Markup

from app import create_app
from conftest import run_indexer
from search.request import parse_search_request
from search.results import SearchResponse
from web import present

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
SVG = "<svg onload=alert(1)>"


class Page(HTMLParser):
    """Parsed page: every start tag with its attributes, and the visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def hrefs(self, path_prefix: str = "") -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and a.get("href", "").startswith(path_prefix)]


def args_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


@pytest.fixture(scope="module")
def app(seed_index):
    app = create_app({"INDEX_DIR": str(seed_index), "TESTING": True})
    yield app
    app.extensions["search_engine"].close()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def seed_ids(app) -> dict[str, str]:
    """Seed file prefix ("000".."004") -> article id, read from the JSON API."""
    data = app.test_client().get("/api/search?size=100").get_json()
    return {h["path"][:3]: h["id"] for h in data["hits"]}


def get(client, url: str, status: int = 200) -> tuple[str, Page]:
    resp = client.get(url)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    return html, Page(html)


def assert_site_look(page: Page) -> None:
    """Every HTML page, errors included: stylesheet, landmarks, skip link, one search box."""
    assert page.find("link", rel="stylesheet", href="/static/site.css")
    for landmark in ("header", "main", "footer"):
        assert any(t == landmark for t, _ in page.tags), landmark
    assert page.find("a", class_="skip-link", href="#main")
    assert page.find("main", id="main")
    assert len(page.find("input", name="q", type="search")) <= 1
    assert page.find("html", lang="en")


def assert_no_inline_code(html: str, page: Page) -> None:
    """CSP forbids inline script and style: every script is external, no style attributes."""
    for t, a in page.tags:
        assert "style" not in a, (t, a)
        assert not any(k.startswith("on") for k in a), (t, a)
        if t == "script":
            assert a.get("src", "").startswith("/static/"), a
    assert "<style" not in html


# -- home and results --------------------------------------------------------------------


def test_home_page_has_an_autofocused_box_and_latest_articles(client):
    html, page = get(client, "/")
    assert_site_look(page)
    assert_no_inline_code(html, page)
    box = page.find("input", name="q")[0]
    assert "autofocus" in box and box["value"] == ""
    assert page.find("label", for_="q")
    assert page.find("form", role="search", action="/search", method="get")
    assert "Latest in the archive" in page.text
    assert "5 articles from 2019" in page.text
    assert len(page.hrefs("/articles/")) == 5


def test_results_show_count_time_highlights_and_dates_at_their_precision(client, seed_ids):
    html, page = get(client, "/search?q=surveillance")
    assert_site_look(page)
    assert_no_inline_code(html, page)
    assert "5 results for “surveillance”" in page.text.replace("“ ", "“").replace(" ”", "”") or \
        re.search(r"5 results for\s*<q class=\"query\">surveillance</q>", html)
    assert re.search(r"\d+\.\d ms", page.text)
    assert page.find("input", name="q")[0]["value"] == "surveillance"  # the box keeps the query
    assert html.count("<mark>surveillance</mark>") >= 5
    # dates written at their precision: seeds are a day, a month, a year
    assert "6 June 2019" in page.text and "May 2019" in page.text
    assert page.find("time", datetime="2019") and page.find("time", datetime="2019-05")
    assert page.find("time", datetime="2019-06-06")
    # every title links to its article page, carrying the query
    for prefix, doc_id in seed_ids.items():
        assert f"/articles/{doc_id}?q=surveillance" in page.hrefs("/articles/"), prefix
    # source shown, tags as links that filter
    assert "biometricupdate.com" in page.text
    assert any(args_of(h).get("tag") == ["China"] for h in page.hrefs("/search?"))
    # the results page advertises its Atom feed
    feed = page.find("link", rel="alternate", type="application/atom+xml")
    assert feed and feed[0]["href"] == "/search.atom?q=surveillance"
    assert client.get(feed[0]["href"]).status_code == 200


def test_did_you_mean_is_a_link(client):
    _, page = get(client, "/search?q=survelance")
    link = page.find("a", class_="suggestion")
    assert link and link[0]["href"] == "/search?q=surveillance"
    assert "Did you mean surveillance?" in page.text


def test_fallback_to_any_of_the_words_is_said(client):
    html, page = get(client, "/search?q=megvii+zzzqqq")
    assert "showing results for any of the words" in page.text
    assert "<mark>" in html


def test_broken_syntax_is_explained(client):
    _, page = get(client, "/search?q=%22facial+recognition")
    assert "could not be read as search syntax" in page.text
    assert "searched as plain words" in page.text


def test_no_results_page_gives_concrete_tips(client):
    html, page = get(client, "/search?q=zzzqqq+xxyyzz&from=2019&source=Bloomberg")
    assert "No results" in page.text
    assert "Nothing in the archive matches" in page.text
    tips = page.find("ul", class_="tips")
    assert tips
    assert "surveil*" in page.text and "OR" in page.text
    all_dates = [h for h in page.hrefs("/search") if "from" not in args_of(h)]
    assert any(args_of(h).get("source") == ["Bloomberg"] and args_of(h).get("q") for h in all_dates)
    assert any("source" not in args_of(h) and args_of(h).get("from") == ["2019"] for h in page.hrefs("/search"))
    assert "autofocus" in page.find("input", name="q")[0]


def test_date_filter_chips_and_facets(client):
    html, page = get(client, "/search?q=surveillance&from=2019-06&to=2019-06")
    assert "3 results" in page.text  # two June days, and the article dated only "2019" overlaps June
    chip = page.find("a", class_="chip")
    assert len(chip) == 1 and "Date: June 2019" in page.text
    assert args_of(chip[0]["href"]) == {"q": ["surveillance"]}  # removing it keeps the query
    # the date inputs are filled and the form keeps the query
    assert page.find("input", id="from")[0]["value"] == "2019-06"
    assert page.find("input", name="q", type="hidden")[0]["value"] == "surveillance"

    _, page = get(client, "/search?q=surveillance&from=2019-05&to=2019")
    assert "From: May 2019" in page.text and "To: 2019" in page.text
    assert len(page.find("a", class_="chip")) == 2 and page.find("a", class_="clear-all")


def test_source_and_tag_facets_are_links_with_counts(client):
    html, page = get(client, "/search?q=megvii")
    sources = {re.sub(r"\s+", " ", m[1]).strip(): int(m[2]) for m in re.finditer(
        r'<span class="facet-label">([^<]+)</span> <span class="n">(\d+)</span>', html)}
    assert sources["biometricupdate.com"] == 3 and sources["Bloomberg"] == 1
    href = [h for h in page.hrefs("/search?") if args_of(h).get("source") == ["Bloomberg"]][0]
    html2, page2 = get(client, href)
    assert "1 result for" in page2.text
    assert "Source: Bloomberg" in page2.text  # a chip
    active = page2.find("a", class_="is-active", **{"aria-current": "true"})
    assert any("source" not in args_of(a["href"]) for a in active)  # the active facet removes itself

    _, page3 = get(client, "/search?q=megvii&tag=surveillance")
    assert "1 result for" in page3.text and "Tag: surveillance" in page3.text


def test_date_presets_include_years_from_the_facet(client):
    _, page = get(client, "/search?q=megvii")
    presets = page.find("ul", class_="presets")
    assert presets
    year = [h for h in page.hrefs("/search?") if args_of(h).get("from") == ["2019"] and args_of(h).get("to") == ["2019"]]
    assert year and args_of(year[0])["q"] == ["megvii"]
    assert any(t == "a" and "This year" for t, _ in page.tags)


def test_timeline_bars_are_svg_links_that_narrow_to_their_month(client):
    html, page = get(client, "/search?q=surveillance")
    assert "<svg" in html and 'class="timeline-chart"' in html
    bars = [a for t, a in page.tags if t == "a" and "bar" in (a.get("class") or "").split()]
    months = sorted((args_of(b["href"])["from"][0], args_of(b["href"])["to"][0]) for b in bars)
    assert months == [("2019-05", "2019-05"), ("2019-06", "2019-06")]
    heights = [int(a["height"]) for t, a in page.tags if t == "rect" and a.get("class") == "bar-fill"]
    assert len(heights) == 2 and all(h > 0 for h in heights)
    # the empty months of the year are drawn but are not links
    assert len([1 for t, a in page.tags if t == "rect" and a.get("class") == "bar-empty"]) == 10
    june = [b["href"] for b in bars if "2019-06" in b["href"]][0]
    _, page2 = get(client, june)
    assert "3 results" in page2.text and "Date: June 2019" in page2.text  # with the "2019" article


def test_pagination_and_sort(client):
    _, page1 = get(client, "/search?q=megvii&size=2")
    assert "Page 1 of 3" in page1.text
    nxt = page1.find("a", rel="next")[0]["href"]
    assert args_of(nxt) == {"q": ["megvii"], "size": ["2"], "page": ["2"]}
    assert not page1.find("a", rel="prev")
    assert page1.find("a", **{"aria-current": "page"})[0]["href"] == "/search?q=megvii&size=2"
    first = set(page1.hrefs("/articles/"))
    _, page2 = get(client, nxt)
    assert "Page 2 of 3" in page2.text
    assert page2.find("a", rel="prev")[0]["href"] == "/search?q=megvii&size=2"
    assert page2.find("ol", class_="hits")[0]["start"] == "3"
    second = set(page2.hrefs("/articles/"))
    assert first.isdisjoint(second) and len(second) == 2
    _, page3 = get(client, page2.find("a", rel="next")[0]["href"])
    assert not page3.find("a", rel="next")
    _, past = get(client, "/search?q=megvii&size=2&page=9")
    assert "past the last result" in past.text

    _, newest = get(client, "/search?q=megvii&sort=newest")
    dates = [a["datetime"] for t, a in newest.tags if t == "time"]
    assert dates[:2] == ["2019-06-10", "2019-06-06"]
    assert newest.find("a", class_="is-active", **{"aria-current": "true"})
    sort_links = [h for h in newest.hrefs("/search?") if args_of(h).get("sort") == ["oldest"]]
    assert sort_links


def test_filters_alone_browse_the_archive(client):
    _, page = get(client, "/search")
    assert "5 results in the archive" in page.text
    _, page = get(client, "/?from=2019-05&to=2019-05")  # / with arguments searches too
    assert "3 results" in page.text


# -- article ------------------------------------------------------------------------------


def test_article_page_highlights_links_first_match_related_and_back(client, seed_ids):
    doc = seed_ids["000"]
    html, page = get(client, f"/articles/{doc}?q=surveillance&from=2019&page=1&size=2")
    assert_site_look(page)
    assert_no_inline_code(html, page)
    assert page.find("h1", id="article-title")
    assert "Megvii cleared of supplying biometrics" in page.text
    assert "6 June 2019" in page.text and "biometricupdate.com" in page.text
    assert html.count("<mark") >= 2
    assert html.count('<mark id="first-match">') == 1
    assert html.index('<mark id="first-match">') == html.index("<mark")
    assert page.find("a", href="#first-match")
    # back to the same results (query and filters kept)
    back = page.find("nav", class_="back") and [h for h in page.hrefs("/search")][0]
    assert args_of(back) == {"q": ["surveillance"], "from": ["2019"], "size": ["2"]}
    # related articles link to article pages, still carrying the search
    related = [h for h in page.hrefs("/articles/") if doc not in h]
    assert len(related) >= 2 and all(args_of(h)["q"] == ["surveillance"] for h in related)
    assert "Related articles" in page.text
    # the original https URL is a link
    orig = [a for t, a in page.tags if t == "a" and (a.get("href") or "").startswith("https://www.biometricupdate.com/")]
    assert orig and "noopener" in orig[0]["rel"]


def test_article_without_query_has_no_marks_and_backs_to_the_archive(client, seed_ids):
    html, page = get(client, f"/articles/{seed_ids['003']}")
    assert "<mark" not in html and "#first-match" not in html
    assert "Back to the archive" in page.text
    assert "2019" in page.text


def test_article_with_a_bad_search_argument_still_renders(client, seed_ids):
    html, page = get(client, f"/articles/{seed_ids['001']}?q=megvii&from=nonsense")
    assert "<mark" in html
    back = [h for h in page.hrefs("/search")][0]
    assert args_of(back) == {"q": ["megvii"]}


# -- errors --------------------------------------------------------------------------------


def test_unknown_article_is_a_404_in_the_site_look(client):
    html, page = get(client, "/articles/no-such-article?q=x", status=404)
    assert_site_look(page)
    assert "Page not found" in page.text and "no article at this address" in page.text
    _, page = get(client, "/no/such/page", status=404)
    assert_site_look(page)
    assert "no page at this address" in page.text
    # the API keeps its JSON errors
    resp = client.get("/api/no-such-thing")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    resp = client.get("/api/articles/no-such-article")
    assert resp.status_code == 404 and resp.get_json()["error"]["param"] == "id"


@pytest.mark.parametrize("query, param, words", [
    ("q=surveillance&from=2019-13&to=2020&source=Bloomberg", "from", "not a real date"),
    ("q=surveillance&to=June", "to", "Check the dates"),
    ("q=surveillance&from=2020&to=2019", "from", "cannot be after the end date"),
    ("q=surveillance&sort=best", "sort", "relevance, newest or oldest"),
    ("q=surveillance&page=0", "page", "starting at 1"),
    ("q=surveillance&size=abc", "size", "from 1 to 100"),
])
def test_bad_filters_are_a_400_that_explains_and_keeps_the_form(client, query, param, words):
    html, page = get(client, f"/search?{query}", status=400)
    assert_site_look(page)
    assert "Error 400" in page.text
    assert words.lower() in page.text.lower()
    assert page.find("input", name="q", type="search")[0]["value"] == "surveillance"
    if param in ("from", "to"):
        bad = page.find("input", id=param)[0]
        assert bad["aria-invalid"] == "true" and "autofocus" in bad
        assert bad["value"] == parse_qs(query)[param][0]
    # the hidden state of the search box drops the bad parameter, so searching again works
    assert all(a.get("name") != param for a in page.find("input", type="hidden"))
    if "source" in query:
        assert page.find("input", type="hidden", name="source", value="Bloomberg")
    # the API still answers the same mistake in JSON
    assert client.get(f"/api/search?{query}").get_json()["error"]["param"] == param


def test_missing_index_is_a_503_page_never_a_traceback(tmp_path):
    app = create_app({"INDEX_DIR": str(tmp_path / "nothing-here"), "TESTING": True})
    client = app.test_client()
    for url in ("/", "/search?q=x", "/articles/abc"):
        resp = client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 503 and resp.mimetype == "text/html", url
        assert resp.headers["Retry-After"] == "30"
        assert "not available right now" in html and "Traceback" not in html
        assert str(tmp_path) not in html  # no server paths in public pages
        assert_site_look(Page(html))
    resp = client.get("/api/search?q=x")
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "index_unavailable"


def test_echoed_query_is_escaped(client):
    html, page = get(client, "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert page.find("input", name="q")[0]["value"] == SCRIPT  # the box keeps it, as text
    assert_no_inline_code(html, page)
    html, _ = get(client, "/search?q=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E&from=2019", status=200)
    assert IMG not in html
    html, _ = get(client, "/search?q=x&from=%3Cscript%3E", status=400)
    assert "<script>" not in html.replace('<script src="/static/site.js" defer></script>', "")


@pytest.mark.parametrize("url", [
    "/", "/search?q=megvii", "/articles/none", "/search?from=bad", "/api/search?q=megvii",
    "/api/search?from=bad", "/healthz", "/api/openapi.json", "/static/site.css", "/search.atom?q=megvii",
])
def test_security_headers_on_every_response(client, url):
    resp = client.get(url)
    resp.close()
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers.get(name) == value, (url, name)


def test_static_assets_are_local(client):
    for path in ("/static/site.css", "/static/site.js", "/static/favicon.svg"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        body = resp.get_data(as_text=True)
        resp.close()
        assert "http://" not in body.replace("http://www.w3.org/2000/svg", "") and "https://" not in body
        assert "@import" not in body and "url(" not in body  # no fonts or images fetched


# -- hostile corpus --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("hostile-corpus")
    (corpus / "evil.txt").write_text(
        f"Zanzibar {SCRIPT} cloves {IMG} report\n\n"
        f"The clove harvest in Zanzibar fell sharply this season, growers said. {SCRIPT} Prices at the "
        "market rose by a third, and exporters warned of shortages later in the year.\n\n"
        f"Traders said {IMG} the weather had been the main cause. Farmers in Pemba reported similar "
        "losses, and the island's cooperative asked for help from the government.\n\n"
        f"Article Topics\nZanzibar | {SCRIPT} | {SVG} | cloves\n", "utf-8")
    (corpus / "undated.txt").write_text(
        "Zanzibar spice traders look to new markets\n\n"
        "Spice traders in Zanzibar are looking to new markets in Asia after a poor clove harvest this "
        "season. Exporters said prices had risen sharply and buyers were cautious about the coming months.\n\n"
        "Officials said the government would support farmers through the next planting season.\n", "utf-8")
    (corpus / "manifest.jsonl").write_text(json.dumps(
        {"file": "evil.txt", "url": "javascript:alert(1)", "date": "2020-03-04", "source": f"{IMG} Times"}) + "\n", "utf-8")
    index = tmp_path_factory.mktemp("hostile-index")
    run_indexer(corpus, index, "--quiet")
    app = create_app({"INDEX_DIR": str(index), "TESTING": True})
    yield app
    app.extensions["search_engine"].close()


def assert_only_escaped(html: str) -> None:
    for raw in (SCRIPT, IMG, SVG, "onerror=alert(1)>", "onload=alert(1)>"):
        assert raw not in html, raw
    assert "javascript:" not in "".join(re.findall(r'href="([^"]*)"', html)).lower()


def test_hostile_document_is_escaped_everywhere(hostile_app):
    client = hostile_app.test_client()
    api = client.get("/api/search?q=zanzibar").get_json()
    evil = [h for h in api["hits"] if h["path"] == "evil.txt"][0]
    assert SCRIPT in evil["title"] and IMG in evil["source"]  # the indexer kept the text as text
    assert SCRIPT in evil["tags"] and SVG in evil["tags"]
    assert evil["url"] == "javascript:alert(1)"

    html, page = get(client, "/search?q=zanzibar")
    assert_only_escaped(html)
    assert_no_inline_code(html, page)
    assert SCRIPT in page.text and IMG in page.text and SVG in page.text  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<mark>Zanzibar</mark>" in html
    assert "undated" in page.text

    html, page = get(client, f"/articles/{evil['id']}?q=zanzibar+{SCRIPT}")
    assert_only_escaped(html)
    assert_no_inline_code(html, page)
    assert "javascript:alert(1)" in page.text  # shown as plain text, not a link
    assert not page.find("a", href="javascript:alert(1)")
    assert "<mark" in html and SCRIPT in page.text and IMG in page.text

    for url in (f"/search?tag={SCRIPT}", f"/search?source={IMG}+Times", f"/search?q=zanzibar&tag={SVG}"):
        html, page = get(client, url)
        assert_only_escaped(html)
        assert "1 result" in page.text, url


def test_undated_articles_hidden_by_a_date_filter_are_counted(hostile_app):
    client = hostile_app.test_client()
    _, page = get(client, "/search?q=zanzibar&from=2020")
    assert "1 undated article hidden by the date filter" in page.text
    assert "1 result for" in page.text


# -- presentation helpers (pure) ---------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("2019-06-06", "6 June 2019"), ("2019-05", "May 2019"), ("2019", "2019"), (None, "undated"), ("", "undated"),
])
def test_human_date(value, expected):
    assert present.human_date(value) == expected


@pytest.mark.parametrize("url, expected", [
    ("https://example.org/a?b=1", "https://example.org/a?b=1"),
    ("http://example.org", "http://example.org"),
    ("HTTPS://EXAMPLE.ORG/", "HTTPS://EXAMPLE.ORG/"),
    ("javascript:alert(1)", None), (" javascript:alert(1)", None), ("JaVaScRiPt:alert(1)", None),
    ("data:text/html,<script>", None), ("//evil.example/x", None), ("http:///nohost", None),
    ("vbscript:x", None), ("", None), (None, None), ("http://[::1", None),
])
def test_safe_url(url, expected):
    assert present.safe_url(url) == expected


def test_article_paragraphs_anchor_the_first_mark_and_keep_marks_whole():
    paras = present.article_paragraphs(Markup("One &lt;b&gt; <mark>a</mark>.\n\nTwo <mark>b\n\nc</mark> end.\n\nThree"))
    assert [str(p) for p in paras] == [
        'One &lt;b&gt; <mark id="first-match">a</mark>.',
        "Two <mark>b\n\nc</mark> end.",
        "Three",
    ]
    assert all(isinstance(p, Markup) for p in paras)


def _response(args: dict, facets: dict) -> SearchResponse:
    from search.results import IndexState

    return SearchResponse(request=parse_search_request(args), total=sum(facets.get("year", {}).values()),
                          hits=[], facets=facets, took_ms=1.0, index=IndexState())


def test_timeline_pads_short_spans_to_whole_years_and_switches_to_years_over_long_spans():
    tl = present.timeline(_response({"q": "x"}, {"year": {"2019": 3}, "month": {"2019-05": 1, "2019-06": 2}}))
    assert tl.unit == "month" and len(tl.bars) == 12 and tl.first == "January 2019" and tl.last == "December 2019"
    june = tl.bars[5]
    assert june.count == 2 and june.height == tl.height - 4 and args_of(june.href) == {"q": ["x"], "from": ["2019-06"], "to": ["2019-06"]}
    assert tl.bars[0].href is None
    long = {"year": {"1990": 1, "2020": 1}, "month": {"1990-01": 1, "2020-12": 1}}
    tl = present.timeline(_response({}, long))
    assert tl.unit == "year" and len(tl.bars) == 31 and tl.bars[0].label == "1990"
    assert present.timeline(_response({}, {"year": {}, "month": {}})) is None


def test_page_links_window():
    res = _response({"page": "7", "size": "1"}, {"year": {"2019": 20}})
    labels = [link.label if link else "…" for link in present.page_links(res)]
    assert labels == ["1", "…", "5", "6", "7", "8", "9", "…", "20"]
    assert [link.active for link in present.page_links(res) if link][3]


def test_partial_matches_say_which_words_they_lack(client):
    html, page = get(client, "/search?q=blacklisting+xinjiang")
    assert "have all of your words" in page.text or "has all of your words" in page.text
    assert page.find("p", class_="missing")
    assert re.findall(r'<p class="missing">Missing: <s>(\w+)</s></p>', html)
    assert set(re.findall(r'<p class="missing">Missing: <s>(\w+)</s></p>', html)) <= {"blacklisting", "xinjiang"}
