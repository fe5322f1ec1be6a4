"""The server warms the analysis up before it accepts connections, so that the first
search after a start does not pay for importing NLTK (1.4-1.9 s on the seeds).

Checked without timing: after ``warm_up()``, a first search in a fresh process must not
import any NLTK module on its way.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT
from search_fixtures import search_index  # noqa: F401  (session fixture)

PROBE = """
import json, sys
from app import create_app
from common import analysis
if sys.argv[2] == "warm":
    analysis.warm_up()
before = {m for m in sys.modules if m.split(".")[0] == "nltk"}
client = create_app({"INDEX_DIR": sys.argv[1]}).test_client()
hits = client.get("/api/search?q=megvii+surveillance").get_json()["total"]
after = {m for m in sys.modules if m.split(".")[0] == "nltk"}
print(json.dumps({"hits": hits, "imported": sorted(after - before)}))
"""


def _first_search(index_dir, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(index_dir), mode], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_first_search_after_warm_up_imports_nothing(search_index):  # noqa: F811
    cold = _first_search(search_index, "cold")
    warm = _first_search(search_index, "warm")
    assert cold["hits"] == warm["hits"] > 0
    assert "nltk.stem.snowball" in cold["imported"]  # what the warm-up is for
    assert warm["imported"] == []


FORK_PROBE = """
import json, os, sys
from search import columns, clusters
from search.engine import SearchEngine
from search.request import SearchRequest
engine = SearchEngine(sys.argv[1])
engine.warm()
open_after_warm = len(engine._pool)
reads = []
for name, module in (("read_segment", columns), ("map_docs", clusters)):
    def counted(*a, _f=getattr(module, name), _n=name):
        reads.append(_n)
        return _f(*a)
    setattr(module, name, counted)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    res = engine.search(SearchRequest(q="megvii surveillance"))
    os.write(w, json.dumps({"total": res.total, "reads": reads}).encode())
    os._exit(0)
os.close(w)
child = json.loads(os.read(r, 65536))
os.waitpid(pid, 0)
res = engine.search(SearchRequest(q="megvii surveillance"))
print(json.dumps({"open_after_warm": open_after_warm, "child": child, "total": res.total, "reads": reads}))
"""


def test_warm_loads_columns_and_clusters_once_for_the_forked_processes(search_index):  # noqa: F811
    out = subprocess.run([sys.executable, "-c", FORK_PROBE, str(search_index)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["open_after_warm"] == 0  # no index file is shared across the fork
    assert got["child"]["total"] == got["total"] > 0
    assert got["child"]["reads"] == [] and got["reads"] == []  # neither process read them again
