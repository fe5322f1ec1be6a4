"""Watching in a real browser (Playwright driving Debian's Chromium), JavaScript on and off:
save a search from the results page, let the indexer add an article, read the new match;
upload a watchlist through the form."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from app import create_app
from conftest import ROOT, SEEDS, run_indexer

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "browser-operator-token"

pytestmark = [
    pytest.mark.browser, pytest.mark.slow,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium package (`make browser`)"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

STORIES = {
    True: ("zanzibar", "Zanzibar clove harvest falls\n\nThe clove harvest in Zanzibar fell sharply this season, "
                       "growers said on Monday, and prices rose at the Stone Town auction.\n"),
    False: ("kilimanjaro", "Kilimanjaro coffee growers expand\n\nCoffee growers on the slopes of Kilimanjaro "
                           "planted new trees this season, a cooperative said on Tuesday.\n"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from waitress.server import create_server

    corpus = tmp_path_factory.mktemp("bw") / "corpus"
    index = tmp_path_factory.mktemp("bw-index")
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    app = create_app({"INDEX_DIR": str(index), "ADMIN_TOKEN": TOKEN})
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield corpus, index, f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def page(request, browser):
    ctx = browser.new_context(java_script_enabled=request.param, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
          and not msg.text.startswith("Failed to load resource") else None)
    pg.js = request.param
    yield pg
    ctx.close()
    assert not errors, errors


def test_watch_a_search_and_read_its_new_match(page, site):
    corpus, index, url = site
    word, story = STORIES[page.js]
    page.goto(f"{url}/search?q={word}")
    page.get_by_role("link", name="Watch this search").click()
    page.wait_for_url("**/watching/new?q=" + word)
    page.get_by_label("Name").fill(f"{word.title()} news")
    page.get_by_label("Operator's token").fill(TOKEN)
    page.get_by_role("button", name="Watch this search").click()
    page.wait_for_url("**/watching/*")
    assert page.locator("h1").inner_text() == f"{word.title()} news"
    assert "No new matches yet" in page.locator("main").inner_text()

    (corpus / f"{word}.txt").write_text(story, "utf-8")
    run_indexer(corpus, index, "--quiet")

    page.goto(f"{url}/watching")
    item = page.locator(".watch-list li", has_text=f"{word.title()} news")
    assert item.locator(".badge-new").inner_text() == "1 new"
    item.get_by_role("link", name=f"{word.title()} news").click()
    match = page.locator(".matches li")
    assert match.count() == 1 and "new" in match.locator(".badge-new").inner_text()
    title = story.split("\n", 1)[0]
    assert match.get_by_role("link").inner_text() == title
    page.screenshot(path=str(ARTIFACTS / f"watch-{'js' if page.js else 'nojs'}.png"), full_page=True)
    match.get_by_role("link").click()
    page.wait_for_url("**/articles/**")
    assert page.locator("h1").inner_text() == title
    page.goto(f"{url}/watching")  # seen now: no badge
    assert page.locator(".watch-list li", has_text=f"{word.title()} news").locator(".badge-new").count() == 0


def test_upload_a_watchlist_through_the_form(page, site):
    _corpus, _index, url = site
    page.goto(f"{url}/watching")
    if page.get_by_label("Operator's token").count():
        page.locator("form.upload").get_by_label("Operator's token").fill(TOKEN)
    name = f"Suppliers {'js' if page.js else 'nojs'}"
    page.get_by_label("Name of the list").fill(name)
    page.get_by_label("… or paste names, one per line").fill("Megvii\nHuman Rights Watch\nNobody Known\n")
    page.get_by_role("button", name="Upload the watchlist").click()
    page.wait_for_url("**/watchlists/*")
    assert page.locator("h1").inner_text() == name
    rows = page.locator(".rows-table tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).locator("td").first.inner_text().startswith("5")
    assert rows.nth(2).locator("td").first.inner_text().startswith("0")
