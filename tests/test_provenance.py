"""Article versions, diffs and story clusters on real runs of the real indexer over the seeds.

The corpus: the seeds, an exact copy of seed 002 at a second path (another outlet, a later
date), a syndicated copy of seed 003 (new headline, wire header and footer, a paragraph
cut) and a page with hostile markup. A second run follows an edit of seed 003 and of the
hostile page, as a stealth edit would.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from app import create_app
from common.layout import STATE_DB
from conftest import SEEDS, run_indexer
from search.diff import word_diff_html
from search.request import RequestError, parse_search_request

from provenance_corpus import HOSTILE, NEAR, add_manifest, build_provenance_corpus, seed, syndicate


@pytest.fixture(scope="module")
def prov(tmp_path_factory):
    """(corpus, index) after a first run and a second run with two stealth edits."""
    return build_provenance_corpus(tmp_path_factory.mktemp("prov") / "corpus", tmp_path_factory.mktemp("prov-index"))


@pytest.fixture(scope="module")
def client(prov):
    return create_app({"INDEX_DIR": str(prov[1])}).test_client()


def article_id(client, path: str) -> str:
    hits = client.get("/api/search?size=100&copies=all").get_json()["hits"]
    found = [h["id"] for h in hits if h["path"] == path]
    if found:
        return found[0]
    # an exact copy is not a hit of its own: find it among its article's duplicates
    from indexer.pipeline import doc_id_for
    return doc_id_for(path)


def test_edited_seed_has_two_versions_and_the_diff_names_the_changed_words(client):
    doc_id = article_id(client, seed("003").name)
    art = client.get(f"/api/articles/{doc_id}").get_json()
    versions = art["versions"]
    assert len(versions) == 2
    assert versions[0]["title"] == "Rights Group Corrects Report Linking Megvii to Xinjiang Police"
    assert versions[1]["title"] == art["title"] == "Rights Group Retracts Megvii Claim"
    assert versions[0]["seen"] <= versions[1]["seen"]
    assert versions[0]["content_hash"] != versions[1]["content_hash"]
    html = client.get(f"/api/articles/{doc_id}/diff?from=0&to=1").get_json()["html"]
    assert "<del>withdrawn</del>" in html and "<ins>withdrew</ins>" in html
    assert "<ins>quietly</ins>" in html
    assert "<del>Corrects Report Linking</del><ins>Retracts</ins>" in html
    back = client.get(f"/api/articles/{doc_id}/diff?from=1&to=0").get_json()["html"]
    assert "<ins>withdrawn</ins>" in back and "<del>withdrew</del>" in back
    same = client.get(f"/api/articles/{doc_id}/diff?from=1&to=1").get_json()["html"]
    assert "<del>" not in same and "<ins>" not in same


def test_unedited_articles_have_one_version(client):
    doc_id = article_id(client, seed("000").name)
    versions = client.get(f"/api/articles/{doc_id}").get_json()["versions"]
    assert len(versions) == 1


def test_changed_and_headline_changed_filters(client):
    changed = client.get("/api/search?changed=true&size=100").get_json()
    assert sorted(h["path"] for h in changed["hits"]) == sorted([seed("003").name, HOSTILE])
    headline = client.get("/api/search?headline_changed=true&size=100").get_json()
    assert [h["path"] for h in headline["hits"]] == [seed("003").name]
    words = client.get("/api/search?q=megvii&changed=true").get_json()
    assert [h["path"] for h in words["hits"]] == [seed("003").name]
    everything = client.get("/api/search?changed=false&size=100").get_json()
    assert everything["total"] > changed["total"]


def test_hostile_text_is_escaped_in_diffs(client):
    doc_id = article_id(client, HOSTILE)
    html = client.get(f"/api/articles/{doc_id}/diff?from=0&to=1").get_json()["html"]
    assert "<script>" not in html and "<b>" not in html.replace("</b>", "") and "<i>" not in html
    assert "&lt;script&gt;" in html
    assert "&amp;" in html
    assert "<del>" in html and "<ins>" in html
    page = client.get(f"/articles/{doc_id}/diff?from=0&to=1").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;v2&#34;)&lt;/b&gt;&lt;i&gt;" in page
    article_page = client.get(f"/articles/{doc_id}").get_data(as_text=True)
    assert "2 versions" in article_page and "<script>alert" not in article_page


def test_exact_copy_at_two_paths_is_one_cluster_first_published_marked(client):
    hits = client.get("/api/search?q=hikvision+blacklisting").get_json()["hits"]
    top = hits[0]
    assert top["path"] == seed("002").name
    cluster = top["cluster"]
    assert cluster["size"] == 2
    kinds = {m["id"]: m["kind"] for m in cluster["members"]}
    assert kinds[top["id"]] == "near" and sorted(kinds.values()) == ["exact", "near"]
    assert cluster["first_published"] == {"id": top["id"], "source": top["source"], "date": top["date"]}
    assert cluster["outlets"] == [top["source"], "Mirror Daily"]
    assert top["duplicates"] == [m for m in kinds if m != top["id"]]  # unchanged contract


def test_syndicated_copy_collapses_into_one_hit(client):
    q = "/api/search?q=megvii+xinjiang+assertion"
    collapsed = client.get(q).get_json()
    paths = [h["path"] for h in collapsed["hits"]]
    assert seed("003").name in paths and NEAR not in paths
    hit = collapsed["hits"][paths.index(seed("003").name)]
    assert hit["cluster"]["first_published"]["id"] == hit["id"]
    assert [m["kind"] for m in hit["cluster"]["members"]] == ["near", "near"]
    assert hit["cluster"]["outlets"] == ["Bloomberg", "Example Wire"]
    every = client.get(q + "&copies=all").get_json()
    assert every["total"] == collapsed["total"] + 1
    assert NEAR in [h["path"] for h in every["hits"]]
    near = [h for h in every["hits"] if h["path"] == NEAR][0]
    assert near["cluster"]["first_published"]["id"] == hit["id"]  # listed, still marked as a copy
    assert collapsed["facets"]["outlets"].get("2", 0) >= 1
    assert sum(collapsed["facets"]["outlets"].values()) == collapsed["total"]


def test_the_copy_wins_when_only_it_matches(client):
    """A word only the syndicated copy has (its headline) finds the copy, cluster attached."""
    res = client.get("/api/search?q=watchdog+drops+claim").get_json()
    assert [h["path"] for h in res["hits"]][:1] == [NEAR]
    assert res["hits"][0]["cluster"]["size"] == 2


def test_article_page_lists_versions_copies_and_last_change(client):
    doc_id = article_id(client, seed("003").name)
    page = client.get(f"/articles/{doc_id}").get_data(as_text=True)
    assert "2 versions" in page and "Rights Group Corrects Report Linking Megvii to Xinjiang Police" in page
    assert "<del>withdrawn</del>" in page and "<ins>withdrew</ins>" in page
    assert "Copies of this story" in page and "Example Wire" in page and "first published" in page
    results = client.get("/search?q=megvii+xinjiang+assertion").get_data(as_text=True)
    assert "Also published by 1 outlet" in results and "Example Wire" in results


@pytest.mark.parametrize("query,status,param", [
    ("from=0", 400, "to"),
    ("to=1", 400, "from"),
    ("from=-1&to=1", 400, "from"),
    ("from=0&to=2", 400, "to"),
    ("from=abc&to=1", 400, "from"),
    ("from=9999999&to=0", 400, "from"),
])
def test_diff_bad_indexes_are_400(client, query, status, param):
    doc_id = article_id(client, seed("003").name)
    r = client.get(f"/api/articles/{doc_id}/diff?{query}")
    assert r.status_code == status
    assert r.get_json()["error"]["param"] == param
    page = client.get(f"/articles/{doc_id}/diff?{query}")
    assert page.status_code == 400 and "text/html" in page.content_type


def test_diff_of_unknown_article_is_404(client):
    r = client.get("/api/articles/nope/diff?from=0&to=1")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("args,field,value", [
    ({"copies": "all"}, "copies", "all"),
    ({"copies": " COLLAPSE "}, "copies", "collapse"),
    ({}, "copies", "collapse"),
    ({"changed": "true"}, "changed", True),
    ({"changed": "0"}, "changed", False),
    ({"headline_changed": "yes"}, "headline_changed", True),
])
def test_parse_provenance_parameters(args, field, value):
    assert getattr(parse_search_request(args), field) == value


@pytest.mark.parametrize("args,param", [
    ({"copies": "some"}, "copies"),
    ({"changed": "maybe"}, "changed"),
    ({"headline_changed": ["true", "false"]}, "headline_changed"),
])
def test_bad_provenance_parameters(args, param):
    with pytest.raises(RequestError) as err:
        parse_search_request(args)
    assert err.value.param == param


@pytest.mark.parametrize("old,new,expected", [
    ("a b c", "a c", "a <del>b</del> c"),
    ("a b c", "a x c", "a <del>b</del><ins>x</ins> c"),
    ("a <b> c", "a <i> c", "a <del>&lt;b&gt;</del><ins>&lt;i&gt;</ins> c"),
    ("one.\n\ntwo", "one.\n\ntwo\n\nthree", "one.\n\ntwo\n\n<ins>three</ins>"),
    ("same", "same", "same"),
])
def test_word_diff(old, new, expected):
    assert word_diff_html(old, new) == expected


def test_state_survives_rebuild_and_replays_record_nothing_twice(prov, tmp_path):
    """A --rebuild, a no-change run and a touched file replay the writes: no new rows."""
    corpus, index = prov
    work = tmp_path / "index"
    shutil.copytree(index, work, symlinks=True)

    def counts():
        with sqlite3.connect(work / STATE_DB) as con:
            return (con.execute("SELECT COUNT(*) FROM versions").fetchone()[0],
                    con.execute("SELECT cluster, COUNT(*) FROM story_members GROUP BY cluster HAVING COUNT(*) > 1"
                                " ORDER BY cluster").fetchall())

    before = counts()
    run_indexer(corpus, work, "--rebuild", "--quiet")
    assert counts() == before
    (corpus / seed("001").name).touch()
    run_indexer(corpus, work, "--quiet")
    assert counts() == before


def versions_by_path(index: Path) -> dict[str, list[str]]:
    """Titles of each story's versions, keyed by the path of the file that carried it."""
    client = create_app({"INDEX_DIR": str(index)}).test_client()
    out = {}
    for h in client.get("/api/search?size=100&copies=all").get_json()["hits"]:
        art = client.get(f"/api/articles/{h['id']}").get_json()
        out[h["path"]] = [v["title"] for v in art["versions"]]
    return out


@pytest.mark.slow
def test_revert_re_scrape_under_a_new_name_and_a_removed_copy(tmp_path):
    """An edit and its revert are two changes; a page saved again under another file name
    (same URL in the manifest) adds a version to its story; removing a copy splits it off."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for name in ("001", "003"):
        shutil.copy(seed(name), corpus / seed(name).name)
    lines = [json.loads(line) for line in (SEEDS / "manifest.jsonl").read_text("utf-8").splitlines()]
    url_001 = [e for e in lines if e["file"].startswith("001_")][0]["url"]
    add_manifest(corpus, [e for e in lines if e["file"].startswith(("001_", "003_"))])
    (corpus / NEAR).parent.mkdir()
    (corpus / NEAR).write_text(syndicate(seed("003").read_text("utf-8")), "utf-8")
    run_indexer(corpus, index, "--quiet")
    path = corpus / seed("001").name
    original = path.read_text("utf-8")
    path.write_text(original.replace("Human Rights Watch has identified", "Human Rights Watch named"), "utf-8")
    run_indexer(corpus, index, "--quiet")
    path.write_text(original, "utf-8")
    run_indexer(corpus, index, "--quiet")
    titles = versions_by_path(index)
    assert len(titles[seed("001").name]) == 3  # original, edit, revert

    rescrape = corpus / "rescrape" / "megvii-accused.txt"
    rescrape.parent.mkdir()
    rescrape.write_text(original.replace("Megvii accused of providing", "Megvii accused of supplying", 1), "utf-8")
    add_manifest(corpus, [{"file": "rescrape/megvii-accused.txt", "url": url_001.replace("https://www.", "http://")}])
    run_indexer(corpus, index, "--quiet")
    titles = versions_by_path(index)
    assert titles[seed("001").name] == titles["rescrape/megvii-accused.txt"]
    assert len(titles[seed("001").name]) == 4 and titles[seed("001").name][-1].startswith("Megvii accused of supplying")

    client = create_app({"INDEX_DIR": str(index)}).test_client()
    hit = client.get("/api/search?q=megvii+xinjiang+withdrawn").get_json()["hits"][0]
    assert hit["cluster"]["size"] == 2
    (corpus / NEAR).unlink()
    run_indexer(corpus, index, "--quiet")
    hit = client.get("/api/search?q=megvii+xinjiang+withdrawn").get_json()["hits"][0]
    assert hit["path"] == seed("003").name and hit["cluster"] is None


@pytest.mark.parametrize("when", ["after_flush", "before_flush"])
def test_killed_between_versions_and_commit_records_once(tmp_path, monkeypatch, when):
    """The worst moments: the run dies just after (or before) the versions are written and
    before the index commit. The next run replays the file: one version, none lost."""
    from indexer import provenance
    from indexer.run import RunOptions
    from indexer.run import run_indexer as run_in_process

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    run_in_process(RunOptions(corpus, index, workers=1))
    path = corpus / seed("000").name
    path.write_text(path.read_text("utf-8").replace("Megvii", "Megvii Technology", 1), "utf-8")
    real_flush = provenance.Provenance.flush

    def dying_flush(self):
        if when == "after_flush":
            real_flush(self)
        if self.ops or when == "after_flush":
            raise KeyboardInterrupt  # stands in for SIGKILL at this exact point

    with monkeypatch.context() as m:
        m.setattr(provenance.Provenance, "flush", dying_flush)
        with pytest.raises(KeyboardInterrupt):
            run_in_process(RunOptions(corpus, index, workers=1))
    summary = run_in_process(RunOptions(corpus, index, workers=1))
    assert summary.updated == 1  # the edit was not committed by the killed run
    with sqlite3.connect(index / STATE_DB) as con:
        rows = con.execute("SELECT doc_id, content_hash FROM versions ORDER BY seq").fetchall()
    assert len(rows) == len(set(rows)) == 6  # five seeds + the edit, once
    client = create_app({"INDEX_DIR": str(index)}).test_client()
    doc_id = article_id(client, seed("000").name)
    art = client.get(f"/api/articles/{doc_id}").get_json()
    assert [v["content_hash"] for v in art["versions"]][-1] == rows[-1][1]
    assert len(art["versions"]) == 2


def test_edits_facet_and_sidebar(client):
    res = client.get("/api/search?size=100").get_json()
    assert res["facets"]["edits"] == {"changed": 2, "headline_changed": 1}
    assert sum(res["facets"]["outlets"].values()) == res["total"]
    page = client.get("/search?q=megvii").get_data(as_text=True)
    assert "Changed after first seen" in page and "Headline changed" in page
    assert "Published by" in page and "2 outlets" in page
    filtered = client.get("/search?q=megvii&headline_changed=true").get_data(as_text=True)
    assert 'aria-current="true" class="is-active"><span class="facet-label">Headline changed' in filtered


def test_feed_and_csv_follow_copies(client):
    q = "q=megvii+xinjiang+assertion"
    assert "Watchdog drops claim" not in client.get(f"/search.atom?{q}").get_data(as_text=True)
    assert "Watchdog drops claim" in client.get(f"/search.atom?{q}&copies=all").get_data(as_text=True)
    assert "Watchdog drops claim" not in client.get(f"/search.csv?{q}").get_data(as_text=True)
    assert "Watchdog drops claim" in client.get(f"/search.csv?{q}&copies=all").get_data(as_text=True)


def test_word_diff_of_long_texts_stays_bounded():
    """A 5 MB page rewritten whole: paragraphs matched first, a huge changed block marked whole."""
    old = "\n\n".join(f"paragraph {i} " + "alpha beta gamma " * 40 for i in range(2000))
    new = old.replace("paragraph 7 ", "paragraph seven ") + "\n\n" + "omega " * 30_000
    html = word_diff_html(old, new)
    assert "<del>7</del><ins>seven</ins>" in html
    assert html.count("<ins>") == 2 and html.rstrip().endswith("omega</ins>")


def test_killed_after_early_provenance_flushes_records_once(tmp_path, monkeypatch):
    """A writer that flushes its provenance every call (as a rebuild's every PROVENANCE_OPS)
    and dies before its commit with one article's rows written: the replay records the
    edits once each, none lost."""
    from indexer import run
    from indexer.journal import Journal
    from indexer.run import RunOptions
    from indexer.run import run_indexer as run_in_process

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    run_in_process(RunOptions(corpus, index, workers=1))
    for n in ("000", "001"):
        path = corpus / seed(n).name
        text = path.read_text("utf-8")
        first = next(w for w in text.split() if len(w) > 5)
        path.write_text(text.replace(first, f"{first} edited", 1), "utf-8")
    real_add = Journal.add
    calls = []

    def dying_add(self, *args):
        calls.append(args)
        if len(calls) == 2:  # the second article: the first one's rows are flushed
            raise KeyboardInterrupt  # stands in for SIGKILL before the commit
        real_add(self, *args)

    def rows():
        with sqlite3.connect(index / STATE_DB) as con:
            return con.execute("SELECT doc_id, content_hash FROM versions ORDER BY seq").fetchall()

    with monkeypatch.context() as m:
        m.setattr(run, "PROVENANCE_OPS", 1)
        m.setattr(Journal, "add", dying_add)
        with pytest.raises(KeyboardInterrupt):
            run_in_process(RunOptions(corpus, index, workers=1))
    assert len(rows()) == 6  # the first edit's version, written before the commit
    summary = run_in_process(RunOptions(corpus, index, workers=1))
    assert summary.updated == 2  # neither edit was committed by the killed run
    assert len(rows()) == len(set(rows())) == 7
    client = create_app({"INDEX_DIR": str(index)}).test_client()
    for n in ("000", "001"):
        art = client.get(f"/api/articles/{article_id(client, seed(n).name)}").get_json()
        assert len(art["versions"]) == 2


def test_a_rebuild_never_searches_the_index_it_writes(tmp_path, monkeypatch):
    """A duplicate or skipped file new to the index is added, not updated: Whoosh's update
    opens a searcher over every committed segment (mapped whole into the writer's RSS);
    and a rebuild has no orphaned copies to look for in the index it just wrote."""
    from common.bulkwriter import BulkWriter
    from indexer.run import RunOptions
    from indexer.run import run_indexer as run_in_process

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "copy").mkdir()
    shutil.copy(corpus / seed("002").name, corpus / "copy" / "same-story.txt")
    (corpus / "empty.txt").write_text("\n", "utf-8")

    def no_searcher(self, **kwargs):
        raise AssertionError("the writer searched its own index")

    from whoosh.index import FileIndex

    monkeypatch.setattr(BulkWriter, "searcher", no_searcher)
    # nor at the end: a searcher over a 200k index took ~550 MB (its orphan search)
    monkeypatch.setattr(FileIndex, "searcher", no_searcher)
    summary = run_in_process(RunOptions(corpus, tmp_path / "index", rebuild=True, workers=1, batch_size=2))
    assert summary.duplicates == 1 and summary.skipped == 1


def test_a_run_records_one_first_seen_time_so_rebuilds_agree(tmp_path, monkeypatch):
    """Undated members of a story are ordered by when the indexer first saw them, then by
    id: that time is the run's start, one value per run, so which member represents the
    story cannot depend on the second each one happened to be written in (two rebuilds of
    the same folder picked different representatives). The provenance clock is made to
    tick on every call to show that nothing reads it per article."""
    from indexer import provenance
    from indexer.run import RunOptions
    from indexer.run import run_indexer as run_in_process

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    shutil.copy(corpus / seed("002").name, corpus / "copy-of-002.txt")
    (corpus / "wire-003.txt").write_text(syndicate(seed("003").read_text("utf-8")), "utf-8")
    ticks = iter(range(10_000))
    monkeypatch.setattr(provenance, "_now", lambda: f"2026-01-01T00:00:{next(ticks) % 60:02d}Z")
    members, started = [], []
    for _ in range(2):
        started.append(run_in_process(RunOptions(corpus, tmp_path / "index", rebuild=True, workers=1)).started)
        with sqlite3.connect(tmp_path / "index" / STATE_DB) as con:
            seen = {r[0] for r in con.execute("SELECT seen FROM story_members")}
            members.append(con.execute("SELECT cluster, doc_id FROM story_members ORDER BY doc_id").fetchall())
        assert seen == {started[0]}  # a rebuild keeps when each was first seen
    assert members[0] == members[1] and len(members[0]) >= 4
