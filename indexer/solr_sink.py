"""The indexer's Solr sink: the same scan, cleaning and article records, sent to SolrCloud.

`python -m indexer --sink solr` (or SEARCH_BACKEND=solr) runs this instead of the Whoosh
writer. ``--index DIR`` then holds only the run lock, the file record
(``solr-state.sqlite``) and the cleaner's furniture counts: Solr is the index.

Each batch is one update request with ``commit=true``; the batch's file records are
written only after Solr answered it, so a kill (or a lost node) at any moment loses
nothing: the next run sends again whatever was not recorded. Exact copies become
``duplicate`` documents pointing at their article, as in the Whoosh index.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from common.documents import Article, FileState, source_key
from common.schema import KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED
from common.solr_http import SolrClient, SolrRequestError, SolrUnavailable
from indexer import solr_clusters, solr_edits, solr_routes
from indexer.corpus import CorpusFile, load_manifest, scan_corpus
from indexer.furniture import FurnitureStats
from common.procs import die_with_parent
from indexer.pipeline import Job, Result, doc_id_for, group_key, line_keys, preload, process_file
from indexer.provenance import Provenance
from indexer.run import FatalError, RunOptions, Summary, run_folders
from indexer.solr_routes import ROUTE_FIELD
from indexer.solr_state import FileRecord, SolrState
from indexer.store import RunLock

RUN_DOC_ID = "_indexer_last_run"  # the document holding the last run's summary
KIND_RUN = "run"


def solr_time(dt) -> str:
    """A naive UTC datetime as Solr's date syntax, to the millisecond."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def article_doc(article: Article, run_id: str) -> dict:
    """The Solr document of an article (field names of solr/configset/schema.xml)."""
    tags = [t.replace(",", " ").strip() for t in article.tags if t.strip()]
    doc = {
        "id": article.id, "kind": KIND_ARTICLE, "path": article.path, "run_id": run_id,
        "content_hash": article.content_hash, "title": article.title, "body": article.body,
        "url": article.url, "author": article.author, "source": article.source or None,
        "source_key": source_key(article.source), "tags": tags, "tag_keys": [t.lower() for t in tags],
        "dated": article.date is not None,
    }
    if article.date is not None:
        d = article.date
        doc.update(date=d.iso(), date_precision=d.precision, date_start=solr_time(d.start),
                   date_end=solr_time(d.end), year=f"{d.year:04d}")
        if d.precision != "year":
            doc["month"] = f"{d.year:04d}-{d.month:02d}"
    return {k: v for k, v in doc.items() if v is not None}  # no empty source in the facets


def copy_fields(article: Article) -> dict:
    """What a story cluster lists of an exact copy: its own outlet and date."""
    out = {"source": article.source or None, "date": article.date.iso() if article.date else None}
    if article.date is not None:
        out["date_start"] = solr_time(article.date.start)
    return {k: v for k, v in out.items() if v is not None}


def record_doc(rec: FileRecord, run_id: str, reason: str = "") -> dict:
    """The Solr document of a duplicate or skipped file: which article it copies, or why."""
    doc = {"id": rec.id, "kind": rec.kind, "path": rec.path, "run_id": run_id,
           "content_hash": rec.content_hash, "dup_of": rec.dup_of}
    if reason:
        doc["skip_reason"] = reason
    return doc


@dataclass
class _Batch:
    docs: list[dict] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    records: list[FileRecord] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)


def run_solr_indexer(opts: RunOptions, client: SolrClient) -> Summary:
    """Bring the Solr collection up to date with opts.corpus; the record lives in opts.index_dir."""
    corpus, state_dir = run_folders(opts, "state")
    t0 = time.time()
    summary = Summary(rebuild=opts.rebuild, corpus=str(corpus), started=_now())
    summary.index_version = f"solr:{client.collection}"
    with RunLock(state_dir):
        state = SolrState(state_dir)
        run = None
        try:
            run = _SolrRun(opts, client, state, summary)
            run.run(corpus)
        except SolrUnavailable as exc:
            raise FatalError(f"{exc}; files not confirmed by Solr are sent again by the next run") from exc
        except SolrRequestError as exc:
            raise FatalError(
                f"Solr refused a batch ({exc}); files not confirmed are sent again by the next run: "
                "check the cluster (all shards need a live replica) and the collection's configset"
            ) from exc
        finally:
            if run is not None:
                run.close()
            state.close()
    summary.seconds = round(time.time() - t0, 3)
    summary.finished = _now()
    _send_summary(client, summary)
    return summary


def check_router(client: SolrClient) -> None:
    """Refuse a collection not routed by ``route``: its shards would split stories."""
    try:
        data = client.admin("collections", {"action": "CLUSTERSTATUS", "collection": client.collection})
        router = data["cluster"]["collections"][client.collection].get("router") or {}
    except (SolrRequestError, KeyError) as exc:
        raise FatalError(f"Solr has no collection {client.collection!r} ({exc}); create it (see the README)") from exc
    if router.get("field") != ROUTE_FIELD:
        raise FatalError(
            f"collection {client.collection!r} is not routed by story (router.field={router.get('field')}): "
            f"create a collection with router.field={ROUTE_FIELD} from the current configset and run "
            "`python -m indexer --sink solr --rebuild` into it")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _send_summary(client: SolrClient, summary: Summary) -> None:
    """Store the run summary in the collection, so every search node can show it."""
    import json

    data = summary.to_dict() | {"skipped_files": summary.skipped_files[:100]}
    doc = {"id": RUN_DOC_ID, ROUTE_FIELD: RUN_DOC_ID, "kind": KIND_RUN, "run": json.dumps(data, ensure_ascii=False)}
    try:
        client.post_json("update", [doc], {"commit": "true"})
    except (SolrUnavailable, SolrRequestError) as exc:
        raise FatalError(f"the collection was updated, but the run summary could not be sent ({exc})") from exc


class _SolrRun:
    """One run: diff the corpus against the record, then send confirmed batches."""

    def __init__(self, opts: RunOptions, client: SolrClient, state: SolrState, summary: Summary):
        self.opts, self.client, self.state, self.summary = opts, client, state, summary
        self.run_id = f"{_now()}-{os.getpid()}"
        self.furniture = FurnitureStats.load(Path(opts.index_dir))
        self.records = state.load()
        self.canonical = {r.content_hash: r.id for r in self.records.values() if r.kind == KIND_ARTICLE}
        self.provenance = Provenance(Path(opts.index_dir), seen=summary.started)  # versions and clusters, as the Whoosh run
        self.clusters = solr_clusters.connect(Path(opts.index_dir))
        solr_edits.prepare(self.clusters)
        solr_routes.migrate(self.clusters)
        self.routed = False  # the collection's router is checked before the first update

    def close(self) -> None:
        self.provenance.close()
        self.clusters.close()

    def run(self, corpus: Path) -> None:
        self._finish_moves()
        scan = scan_corpus(corpus, self.opts.max_bytes)
        self.manifest = load_manifest(corpus)
        self.corpus = corpus.resolve()
        for item in scan.skipped + self.manifest.problems:
            self.summary.skip(item)
        jobs, removed = self._diff(scan.files)
        batch = _Batch()
        for path in removed:
            rec = self.records.pop(path)
            batch.deletes.append(rec.id)
            batch.removed_paths.append(path)
            self.provenance.forget(rec.id)
            if rec.kind == KIND_ARTICLE and self.canonical.get(rec.content_hash) == rec.id:
                del self.canonical[rec.content_hash]
        self.summary.removed += len(removed)
        if jobs:
            preload(html=any(job.file.kind == "html" for job, _ in jobs))
        ctx = multiprocessing.get_context("fork")
        # workers die with the run (a SIGKILLed run leaves none cleaning), as in indexer/run.py
        with ctx.Pool(max(1, self.opts.workers), initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            total, done = len(jobs), 0
            for chunk in _chunks(jobs, self.opts.batch_size):
                for result in self._process(pool, chunk):
                    self._add(batch, result)
                    done += 1
                    if self.opts.progress:
                        self.opts.progress(done, total)
                self._send(batch)
                batch = _Batch()
            self._send(batch)
            self._promote_orphans(pool)
        # Cluster rows of documents no record holds (a run killed before its batch was
        # confirmed): forgotten, and the clusters they bridged re-split and re-sent.
        self.provenance.sweep({r.id for r in self.records.values()})
        self._send(_Batch())
        if self.opts.rebuild:
            # Documents no file record sent in this run: removed files a lost record forgot.
            self.client.post_json("update", {"delete": {"query": f"*:* -run_id:\"{self.run_id}\" -kind:{KIND_RUN}"}},
                                  {"commit": "true"})

    def _diff(self, files: list[CorpusFile]) -> tuple[list[tuple[Job, FileRecord | None]], list[str]]:
        """(files to process, removed paths); touched-but-same files only get their record refreshed."""
        jobs, touched, seen = [], [], set()
        for f in files:
            seen.add(f.rel)
            old = self.records.get(f.rel)
            meta_hash = self.manifest.entry_hash(f.rel)
            if old and not self.opts.rebuild:
                if (old.size, old.mtime_ns, old.meta_hash) == (f.size, f.mtime_ns, meta_hash):
                    self.summary.unchanged += 1
                    continue
                if old.meta_hash == meta_hash and _file_hash(f) == old.file_hash:
                    touched.append(FileRecord(f.rel, old.id, old.kind, f.size, f.mtime_ns, old.file_hash,
                                              meta_hash, old.content_hash, old.dup_of))
                    self.summary.unchanged += 1
                    continue
            jobs.append((Job(f, doc_id_for(f.rel), self.manifest.entry(f.rel), meta_hash), old))
        if touched:
            self.state.commit(touched, [])
        return jobs, [p for p in self.records if p not in seen]

    def _process(self, pool, batch: list[tuple[Job, FileRecord | None]]) -> Iterator[tuple[Result, FileRecord | None]]:
        """Feed the cleaner's corpus signal, then clean the batch in worker processes."""
        for group, keys in pool.imap(line_keys, [job for job, _ in batch], chunksize=16):
            if keys:
                self.furniture.add(group, keys)
        cache: dict[str, frozenset[str]] = {}
        jobs = []
        for j, _ in batch:
            g = group_key(j.file.rel, j.manifest)
            if g not in cache:
                cache[g] = self.furniture.furniture(g)
            jobs.append(Job(j.file, j.doc_id, j.manifest, j.meta_hash, cache[g]))
        yield from zip(pool.imap(process_file, jobs, chunksize=8), (old for _, old in batch))

    def _add(self, batch: _Batch, item: tuple[Result, FileRecord | None], count: bool = True) -> None:
        """Turn one cleaned file into its Solr document and its pending record."""
        result, old = item
        st: FileState = result.state
        doc_id = result.job.doc_id
        if old is not None and old.kind == KIND_ARTICLE and self.canonical.get(old.content_hash) == doc_id:
            del self.canonical[old.content_hash]
        if result.skip is not None:
            if count:
                self.summary.skip(result.skip)
            rec = FileRecord(st.path, doc_id, KIND_SKIPPED, st.size, st.mtime_ns, st.file_hash, st.meta_hash, "")
            batch.docs.append(record_doc(rec, self.run_id, result.skip.reason))
            self.provenance.forget(doc_id)
        else:
            article = result.article
            owner = self.canonical.get(article.content_hash)
            if owner is not None and owner != doc_id:
                rec = FileRecord(st.path, doc_id, KIND_DUPLICATE, st.size, st.mtime_ns, st.file_hash,
                                 st.meta_hash, article.content_hash, owner)
                batch.docs.append(record_doc(rec, self.run_id) | copy_fields(article))
                self.provenance.copy(article, owner)
                self.summary.duplicates += count
            else:
                self.canonical[article.content_hash] = doc_id
                rec = FileRecord(st.path, doc_id, KIND_ARTICLE, st.size, st.mtime_ns, st.file_hash,
                                 st.meta_hash, article.content_hash)
                batch.docs.append(article_doc(article, self.run_id))
                self.provenance.article(article, result.signature)
                if count and old is None:
                    self.summary.added += 1
                elif count:
                    self.summary.updated += 1
        self.records[st.path] = rec
        batch.records.append(rec)

    def _send(self, batch: _Batch) -> None:
        """One update for the batch; the record is written only once Solr confirmed it.

        Story clusters and versions are recorded first (as before a Whoosh commit: a
        replay records nothing twice); the batch's documents carry their cluster, edit
        and route fields; documents sent earlier whose cluster, outlet count or edit state
        changed get an atomic update in the same request, and those whose story's route
        changed move to its shard (recorded first, see indexer/solr_routes.py).
        """
        self.provenance.flush()
        sent = [d["id"] for d in batch.docs]
        cluster_of = solr_clusters.pending(self.clusters, sent)
        edits = solr_edits.pending(self.clusters, [d["id"] for d in batch.docs if d["kind"] == KIND_ARTICLE])
        if not (batch.docs or batch.deletes or cluster_of):
            return
        self._check_router()
        plan = solr_routes.plan(self.clusters, sent, list(cluster_of) + list(edits))
        docs = batch.docs + self._fetch_moving(plan, set(sent))
        for doc in docs:
            doc[ROUTE_FIELD] = plan.routes[doc["id"]]
        updates = self._updates(docs, cluster_of, edits, plan.routes)
        solr_routes.record_moves(self.clusters, docs, plan.moves)
        deletes = batch.deletes + solr_routes.deletes(plan.moves)
        if deletes:  # before the adds: a moving document's old copy goes first, even on the same shard
            self.client.post_json("update", {"delete": deletes}, {"commit": "false"})
        self.client.post_json("update", docs + updates, {"commit": "true", "failOnVersionConflicts": "false"})
        self.state.commit(batch.records, batch.removed_paths)
        solr_clusters.confirm(self.clusters, cluster_of)
        solr_routes.confirm(self.clusters, {d["id"]: d[ROUTE_FIELD] for d in docs}, batch.deletes)
        self.furniture.save(Path(self.opts.index_dir))

    def _check_router(self) -> None:
        if not self.routed:
            check_router(self.client)
            self.routed = True

    def _fetch_moving(self, plan: solr_routes.Plan, sent: set[str]) -> list[dict]:
        """The documents sent earlier that must move, as Solr holds them (real-time get at
        their old route); one Solr no longer holds is dropped from the plan."""
        by_route: dict[str, list[str]] = {}
        for doc_id, old in plan.moves.items():
            if doc_id not in sent:
                by_route.setdefault(old, []).append(doc_id)
        docs = []
        for old, ids in sorted(by_route.items()):
            data = self.client.get("get", [("ids", ",".join(ids)), ("_route_", old)])
            docs += [{k: v for k, v in d.items() if k != "_version_"} for d in data["response"]["docs"]]
        found = {d["id"] for d in docs}
        for doc_id in [d for d in plan.moves if d not in sent and d not in found]:
            del plan.moves[doc_id]
        return docs

    def _finish_moves(self) -> None:
        """Finish the moves a killed run recorded: delete the old copy, add the recorded document."""
        docs, moves = solr_routes.pending_moves(self.clusters)
        if not docs:
            return
        self._check_router()
        self.client.post_json("update", {"delete": solr_routes.deletes(moves)}, {"commit": "false"})
        self.client.post_json("update", docs, {"commit": "true"})
        solr_routes.confirm(self.clusters, {d["id"]: d[ROUTE_FIELD] for d in docs}, [])

    def _updates(self, docs: list[dict], cluster_of: dict, edits: dict, routes: dict[str, str]) -> list[dict]:
        """Set the batch's cluster and edit fields; atomic updates (at each document's route)
        for documents sent earlier."""
        by_id = {d["id"]: d for d in docs}
        updates: dict[str, dict] = {}
        for doc_id, values in cluster_of.items():
            if doc_id in by_id:
                by_id[doc_id].update(solr_clusters.fields(*values))
            else:
                updates[doc_id] = solr_clusters.atomic_update(doc_id, *values)
        for doc_id, state in edits.items():
            if doc_id in by_id:
                by_id[doc_id].update(solr_edits.fields(*state))
            else:
                updates[doc_id] = updates.get(doc_id, {}) | solr_edits.atomic_update(doc_id, *state)
        for doc_id, update in updates.items():
            update[ROUTE_FIELD] = routes.get(doc_id, doc_id)  # a plain value: routes the update
        return list(updates.values())

    def _promote_orphans(self, pool) -> None:
        """Clean again the copies whose article was removed or changed, so no copy is lost."""
        jobs = []
        for rec in sorted(self.records.values(), key=lambda r: r.path):
            if rec.kind == KIND_DUPLICATE and self.canonical.get(rec.content_hash) != rec.dup_of:
                f = CorpusFile(rec.path, self.corpus / rec.path, rec.size, rec.mtime_ns)
                jobs.append((Job(f, rec.id, self.manifest.entry(rec.path), rec.meta_hash), rec))
        batch = _Batch()
        for item in self._process(pool, jobs) if jobs else ():
            self._add(batch, item, count=False)
        self._send(batch)


def _file_hash(f: CorpusFile) -> str:
    try:
        return hashlib.sha1(f.abs.read_bytes()).hexdigest()
    except OSError:
        return ""


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
