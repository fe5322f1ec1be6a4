"""Stories on several shards (indexer/solr_routes.py): every member of a story sits on its
story's shard, so Solr's collapse shows each story once, and when a later file bridges two
stories the members whose route changed move, even when the run is killed mid-move.

The corpus: for each seed, its long paragraphs cut in two halves, each half a page in its
own folder (two unrelated stories); a second run adds the whole text, which contains
both halves and so merges the two stories into one. Both sinks index the same runs; the
Solr run that merges is SIGKILLed right after it deleted the old copies of the moving
documents (before adding them under the new route), or right after that add (before
recording it), and the next run must finish the move.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

from app import create_app
from common.solr_http import SolrClient
from conftest import ROOT, SEEDS, run_indexer
from solr_cluster import index_into_solr, solr_cluster, solr_config  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow

# Runs the real indexer, SIGKILLing itself once the request that deletes the moving
# documents' old copies (or the one after it, the add) has been answered by Solr.
KILL_DRIVER = """
import os, signal, sys
from common import solr_http
real, after = solr_http.SolrClient.post_json, int(sys.argv[1])
seen = []
def post_json(self, handler, body, params=None):
    out = real(self, handler, body, params)
    if seen or (isinstance(body, dict) and any(isinstance(d, dict) and "_route_" in d for d in body.get("delete", []))):
        seen.append(1)
        if len(seen) > after:
            os.kill(os.getpid(), signal.SIGKILL)
    return out
solr_http.SolrClient.post_json = post_json
from indexer.__main__ import main
sys.exit(main(sys.argv[2:]))
"""
KILL_POINTS = {"after-delete": 0, "after-add": 1}
MOVED_FIELDS_IGNORED = {"_version_", "route", "cluster", "cluster_size", "cluster_outlets", "first_seen"}


def write_halves(corpus: Path) -> list[str]:
    """Each seed's long paragraphs as two pages (a/, b/); returns the seed names used."""
    names = []
    for path in sorted(SEEDS.glob("*.txt")):
        paras = [line for line in path.read_text("utf-8").splitlines() if len(line) > 200]
        if len(paras) < 4:
            continue
        half = len(paras) // 2
        for folder, part in (("a", paras[:half]), ("b", paras[half:])):
            (corpus / folder).mkdir(parents=True, exist_ok=True)
            (corpus / folder / path.name).write_text(f"{path.stem} part {folder}\n\n" + "\n\n".join(part) + "\n", "utf-8")
        names.append(path.name)
    return names


def add_wholes(corpus: Path, names: list[str]) -> None:
    """The whole text of each seed (c/): it contains both halves, so it bridges their stories."""
    (corpus / "c").mkdir()
    for name in names:
        paras = [line for line in (SEEDS / name).read_text("utf-8").splitlines() if len(line) > 200]
        (corpus / "c" / name).write_text(f"{Path(name).stem} whole\n\n" + "\n\n".join(paras) + "\n", "utf-8")


def shard_docs(client: SolrClient) -> dict[str, dict[str, dict]]:
    """shard name -> {id: stored document} of the articles and copies each shard holds."""
    out = {}
    for shard in ("shard1", "shard2"):
        data = client.get("select", [("q", "*:*"), ("fq", "kind:(article OR duplicate)"), ("shards", shard),
                                     ("fl", "*"), ("rows", "10000")])
        out[shard] = {d["id"]: d for d in data["response"]["docs"]}
    return out


def killed_run(cluster, corpus: Path, state: Path, collection: str, after: int) -> subprocess.CompletedProcess:
    args = ["--corpus", str(corpus), "--index", str(state), "--quiet", "--sink", "solr",
            "--solr-url", cluster.url, "--solr-collection", collection]
    return subprocess.run([sys.executable, "-c", KILL_DRIVER, str(after), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module", params=sorted(KILL_POINTS))
def merged(request, solr_cluster, tmp_path_factory):  # noqa: F811
    """Both backends over the merged corpus, with what Solr held before the merge and
    right after the killed run."""
    tmp = tmp_path_factory.mktemp(f"routes-{request.param}")
    corpus, index, state = tmp / "corpus", tmp / "index", tmp / "solr-state"
    collection = solr_cluster.create_collection(f"routes_{request.param.replace('-', '_')}")
    client = SolrClient(solr_cluster.url, collection)
    names = write_halves(corpus)
    run_indexer(corpus, index, "--quiet")
    index_into_solr(solr_cluster, corpus, state, collection)
    before = shard_docs(client)
    add_wholes(corpus, names)
    run_indexer(corpus, index, "--quiet")
    killed = killed_run(solr_cluster, corpus, state, collection, KILL_POINTS[request.param])
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with sqlite3.connect(state / "state.sqlite3") as con:
        pending = dict(con.execute("SELECT doc_id, old_route FROM solr_moves").fetchall())
    client.post_json("update", {"commit": {}})  # the worst case: another commit shows the killed run's delete
    at_kill = shard_docs(client)
    index_into_solr(solr_cluster, corpus, state, collection)
    apps = {"whoosh": create_app({"INDEX_DIR": str(index)}),
            "solr": create_app(solr_config(solr_cluster, collection, state))}
    yield {"names": names, "before": before, "pending": pending, "at_kill": at_kill, "after": shard_docs(client),
           "state": state, "clients": {k: a.test_client() for k, a in apps.items()}, "point": request.param}
    for a in apps.values():
        a.extensions["search_engine"].close()
    client.close()
    solr_cluster.admin(action="DELETE", name=collection)


def shard_of(docs: dict[str, dict[str, dict]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for shard, held in docs.items():
        for doc_id in held:
            out.setdefault(doc_id, []).append(shard)
    return out


def test_the_halves_started_on_different_shards(merged):
    """The precondition that makes the move real: some story pair straddled the shards."""
    where = shard_of(merged["before"])
    paths = {d["id"]: d["path"] for held in merged["before"].values() for d in held.values()}
    by_path = {p: where[i] for i, p in paths.items()}
    assert any(by_path[f"a/{n}"] != by_path[f"b/{n}"] for n in merged["names"])


def test_the_kill_hit_the_move(merged):
    """Killed after the delete: the moving documents are on no shard; after the add: on
    their new shard only. Either way the move is recorded for the next run."""
    assert merged["pending"]
    at_kill, after = shard_of(merged["at_kill"]), shard_of(merged["after"])
    for doc_id in merged["pending"]:
        expected = [] if merged["point"] == "after-delete" else after[doc_id]
        assert at_kill.get(doc_id, []) == expected, doc_id


def test_every_story_sits_on_one_shard_once(merged):
    where = shard_of(merged["after"])
    assert all(len(shards) == 1 for shards in where.values())
    story_shards: dict[str, set[str]] = {}
    for shard, held in merged["after"].items():
        for d in held.values():
            story_shards.setdefault(d["cluster"], set()).add(shard)
    assert all(len(s) == 1 for s in story_shards.values())
    assert len(story_shards) == len(merged["names"])  # each seed's halves and whole: one story
    with sqlite3.connect(merged["state"] / "state.sqlite3") as con:
        assert con.execute("SELECT COUNT(*) FROM solr_moves").fetchone() == (0,)


def test_moved_documents_keep_every_field(merged):
    before = {i: d for held in merged["before"].values() for i, d in held.items()}
    after = {i: d for held in merged["after"].values() for i, d in held.items()}
    moved = [i for i in before if shard_of(merged["before"])[i] != shard_of(merged["after"])[i]]
    assert moved
    for doc_id in moved:
        keep = lambda d: {k: v for k, v in d.items() if k not in MOVED_FIELDS_IGNORED}  # noqa: E731
        assert keep(after[doc_id]) == keep(before[doc_id]), doc_id


@pytest.mark.parametrize("args", [{"q": ""}, {"q": "megvii"}, {"q": "police report"}, {"q": "", "copies": "all"}],
                         ids=str)
def test_each_story_shows_once_as_on_whoosh(merged, args):
    w, s = (merged["clients"][b].get("/api/search?" + urlencode({**args, "size": 100})).get_json()
            for b in ("whoosh", "solr"))
    assert s["total"] == w["total"] and len(s["hits"]) == s["total"]
    if "copies" in args:
        assert sorted(h["path"] for h in s["hits"]) == sorted(h["path"] for h in w["hits"])
    else:  # which member stands for an undated story may differ (README, "Where Solr differs" (2))
        assert s["total"] <= len(merged["names"])
        members = {b: sorted(tuple(sorted(m["id"] for m in h["cluster"]["members"])) for h in d["hits"])
                   for b, d in (("w", w), ("s", s))}
        assert members["s"] == members["w"] and all(len(m) == 3 for m in members["s"])


@pytest.mark.parametrize("cluster, held, expected", [
    ("c1", [], "c1"),                      # a new story: its cluster id
    ("c1", ["r2"], "r2"),                  # a copy joins the route its story already has
    ("c1", ["r2", "r3", "r3"], "r3"),      # merged stories: the larger one stays, the smaller moves
    ("c1", ["r3", "r2"], "r2"),            # a tie: the smallest route, so every run picks the same
])
def test_story_route(cluster, held, expected):
    from indexer.solr_routes import story_route

    assert story_route(cluster, held) == expected
