"""End to end in a real browser: Playwright driving Debian's Chromium against the real app.

The app runs with waitress on 127.0.0.1 (a free port) in a background thread over a real
index of the seeds; each test opens a fresh browser context (JavaScript on or off).
Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from app import create_app
from conftest import ROOT, run_indexer

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_MS = 10_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium package (`make browser`)"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


class Server:
    """The real WSGI app served by waitress in a daemon thread; stopped by close()."""

    def __init__(self, index_dir: Path) -> None:
        from waitress.server import create_server

        self.app = create_app({"INDEX_DIR": str(index_dir)})
        self.server = create_server(self.app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def server(seed_index):
    srv = Server(seed_index)
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


def _page(browser, js: bool = True, width: int = 1280):
    ctx = browser.new_context(java_script_enabled=js, viewport={"width": width, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # an error page's own status shows up as a console error; CSP violations and script errors count
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document" else None)
    return ctx, page, errors


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def page(request, browser):
    ctx, page, errors = _page(browser, js=request.param)
    page.js = request.param
    yield page
    ctx.close()
    assert not errors, errors  # no CSP violations, script errors or failed loads


def result_count(page) -> int:
    text = page.locator("#results-heading").inner_text()
    return 0 if text.startswith("No results") else int(text.split()[0].replace(",", ""))


def test_search_filter_timeline_article_and_pages(page, server):
    """The reader's path: search, see highlights, filter by date, use the timeline, page, read."""
    page.goto(server.url + "/")
    box = page.get_by_label("Search the archive")
    if page.js:
        assert page.evaluate("document.activeElement.id") == "q"  # autofocus
    box.fill("megvii")
    box.press("Enter")
    page.wait_for_url("**/search?q=megvii")
    assert result_count(page) == 5
    assert page.locator(".hits mark").count() >= 5
    assert page.locator(".hits mark").first.inner_text().lower().startswith("megvii")

    # a date filter through the form changes the count
    page.get_by_label("From", exact=True).fill("2019-06")
    page.get_by_label("To", exact=True).fill("2019-06-30")
    page.get_by_role("button", name="Apply dates").click()
    page.wait_for_url("**from=2019-06**")
    assert result_count(page) == 3
    assert page.locator(".chip").count() == 2

    # remove both chips, then narrow with a timeline bar
    page.locator(".chip").first.click()
    page.locator(".chip").first.click()
    page.wait_for_function("document.querySelectorAll('.chip').length === 0")
    assert result_count(page) == 5
    page.locator("svg.timeline-chart a.bar").first.click()
    page.wait_for_url("**from=2019-05&to=2019-05**")
    assert result_count(page) == 3
    assert "Date: May 2019" in page.locator(".chips").inner_text()

    # page through results two at a time
    page.goto(server.url + "/search?q=megvii&size=2")
    seen = []
    for expected in (1, 2, 3):
        assert page.locator("[aria-current=page]").inner_text() == str(expected)
        seen += page.locator(".hit-title a").all_inner_texts()
        if expected < 3:
            page.get_by_role("link", name="Next →").click()
            page.wait_for_url(f"**page={expected + 1}**")
    assert len(seen) == 5 and len(set(seen)) == 5
    assert page.get_by_role("link", name="Next →").count() == 0

    # open an article: its highlights, the first-match link, and the way back
    page.locator(".hit-title a").first.click()
    page.wait_for_url("**/articles/**")
    assert page.locator(".article-body mark").count() >= 1
    page.get_by_role("link", name="Jump to the first match").click()
    page.wait_for_url("**#first-match")
    assert page.locator("mark#first-match").is_visible()
    page.locator("nav.back a").click()
    page.wait_for_url("**/search?q=megvii&page=3&size=2")


def test_suggestion_and_no_results(page, server):
    page.goto(server.url + "/search?q=survelance")
    page.get_by_role("link", name="surveillance").first.click()
    page.wait_for_url("**/search?q=surveillance")
    assert result_count(page) == 5
    page.goto(server.url + "/search?q=qqqzzz")
    assert "Nothing in the archive matches" in page.locator("main").inner_text()


def test_bad_date_is_explained_and_corrected_in_place(page, server):
    page.goto(server.url + "/search?q=megvii&from=2019-13")
    assert "error 400" in page.locator("main").inner_text().lower()
    field = page.get_by_label("From", exact=True)
    assert field.input_value() == "2019-13"
    field.fill("2019-06")
    page.get_by_role("button", name="Search with these dates").click()
    page.wait_for_url("**from=2019-06**")
    assert result_count(page) == 3


def test_keyboard_shortcuts(browser, server):
    ctx, page, errors = _page(browser)
    try:
        page.goto(server.url + "/search?q=megvii")
        page.keyboard.press("j")
        first = page.locator(".hit-title a").nth(0)
        assert page.evaluate("document.activeElement.textContent") == first.inner_text()
        page.keyboard.press("j")
        page.keyboard.press("ArrowDown")
        assert page.evaluate("document.activeElement.textContent") == page.locator(".hit-title a").nth(2).inner_text()
        page.keyboard.press("k")
        assert page.evaluate("document.activeElement.textContent") == page.locator(".hit-title a").nth(1).inner_text()
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "q"
        assert page.locator(".kbd-hint").is_visible()
        assert not errors, errors
    finally:
        ctx.close()


@pytest.mark.parametrize("path", ["/", "/search?q=surveillance+china", "ARTICLE", "/search?q=megvii&from=2019-13"])
def test_narrow_screen_has_no_horizontal_scroll(browser, server, path):
    ctx, page, errors = _page(browser, width=375)
    try:
        if path == "ARTICLE":
            page.goto(server.url + "/search?q=surveillance")
            page.locator(".hit-title a").first.click()
            page.wait_for_url("**/articles/**")
        else:
            page.goto(server.url + path)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
        assert page.get_by_label("Search the archive").is_visible()
    finally:
        ctx.close()


def test_screenshots(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 375):
        ctx, page, errors = _page(browser, width=width)
        try:
            page.goto(server.url + "/")
            page.screenshot(path=str(ARTIFACTS / f"home-{width}.png"), full_page=True)
            page.goto(server.url + "/search?q=surveillance+china&size=3")
            page.screenshot(path=str(ARTIFACTS / f"search-{width}.png"), full_page=True)
            page.locator(".hit-title a").first.click()
            page.wait_for_url("**/articles/**")
            page.screenshot(path=str(ARTIFACTS / f"article-{width}.png"), full_page=True)
            page.goto(server.url + "/search?q=megvii&from=2019-13")
            page.screenshot(path=str(ARTIFACTS / f"error-400-{width}.png"), full_page=True)
            assert not errors, errors
        finally:
            ctx.close()
    assert (ARTIFACTS / "search-1280.png").stat().st_size > 10_000
    assert (ARTIFACTS / "article-1280.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    script, img, svg = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg onload=alert(1)>"
    corpus = tmp_path_factory.mktemp("hostile-browser-corpus")
    (corpus / "evil.txt").write_text(
        f"Zanzibar {script} cloves {img} report\n\n"
        f"The clove harvest in Zanzibar fell sharply this season, growers said. {script} Prices at the "
        "market rose by a third, and exporters warned of shortages later in the year.\n\n"
        f"Traders said {img} the weather had been the main cause. Farmers in Pemba reported similar "
        "losses, and the island's cooperative asked for help from the government.\n\n"
        f"Article Topics\nZanzibar | {script} | {svg} | cloves\n", "utf-8")
    (corpus / "manifest.jsonl").write_text(json.dumps(
        {"file": "evil.txt", "url": "javascript:alert(1)", "date": "2020-03-04", "source": f"{img} Times"}) + "\n", "utf-8")
    index = tmp_path_factory.mktemp("hostile-browser-index")
    run_indexer(corpus, index, "--quiet")
    srv = Server(index)
    yield srv
    srv.close()


def test_hostile_document_runs_no_script(page, hostile_server):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(hostile_server.url + "/search?q=zanzibar+%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    main = page.locator("main").inner_text()
    assert "<script>alert(1)</script>" in main and "<img src=x onerror=alert(1)>" in main
    assert "<svg onload=alert(1)>" in main
    page.locator(".hit-title a").first.click()
    page.wait_for_url("**/articles/**")
    text = page.locator("main").inner_text()
    assert "<script>alert(1)</script>" in text and "javascript:alert(1)" in text
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.locator("main script, main img, main svg").count() == 0
    page.wait_for_timeout(200)
    assert dialogs == []


# -- provenance: versions, diffs, story clusters ------------------------------------------------


@pytest.fixture(scope="module")
def provenance_server(tmp_path_factory):
    """Seeds with an exact copy, a syndicated copy and a hostile page, then stealth edits."""
    from provenance_corpus import build_provenance_corpus

    _corpus, index = build_provenance_corpus(tmp_path_factory.mktemp("prov-browser") / "corpus",
                                             tmp_path_factory.mktemp("prov-browser-index"))
    srv = Server(index)
    srv.app.test_client().get("/search?q=megvii")  # open the index once, before the clock runs
    yield srv
    srv.close()


def test_collapsed_cluster_hit_links_every_copy(page, provenance_server):
    """One hit for the story, its other outlet named and linked; copies=all lists both."""
    page.goto(provenance_server.url + "/search?q=megvii+xinjiang+assertion")
    hits = page.locator(".hit")
    titles = hits.locator(".hit-title").all_inner_texts()
    assert "Rights Group Retracts Megvii Claim" in titles
    hit = hits.filter(has_text="Rights Group Retracts Megvii Claim")
    line = hit.locator(".cluster-line")
    assert "First published" in line.inner_text() and "Also published by 1 outlet" in line.inner_text()
    assert not any("Watchdog drops claim" in t for t in titles)  # the copy is folded into the story
    line.get_by_role("link", name="list copies separately").click()
    page.wait_for_url("**copies=all**")
    assert any("Watchdog drops claim" in t for t in page.locator(".hit-title").all_inner_texts())
    page.go_back()
    page.locator(".cluster-line .copy-link", has_text="Example Wire").first.click()
    page.wait_for_url("**/articles/**")
    assert "Watchdog drops claim" in page.locator("h1").inner_text()
    copies = page.locator(".story-copies")
    assert "first published" in copies.inner_text() and "Bloomberg" in copies.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"cluster-copy-{'js' if page.js else 'nojs'}.png"), full_page=True)


def test_versions_view_and_diff_of_any_two(page, provenance_server):
    """The article lists its versions, shows the last change, and compares any two."""
    page.goto(provenance_server.url + "/search?q=rights+group+retracts")
    page.locator(".hit-title a").first.click()
    page.wait_for_url("**/articles/**")
    versions = page.locator("#versions")
    assert versions.locator("h2").text_content() == "2 versions"
    assert versions.locator(".version-list li").count() == 2
    assert versions.locator(".diff del").first.inner_text() == "Corrects Report Linking"
    assert versions.locator(".diff ins").first.inner_text() == "Retracts"
    assert page.locator(".diff del").first.evaluate("e => getComputedStyle(e).textDecorationLine") == "line-through"
    page.locator("select[name=from]").select_option("1")
    page.locator("select[name=to]").select_option("0")
    page.get_by_role("button", name="Show changes").click()
    page.wait_for_url("**/diff?from=1&to=0")
    body = page.locator(".article-body")
    assert "withdrew" in body.locator("del").all_inner_texts() and "withdrawn" in body.locator("ins").all_inner_texts()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"diff-{'js' if page.js else 'nojs'}.png"), full_page=True)


def test_hostile_diff_runs_no_script(page, provenance_server):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(provenance_server.url + "/search?q=harbour+authority")
    page.locator(".hit-title a").first.click()
    page.wait_for_url("**/articles/**")
    text = page.locator("#versions").inner_text()
    assert '<script>alert("v2")</b><i>' in text
    page.get_by_role("button", name="Show changes").click()
    page.wait_for_url("**/diff?**")
    assert '<script>alert("v1")</script>' in page.locator("main").inner_text()
    assert page.locator("main script, main i, main b").count() == 0
    page.wait_for_timeout(200)
    assert dialogs == []
