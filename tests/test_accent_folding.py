"""Accents folded at analysis, on both sides: "Muller" finds "Müller" and "Müller" finds
"Muller", on real pages indexed by the real indexer; snippets still mark the words as
written; an index analysed before folding is rebuilt by the next indexer run."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from app import create_app
from common.analysis import fold, hyphen_parts, index_term, normalize, query_words
from common.codec import ArrayCodec
from common.layout import open_live_index
from common.schema import schema_matches
from conftest import SEEDS, run_indexer
from datasets import write_trafilatura_pages
from search.engine import SearchEngine
from search.request import SearchRequest

TOKEN = "fold-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Trafilatura pages: German ones writing "Müller", English/German ones writing "Muller"
# (0432, 0716, 0741), "Straßenpflaster" (0332), Spanish "José" (0846).
PAGES = ("0040", "0091", "0194", "0432", "0716", "0741", "0332", "0846")
_MARK = re.compile(r"<mark>([^<]*)</mark>")


@pytest.mark.parametrize("word,folded", [
    ("Müller", "muller"), ("MÜLLER", "muller"), ("Muller’s", "muller"), ("Straße", "strasse"),
    ("Æsop", "aesop"), ("Søren", "soren"), ("Łódź", "lodz"), ("Đorđe", "dorde"), ("Œuvre", "oeuvre"),
    ("José", "jose"), ("naïve", "naive"), ("Ｍüller", "muller"), ("ﬁnance", "finance"),
    ("Mueller", "mueller"),  # a transliteration is a variant, not an accent
    ("가나", "가나"), ("が", "が"),  # Hangul recomposed; a Japanese voicing mark kept
])
def test_normalize_folds_accents(word, folded):
    assert normalize(word) == folded
    assert query_words(word) == [folded]


def test_hyphen_part_offsets_point_at_the_written_word():
    text = "Die Groß-Berlin’s Pläne von Müller-Lüdenscheidt"
    for written in re.findall(r"\S+-\S+", text):
        term = index_term(written)
        parts = list(hyphen_parts(term, written))
        assert [fold(written[s:e].lower()) for _t, s, e in parts] == [p for p in term.split("-")]


def test_seeds_accented_query_finds_plain_text(seed_index):
    engine = SearchEngine(seed_index)
    try:
        plain = engine.search(SearchRequest(q="Megvii", size=20))
        accented = engine.search(SearchRequest(q="Mégvïí", size=20))
        assert plain.total == 5
        assert [h.id for h in accented.hits] == [h.id for h in plain.hits]
        assert all("<mark>Megvii</mark>" in h.snippet for h in accented.hits)
        # did-you-mean replaces a misspelt word written with an accent (its folded form is known)
        assert engine.search(SearchRequest(q="Survelánce in Xinjiang")).suggestion == "surveillance in Xinjiang"
    finally:
        engine.close()


@pytest.mark.slow
def test_index_from_before_folding_is_rebuilt(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    run_indexer(corpus, index, "--quiet")
    ix = open_live_index(index)
    with ix.writer(codec=ArrayCodec()) as w:  # commit the schema as the first analysis pickled it
        del vars(w.schema["body"].analyzer.items[1])["version"]
    assert not schema_matches(open_live_index(index).schema)
    summary = json.loads(run_indexer(corpus, index, "--json").stdout)
    assert summary["rebuild"] is True and summary["added"] == 5
    assert schema_matches(open_live_index(index).schema)


@pytest.fixture(scope="module")
def pages_index(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("fold-corpus")
    write_trafilatura_pages(corpus, PAGES)
    index = tmp_path_factory.mktemp("fold-index")
    run_indexer(corpus, index, "--quiet")
    return index


@pytest.fixture(scope="module")
def engine(pages_index):
    eng = SearchEngine(pages_index)
    yield eng
    eng.close()


def written(engine: SearchEngine, word: str) -> set[str]:
    """Ids of the articles whose title or text has ``word`` exactly as spelled."""
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
    ids = [h.id for h in engine.search(SearchRequest(size=100)).hits]
    return {i for i in ids if pattern.search(f"{engine.article(i).title}\n{engine.article(i).text}")}


def hits(engine: SearchEngine, q: str) -> dict[str, str]:
    return {h.id: h.snippet for h in engine.search(SearchRequest(q=q, size=100)).hits}


@pytest.mark.slow
@pytest.mark.parametrize("plain,accented", [("Muller", "Müller"), ("Jose", "José")])
def test_either_spelling_finds_both(engine, plain, accented):
    with_accent, without = written(engine, accented), written(engine, plain)
    assert with_accent, f"the pages write {accented}"
    by_plain, by_accent = hits(engine, plain), hits(engine, accented)
    assert set(by_plain) == set(by_accent) >= with_accent | without
    for doc in with_accent:  # the snippet marks the text as written, whatever the query's spelling
        assert accented in _MARK.findall(by_plain[doc])
    for doc in without - with_accent:
        assert plain in _MARK.findall(by_accent[doc])


@pytest.mark.slow
def test_muller_written_both_ways_in_the_pages(engine):
    assert written(engine, "Müller") and written(engine, "Muller") - written(engine, "Müller")


@pytest.mark.slow
def test_sharp_s_and_article_highlight(engine):
    found = hits(engine, "Strassenpflaster")
    assert set(found) == written(engine, "Straßenpflaster") and len(found) == 1
    doc = next(iter(found))
    assert _MARK.findall(found[doc]) == ["Straßenpflaster"]
    assert "<mark>Straßenpflaster</mark>" in engine.article(doc, q="strassenpflaster").text_html


@pytest.mark.slow
def test_watchlist_rows_match_either_spelling(pages_index, engine):
    client = create_app({"INDEX_DIR": str(pages_index), "ADMIN_TOKEN": TOKEN}).test_client()
    totals = {}
    for name in ("Muller", "Müller"):
        r = client.post(f"/api/watchlists?name=list-{name}", data=f"{name}\n".encode(), headers=AUTH)
        assert r.status_code == 201, r.get_json()
        totals[name] = client.get(f"/api/watchlists/{r.get_json()['id']}").get_json()["items"][0]["total"]
    both = written(engine, "Müller") | written(engine, "Muller")
    assert totals["Muller"] == totals["Müller"] == len(both)
