"""Session indexes for the search and API tests: the seeds plus two exact copies of one
seed and one hostile document, indexed by the real indexer (``python -m indexer``).

While the indexer on this branch cannot run yet, the same corpus is written through
``common.documents`` directly (the fallback below, marked by ``REAL_INDEXER``); delete
the fallback once the indexer has landed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from whoosh import index as windex

from common.dates import PubDate
from common.documents import Article, FileState, article_fields, duplicate_fields
from common.layout import CURRENT, VERSIONS, current_version
from common.schema import build_schema
from conftest import SEEDS, run_indexer

XSS_BODY = (
    'Zanzibar clove harvest report.\n\n<script>alert("owned")</script> The clove '
    "harvest in Zanzibar fell sharply this season, growers said, & prices rose.\n"
)
COPIES = ("copies/a/000_copy.txt", "copies/b/000_copy.txt")
SEED_DATES = {"000": "2019-06-06", "001": "2019-05", "002": "2019-05", "003": "2019", "004": "2019-06-10"}
FURNITURE = {"FB pixel", "ADVERTISEMENT"}


def write_corpus(dest: Path) -> Path:
    """Seeds + two copies of seed 000 + an XSS document."""
    shutil.copytree(SEEDS, dest)
    first = sorted(SEEDS.glob("000_*.txt"))[0]
    for rel in COPIES:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(first, dest / rel)
    (dest / "zz_xss.txt").write_text(XSS_BODY, "utf-8")
    return dest


def _fallback_index(corpus: Path, index_dir: Path) -> None:
    manifest = {}
    for line in (corpus / "manifest.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            manifest[rec["file"]] = rec
    version = index_dir / VERSIONS / "fallback"
    version.mkdir(parents=True)
    ix = windex.create_in(str(version), build_schema())
    seen: dict[str, str] = {}
    with ix.writer() as w:
        for path in sorted(p for p in corpus.rglob("*.txt")):
            rel = path.relative_to(corpus).as_posix()
            lines = [ln for ln in path.read_text("utf-8").splitlines() if ln.strip() and ln.strip() not in FURNITURE]
            title, body = lines[0].strip(), "\n\n".join(lines[1:])
            digest = hashlib.sha1(body.encode()).hexdigest()
            doc_id = rel.rsplit(".", 1)[0].replace("/", "--")
            state = FileState(rel, path.stat().st_size, path.stat().st_mtime_ns, digest)
            if digest in seen:
                w.add_document(**duplicate_fields(doc_id, state, digest, seen[digest]))
                continue
            seen[digest] = doc_id
            date = SEED_DATES.get(rel[:3]) if "/" not in rel else None
            art = Article(
                id=doc_id, path=rel, title=title, body=body, content_hash=digest,
                url=manifest.get(rel, {}).get("url"),
                source="biometricupdate.com" if rel[:3] in ("000", "001", "002") else None,
                date=PubDate.parse(date) if date else None,
            )
            w.add_document(**article_fields(art, state))
    (index_dir / CURRENT).symlink_to(Path(VERSIONS) / "fallback")


REAL_INDEXER = True


@pytest.fixture(scope="session")
def search_index(tmp_path_factory) -> Path:
    """INDEX_DIR of the test corpus (real indexer when it runs, else the fallback)."""
    global REAL_INDEXER
    corpus = write_corpus(tmp_path_factory.mktemp("search-corpus") / "corpus")
    index_dir = tmp_path_factory.mktemp("search-index")
    proc = run_indexer(corpus, index_dir, "--quiet", check=False)
    if proc.returncode != 0 or current_version(index_dir) is None:
        REAL_INDEXER = False
        shutil.rmtree(index_dir)
        index_dir.mkdir()
        _fallback_index(corpus, index_dir)
    return index_dir
