"""GET /search.csv: every match, spreadsheet-safe, equal to the API's totals."""

from __future__ import annotations

import csv
import io
import shutil

import pytest

from app import create_app
from conftest import SEEDS, SHARED_DATA, run_indexer
from datasets import reuters_stories, write_reuters_corpus
from watch.export import COLUMNS, plain_snippet, safe_cell

HOSTILE = {
    "formula.txt": '=HYPERLINK("http://evil.example/","click") zanzibar report\n\n'
                   "-2+3 zanzibar cloves were sold at @market prices, growers said today.\n",
    "plain.txt": "Zanzibar clove prices\n\nThe clove harvest in Zanzibar rose, growers said, & prices <b>fell</b>.\n",
}


def rows_of(body: bytes) -> list[dict]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.mark.parametrize("value,expected", [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-1", "'-1"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), (None, ""), ("2019-05", "2019-05"),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_plain_snippet():
    assert plain_snippet("a <mark>b</mark> &amp; &lt;c&gt;\n d") == "a b & <c> d"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("export") / "corpus"
    shutil.copytree(SEEDS, corpus)
    for name, text in HOSTILE.items():
        (corpus / name).write_text(text, "utf-8")
    index = tmp_path_factory.mktemp("export-index")
    run_indexer(corpus, index, "--quiet")
    return create_app({"INDEX_DIR": str(index)}).test_client()


def test_csv_is_every_match_in_api_order(client):
    r = client.get("/search.csv?q=megvii&sort=newest&size=1&page=3")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = rows_of(r.data)
    api = client.get("/api/search?q=megvii&sort=newest&size=100").get_json()
    assert list(rows[0].keys()) == list(COLUMNS)
    assert [row["id"] for row in rows] == [h["id"] for h in api["hits"]]
    assert len(rows) == api["total"] == int(r.headers["X-Total-Count"]) == 5
    first = api["hits"][0]
    assert rows[0]["date"] == first["date"] and rows[0]["path"] == first["path"]
    assert "<mark>" not in rows[0]["snippet"] and rows[0]["snippet"]


def test_csv_cells_cannot_run_as_formulas(client):
    rows = rows_of(client.get("/search.csv?q=zanzibar").data)
    assert len(rows) == 2
    formula = next(r for r in rows if r["path"] == "formula.txt")
    assert formula["title"].startswith("'=HYPERLINK")
    plain = next(r for r in rows if r["path"] == "plain.txt")
    assert "<b>fell</b>" in plain["snippet"] and "&amp;" not in plain["snippet"]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value


@pytest.mark.parametrize("url,status,param", [
    ("/search.csv?from=2019-13", 400, "from"),
    ("/search.csv?sort=sideways", 400, "sort"),
    ("/search.csv?q=" + "x" * 1001, 400, "q"),
])
def test_csv_bad_input_is_a_json_error(client, url, status, param):
    r = client.get(url)
    assert r.status_code == status
    assert r.get_json()["error"]["param"] == param


def test_results_page_links_the_csv(client):
    html = client.get("/search?q=megvii&from=2019").get_data(as_text=True)
    assert 'href="/search.csv?q=megvii&amp;from=2019"' in html


REUTERS = SHARED_DATA / "reuters21578" / "docs.jsonl.gz"


@pytest.mark.slow
@pytest.mark.skipif(not REUTERS.exists(), reason=f"{REUTERS} is missing (../shared/data)")
def test_csv_over_reuters_equals_api_totals(tmp_path):
    corpus, index = tmp_path / "reuters", tmp_path / "index"
    write_reuters_corpus(corpus, reuters_stories(limit=2500))
    run_indexer(corpus, index, "--quiet")
    client = create_app({"INDEX_DIR": str(index)}).test_client()
    for qs in ("q=", "q=oil", "q=oil+prices&sort=relevance", "q=bank&from=1987-03", "q=wheat+OR+grain&sort=oldest"):
        total = client.get(f"/api/search?{qs}").get_json()["total"]
        rows = rows_of(client.get(f"/search.csv?{qs}").data)
        assert len(rows) == total, qs
        assert len({r["id"] for r in rows}) == total, qs
    assert total > 0 and client.get("/api/search?q=").get_json()["total"] > 2000  # several chunks
