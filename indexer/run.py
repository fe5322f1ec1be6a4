"""One indexer run: scan, diff against the index, process what changed, commit in batches.

Incremental by default: a file whose size, mtime and manifest entry match the index is
not opened; one whose stat changed but whose bytes hash the same only has its state
refreshed. Work is committed every ``batch_size`` files, so a run killed at any moment
keeps what it committed and the next run picks up the rest.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time
from array import array
from itertools import chain, islice
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from whoosh.index import TOC, Index

from common.documents import FileState, duplicate_fields, fields_from_stored, skipped_fields
from common.bulkwriter import BulkWriter
from common.codec import ArrayCodec, is_array_segment
from common.layout import LAST_RUN, IndexUnavailable, open_live_index, write_json_atomic
from common.procs import die_with_parent
from common.schema import KIND_ARTICLE, KIND_DUPLICATE, KIND_SKIPPED, schema_matches
from indexer.corpus import (
    DEFAULT_MAX_BYTES, CorpusFile, FileRefused, Manifest, Scan, Skip, load_manifest, read_corpus_file, scan_corpus,
)
from indexer.furniture import FurnitureStats
from indexer.journal import Journal
from indexer.provenance import Provenance
from indexer.pipeline import (
    DOC_TIME_BUDGET, Job, Result, doc_id_for, group_key, line_keys, preload, process_file,
)
from indexer.store import (
    DocState,
    RunLock,
    States,
    digest,
    hex_of,
    discard_failed_run,
    make_live,
    new_version,
    StateTable,
    load_state_table,
    open_or_create_live,
    read_states,
    remove_stale_versions,
    save_states,
)


# Shares of a rebuild committed at a time (see _Writer._batches): each commit but the
# last runs while the workers clean the next share, so the last, on one core, is small.
REBUILD_SHARES = (0.5, 0.3, 0.2)
# Cleaned articles the workers may have ready before the writer takes them, in batches
# (see _Window): 2,000 with the default batch size. imap hands out jobs in chunks, and
# a window smaller than a few chunks would starve the workers for ever.
RESULTS_AHEAD_BATCHES = 2
IMAP_CHUNK = 8
# Postings a writer buffers in memory before the run commits them (common/bulkwriter.py):
# a batch that fills it is committed in parts, so a rebuild of any size stays bounded.
# 64 MB by the buffer's estimate is ~14k Reuters stories, about what a 20k build's
# commits hold; at 256 a 200k build held ~55k per commit, and the commit's sorted copy
# of the buffer and the glibc heap it leaves behind grew with it (~1.3 MB per MB).
WRITER_LIMIT_MB = 64
# Provenance calls (each holding its article's text) buffered before they are written
# (see indexer/provenance.py): an incremental batch's worth.
PROVENANCE_OPS = 1000


class FatalError(RuntimeError):
    """The run cannot proceed; the message says what to do. The live index is unchanged."""


class MassDeleteRefused(FatalError):
    """The run would remove most of the indexed files (see _check_removals); nothing changed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.summary: Summary | None = None  # set by run_indexer, for the --json output


# A run may not remove this share of the indexed files, nor at least MASS_DELETE_MIN of
# them, without --allow-mass-delete (a few files in a small archive can always go).
MASS_DELETE_SHARE = 0.5
MASS_DELETE_MIN = 5


@dataclass
class RunOptions:
    corpus: Path
    index_dir: Path
    rebuild: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    batch_size: int = 1000
    workers: int = 2
    allow_mass_delete: bool = False
    doc_timeout: float = DOC_TIME_BUDGET
    writer_mb: float = WRITER_LIMIT_MB  # postings a commit buffers at most (see _fill)
    progress: Callable[[int, int], None] | None = None
    log: Callable[[str], None] | None = None


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: int = 0
    skipped_files: list[dict] = field(default_factory=list)
    rebuild: bool = False
    refused: str | None = None  # "mass_delete" when the run was refused (nothing changed)
    would_remove: int = 0
    corpus: str = ""
    index_version: str = ""
    started: str = ""
    finished: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def skip(self, item: Skip) -> None:
        self.skipped += 1
        self.skipped_files.append({"path": item.path, "reason": item.reason})


def run_folders(opts: RunOptions, what: str) -> tuple[Path, Path]:
    """(corpus, index folder) of a run: the corpus must exist; the folder is created."""
    corpus = Path(opts.corpus)
    if not corpus.is_dir():
        raise FatalError(f"corpus folder {corpus} does not exist: pass --corpus DIR or set CORPUS_DIR")
    folder = Path(opts.index_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FatalError(f"cannot create {what} folder {folder}: {exc.strerror or exc}") from exc
    return corpus, folder


def run_indexer(opts: RunOptions) -> Summary:
    """Bring the index in opts.index_dir up to date with opts.corpus (or rebuild it)."""
    corpus, index_dir = run_folders(opts, "index")
    t0 = time.time()
    summary = Summary(rebuild=opts.rebuild, corpus=str(corpus), started=_now())
    try:
        with RunLock(index_dir):
            _locked_run(opts, corpus, index_dir, summary)
    except MassDeleteRefused as exc:
        summary.seconds, summary.finished = round(time.time() - t0, 3), _now()
        exc.summary = summary
        raise
    except IndexUnavailable as exc:
        raise FatalError(str(exc)) from exc
    except OSError as exc:
        if exc.errno is None:  # TimeoutError and the like: not a disk or permission problem
            raise
        raise FatalError(
            f"index write failed ({exc.strerror or exc}); the live index is unchanged: "
            "free disk space or fix permissions on the index folder, then run again"
        ) from exc
    summary.seconds = round(time.time() - t0, 3)
    summary.finished = _now()
    try:
        write_json_atomic(index_dir / LAST_RUN, summary.to_dict() | {"skipped_files": summary.skipped_files[:100]})
    except OSError as exc:
        raise FatalError(
            f"the index was updated, but {index_dir / LAST_RUN} could not be written "
            f"({exc.strerror or exc}): free disk space or fix permissions on the index folder"
        ) from exc
    return summary


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _locked_run(opts: RunOptions, corpus: Path, index_dir: Path, summary: Summary) -> None:
    remove_stale_versions(index_dir)
    workers = _Workers(opts)
    try:
        _scan_and_apply(opts, corpus, index_dir, summary, workers)
    finally:
        workers.close()


def _scan_and_apply(opts: RunOptions, corpus: Path, index_dir: Path, summary: Summary, workers: "_Workers") -> None:
    """Scan, diff against the index (or the state cache) and apply what changed."""
    if opts.rebuild:
        workers.start()  # before the scan: each worker inherits the parent's heap as it is now
    scan = scan_corpus(corpus, opts.max_bytes)
    created, table = False, None
    if not opts.rebuild:
        version, ix, created = open_or_create_live(index_dir)
        if needs_rebuild(ix):
            opts = _rebuild_instead(opts, ix, summary)
        else:
            table = load_state_table(ix, version)  # None: the last run did not complete
    manifest = load_manifest(corpus, known=table.manifest if table is not None else None)
    for item in scan.skipped + manifest.problems:
        summary.skip(item)
    if opts.rebuild:
        # Before anything is built: a rebuild over an empty folder would swap in an empty index.
        live_docs = _live_doc_count(index_dir)
        _check_removals(opts, summary, live_docs - len(scan.rels), live_docs)
        version, ix = new_version(index_dir)
        states = States()
    elif table is not None and _unchanged(scan, table, manifest):
        summary.unchanged, summary.index_version = len(scan.rels), version.name
        ix.close()  # nothing to write, and the cache already describes this generation
        return
    else:
        workers.start()  # before the states and the diff exist (see _Workers)
        states = table.states() if table is not None else read_states(ix)
    completed = opts.rebuild or table is not None
    table = None  # its columns (~30 MB at 200k) are in the states now
    summary.index_version = version.name
    diff = _diff(scan, states, manifest, summary)
    if not opts.rebuild:
        _check_removals(opts, summary, len(diff.removed), len(states), close=ix)
    # A first build goes live with its first commit; a rebuild only when complete.
    publish = (lambda: make_live(index_dir, version)) if created else None
    try:
        if diff.jobs or diff.removed or not completed:
            furniture = FurnitureStats() if opts.rebuild else FurnitureStats.load(version)
            writer = _Writer(ix, states, furniture, version, opts, summary, manifest, publish)
            writer.orphans_from_index = not completed
            writer.apply(diff, workers.start())
        # else the cache describes this generation already, unless the manifest's bytes changed
        if diff.jobs or diff.removed or not completed or opts.rebuild or not manifest.unchanged:
            save_states(ix, version, states, manifest)
    except BaseException:
        discard_failed_run(index_dir, version, ix, opts.rebuild or created)
        raise
    if opts.rebuild or created:
        make_live(index_dir, version)
        remove_stale_versions(index_dir)
    ix.close()


def _rebuild_instead(opts: RunOptions, ix: Index, summary: Summary) -> RunOptions:
    """An index from an older version is rebuilt, not added to."""
    ix.close()
    summary.rebuild = True
    if opts.log:
        opts.log("the index was written by an older version: rebuilding it (searches "
                 "use the old one until the new one is complete)")
    return replace(opts, rebuild=True)


def _unchanged(scan: Scan, table: StateTable, manifest: Manifest) -> bool:
    """Nothing to do: the files, sizes and mtimes the last completed run left (compared as
    whole lists, in C), and a manifest with its bytes, so every entry hash is the state's."""
    return (manifest.unchanged and not scan.unlisted and scan.rels == table.paths
            and scan.sizes == table.sizes and scan.mtimes == table.mtimes)


def _live_doc_count(index_dir: Path) -> int:
    """Files the live index records (articles, copies, skipped files); 0 when it cannot be
    read, since rebuilding a damaged index is the fix, not something to refuse.

    Counted from the table of contents (documents and deletions per segment), not by a
    reader: opening one reads each compound segment's term files, ~540 MB at 200k stories,
    which was the peak of a rebuild over an existing index."""
    try:
        ix = open_live_index(index_dir, check=False)
    except IndexUnavailable:
        return 0
    try:
        return sum(segment.doc_count() for segment in TOC.read(ix.storage, ix.indexname).segments)
    except Exception:  # noqa: BLE001 -- damaged bytes fail anywhere in Whoosh's readers
        return 0
    finally:
        ix.close()


def _check_removals(opts: RunOptions, summary: Summary, removing: int, indexed: int, close: Index | None = None) -> None:
    """Refuse a run that would remove most of the archive: an unmounted or emptied corpus
    folder looks exactly like every file deleted, and cron would publish the loss.
    ``close``: an index to close before refusing."""
    if opts.allow_mass_delete or removing < MASS_DELETE_MIN or removing <= MASS_DELETE_SHARE * indexed:
        return
    if close is not None:
        close.close()
    summary.refused, summary.would_remove = "mass_delete", removing
    raise MassDeleteRefused(
        f"refusing to remove {removing} of the {indexed} indexed files: is the corpus folder "
        f"{opts.corpus} mounted and complete? Nothing changed. If the files really are gone, "
        "run again with --allow-mass-delete"
    )


class _Jobs(Sequence):
    """Files to (re)process as row numbers of the scan: a Job and the file's old state
    are made when a row is read. A rebuild's list of 200k (Job, None) pairs, each Job with
    its CorpusFile and manifest entry, held ~630 B per file for the whole run."""

    def __init__(self, scan: Scan, manifest: Manifest, states, rows: array):
        self.scan, self.manifest, self.states, self.rows = scan, manifest, states, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return _Jobs(self.scan, self.manifest, self.states, self.rows[i])
        return self.job(self.rows[i])

    def __iter__(self) -> Iterator[tuple[Job, DocState | None]]:
        return map(self.job, self.rows)

    def job(self, row: int) -> tuple[Job, DocState | None]:
        file = self.scan.file(row)
        rel, manifest = file.rel, self.manifest
        return Job(file, doc_id_for(rel), manifest.entry(rel), manifest.entry_hash(rel)), self.states.get(rel)

    def only(self, rows: Iterable[int]) -> "_Jobs":
        return _Jobs(self.scan, self.manifest, self.states, array("l", rows))


@dataclass
class _Diff:
    jobs: Sequence[tuple[Job, DocState | None]]  # a _Jobs, in path order
    removed: list[str]  # corpus paths that are gone


def _diff(scan: Scan, states: States, manifest: Manifest, summary: Summary) -> _Diff:
    """Split the scan into unchanged files, files to (re)process (in path order), and
    deleted files; a Job only when a file to process is read from the list."""
    rows, known = array("l"), 0
    get, entry_hash = states.get, manifest.entry_hash
    for i, (rel, size, mtime_ns) in enumerate(zip(scan.rels, scan.sizes, scan.mtimes)):
        old = get(rel)
        known += old is not None
        if old is not None and old.size == size and old.mtime_ns == mtime_ns and old.meta_hash == entry_hash(rel):
            continue
        rows.append(i)
    rels = scan.rels
    jobs = _Jobs(scan, manifest, states, array("l", sorted(rows, key=rels.__getitem__)))  # the order duplicates are decided in
    summary.unchanged += len(scan.rels) - len(jobs)
    removed: list[str] = []
    if known == len(states):  # every state's file was scanned: none is gone (no set of 200k paths)
        return _Diff(jobs, removed)
    seen = set(scan.rels)
    for path in states:
        if path in seen:
            continue
        if scan.unknown(path):  # in a folder that could not be listed: kept as it was
            summary.unchanged += 1
        else:
            removed.append(path)
    return _Diff(jobs, removed)


class _Canonical:
    """content hash -> article id of the articles that stay in the index, kept as raw
    digests (see store.digest): as hex strings a pair held ~200 B per article."""

    def __init__(self, pairs: dict):
        self._pairs = pairs

    def get(self, content_hash: str) -> str | None:
        owner = self._pairs.get(digest(content_hash))
        return None if owner is None else hex_of(owner)

    def __setitem__(self, content_hash: str, doc_id: str) -> None:
        self._pairs[digest(content_hash)] = digest(doc_id)

    def forget(self, content_hash: str, doc_id: str) -> None:
        key = digest(content_hash)
        if self._pairs.get(key) == digest(doc_id):
            del self._pairs[key]


class _Workers:
    """The cleaning worker processes, forked once per run when ``start`` is first called.

    A rebuild forks them before the scan, an incremental run before the file states and
    the diff exist: a forked worker's RSS includes every page of the parent's heap it
    inherits (392 MB per worker when forked after a 200k scan, manifest and job list).
    Trafilatura is loaded by each worker before its first page (pipeline.process_file),
    since whether the corpus holds pages is not known yet."""

    def __init__(self, opts: RunOptions):
        self.opts, self.pool = opts, None

    def start(self):
        if self.pool is None:
            preload(html=False)  # inherited by the workers, outside any file's time budget
            ctx = multiprocessing.get_context("fork")
            self.pool = ctx.Pool(max(1, self.opts.workers), initializer=die_with_parent, initargs=(os.getpid(),))
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


class _Writer:
    """Applies a diff to the index in committed batches, deduplicating by content hash."""

    def __init__(self, ix: Index, states, furniture: FurnitureStats, version: Path, opts, summary,
                 manifest: Manifest, publish: Callable[[], None] | None = None):
        self.ix, self.states, self.furniture = ix, states, furniture
        self.publish = publish  # called once, after the first commit (a first build)
        self.manifest = manifest
        self.corpus = Path(opts.corpus).resolve()
        self.version, self.opts, self.summary = version, opts, summary
        self.canonical = _Canonical(states.articles())
        # articles removed or changed by this run (ids, and their old content hashes as
        # digests): their copies are orphans (see _promote_orphans)
        self.gone_articles: set[str] = set()
        self.gone_hashes: set = set()
        self.orphans_from_index = False  # True when the last run did not complete
        self._windows: list[_Window] = []
        self.journal = Journal(opts.index_dir, version.name)  # what watch/ evaluates
        # versions and story clusters; a rebuild's commit may hold ~50k articles: flushed
        # every PROVENANCE_OPS instead of holding their texts until the commit
        self.provenance = Provenance(opts.index_dir, max_ops=PROVENANCE_OPS, seen=summary.started)

    def apply(self, diff: _Diff, pool) -> None:
        removed_ids = {self.states[path].id for path in diff.removed}
        for st in [self.states.pop(path) for path in diff.removed]:
            self.provenance.forget(st.id)
            if st.kind == KIND_ARTICLE:
                self._gone(st)
                self._forget(st.content_hash, st.id)
        jobs = self._skip_touched(diff.jobs)
        try:
            self._write_batches(pool, jobs, removed_ids)
            if not self.opts.rebuild:  # a rebuild writes each file once into an empty
                self._promote_orphans(pool)  # index: no copy can lose its article there
            self.provenance.sweep(self.states.ids())
        finally:
            # A failed batch leaves imap's feeder waiting for a slot (see _Window),
            # and Pool's exit would wait for that thread for ever.
            for window in self._windows:
                window.close()
            self.provenance.close()

    def _gone(self, old: DocState) -> None:
        """An article this run removes or changes: its copies may be orphans."""
        self.gone_articles.add(old.id)
        self.gone_hashes.add(digest(old.content_hash))

    def _write_batches(self, pool, jobs: list, removed_ids: set[str]) -> None:
        """Deletions first, then the jobs, committed batch by batch."""
        progress = [0, len(jobs)]
        first = True
        # A rebuild cleans the whole corpus as one stream (the corpus signal sees every
        # page first, and workers keep cleaning while a batch commits); an incremental run
        # reads the signal and cleans batch by batch, so what it saved matches what it
        # committed.
        stream = self._process(pool, jobs) if self.opts.rebuild else None
        for batch in self._batches(jobs):
            results = islice(stream, len(batch)) if stream is not None else self._process(pool, batch)
            pending = ()
            while pending is not None:
                with _writer(self.ix, limitmb=self.opts.writer_mb) as writer:
                    if first:
                        for doc_id in removed_ids:
                            writer.delete_by_term("id", doc_id)
                        self.summary.removed += len(removed_ids)
                        first = False
                    pending = self._fill(writer, chain(pending, results), progress)
                    self.provenance.flush()
                self.furniture.save(self.version)
                self._committed()
        if first and removed_ids:
            with _writer(self.ix) as writer:
                for doc_id in removed_ids:
                    writer.delete_by_term("id", doc_id)
                self.summary.removed += len(removed_ids)
                self.provenance.flush()

    def _fill(self, writer, results: Iterator, progress: list[int]) -> tuple | None:
        """Write results until they run out (None) or the writer's buffer is full: then
        the result not yet written comes back in a 1-tuple, for a new writer after this
        one commits, so memory stays bounded on any corpus."""
        for item in results:
            if writer.full:
                return (item,)
            self._write(writer, *item)
            progress[0] += 1
            if self.opts.progress:
                self.opts.progress(*progress)
        return None

    def _committed(self) -> None:
        """After a commit: a first build becomes the live index now that it holds something."""
        if self.publish is not None:
            self.publish()
            self.publish = None

    def _batches(self, jobs: list) -> Iterable[list]:
        """The jobs in commit-sized batches.

        An incremental run commits every ``batch_size`` files, so a kill keeps what was
        done. A rebuild is invisible until the swap, so a kill loses nothing whatever its
        batches: it commits in a few large ones (REBUILD_SHARES) instead of one long
        commit on one core at the end, at the price of a few segments.
        """
        if not self.opts.rebuild:
            yield from _chunks(jobs, self.opts.batch_size)
            return
        start = 0
        for share in REBUILD_SHARES[:-1]:
            size = max(self.opts.batch_size, round(len(jobs) * share))
            if start + size >= len(jobs):
                break
            yield jobs[start : start + size]
            start += size
        if start < len(jobs):
            yield jobs[start:]

    def _skip_touched(self, jobs: _Jobs) -> _Jobs:
        """Drop files whose stat changed but bytes did not; refresh their state only."""
        if not self.states:
            return jobs  # a rebuild, or a first build: every file is new
        todo, touched = array("l"), []
        for row in jobs.rows:
            job, old = jobs.job(row)
            if old is None or old.meta_hash != job.meta_hash:
                todo.append(row)
                continue
            try:
                file_hash = hashlib.sha1(read_corpus_file(job.file)).hexdigest()
            except (OSError, FileRefused):
                todo.append(row)
                continue
            if file_hash == old.file_hash:
                touched.append((row, job, old, file_hash))
            else:
                todo.append(row)
        if touched:
            with _writer(self.ix) as writer, self.ix.searcher() as searcher:
                for row, job, old, file_hash in touched:
                    stored = searcher.document(id=old.id)
                    if stored is None:
                        todo.append(row)
                        continue
                    state = FileState(job.file.rel, job.file.size, job.file.mtime_ns, file_hash, job.meta_hash)
                    try:
                        fields = fields_from_stored(stored, state)
                    except Exception:  # noqa: BLE001 -- a stored value this version rejects:
                        todo.append(row)  # process the file again, inside the boundary
                        continue
                    writer.update_document(**fields)
                    # the state cache must hold the new stat too, or every later run reads
                    # and commits this file again (and never takes the no-change path)
                    self.states[job.file.rel] = replace(old, size=job.file.size, mtime_ns=job.file.mtime_ns)
                    self.summary.unchanged += 1
        return jobs.only(todo)

    def _process(self, pool, batch) -> Iterator[tuple[Result, DocState | None]]:
        """Feed the corpus signal, then clean the batch in worker processes (in order)."""
        bounded = (replace(job, time_budget=self.opts.doc_timeout) for job, _ in batch)
        for group, keys in pool.imap(line_keys, bounded, chunksize=16):
            if keys:
                self.furniture.add(group, keys)
        self.furniture.freeze()  # each group is parsed again once, for its furniture
        window = _Window(max(RESULTS_AHEAD_BATCHES * self.opts.batch_size, 4 * IMAP_CHUNK))
        self._windows.append(window)
        try:
            jobs = window.admit(self._with_furniture(batch))
            for result, (job, old) in zip(pool.imap(process_file, jobs, chunksize=IMAP_CHUNK), batch):
                window.done()
                # the run's own job: the states then keep its path and id strings, not a
                # second unpickled copy of each for the rest of the run
                result.job = job
                yield result, old
        finally:
            window.close()

    def _with_furniture(self, batch) -> Iterator[Job]:
        """The batch's jobs with their group's furniture, made as the workers take them:
        a rebuild's batch is the whole corpus, and a list of new jobs lived as long."""
        furniture: dict[str, frozenset[str]] = {}
        for j, _ in batch:
            group = group_key(j.file.rel, j.manifest)
            if group not in furniture:
                furniture[group] = self.furniture.furniture(group)
            yield Job(j.file, j.doc_id, j.manifest, j.meta_hash, furniture[group], self.opts.doc_timeout)

    def _write(self, writer, result: Result, old: DocState | None, count: bool = True) -> None:
        """Write one result; ``count`` is False for promotions, which change no file."""
        doc_id = result.job.doc_id
        if old is not None and old.kind == KIND_ARTICLE:
            self._forget(old.content_hash, doc_id)
        if result.skip is not None:
            if count:
                self.summary.skip(result.skip)
            _put(writer, old, skipped_fields(doc_id, result.state, result.skip.reason))
            self.provenance.forget(doc_id)
            if old is not None and old.kind == KIND_ARTICLE:
                self._gone(old)
            self.states[result.job.file.rel] = DocState(
                doc_id, KIND_SKIPPED, result.state.size, result.state.mtime_ns,
                result.state.file_hash, result.state.meta_hash, "",
            )
            return
        article = result.article
        owner = self.canonical.get(article.content_hash)
        if owner is not None and owner != doc_id:
            _put(writer, old, duplicate_fields(doc_id, result.state, article.content_hash, owner))
            self.provenance.copy(article, owner)
            self.summary.duplicates += count
            kind = KIND_DUPLICATE
        else:
            self.canonical[article.content_hash] = doc_id
            fields = dict(result.fields)  # built by the worker, inside the document boundary
            for name, postings in result.postings.items():
                fields[f"_stored_{name}"] = fields[name]
                fields[name] = postings
            _put(writer, old, fields)
            self.journal.add(doc_id, article.content_hash, writer.generation)
            self.provenance.article(article, result.signature)
            kind = KIND_ARTICLE
        if kind == KIND_ARTICLE and count:
            if old is None:
                self.summary.added += 1
            else:
                self.summary.updated += 1
        if old is not None and old.kind == KIND_ARTICLE and (
            kind != KIND_ARTICLE or old.content_hash != article.content_hash
        ):
            self._gone(old)
        self.states[result.job.file.rel] = DocState(
            doc_id, kind, result.state.size, result.state.mtime_ns,
            result.state.file_hash, result.state.meta_hash, article.content_hash,
        )

    def _forget(self, content_hash: str, doc_id: str) -> None:
        self.canonical.forget(content_hash, doc_id)

    def _promote_orphans(self, pool) -> None:
        """Re-process duplicates whose article was removed or changed, so no copy is lost.

        After a completed run the index holds no orphan, so this run's can only be copies
        of what it removed or changed: found in the file states, without opening the
        index (a searcher over a 200k index was ~550 MB of an incremental run). After a
        run killed between committing a removal and this step, the states were read from
        the index, and the orphans it left are found there.
        """
        found = self._orphans_in_index() if self.orphans_from_index else self._orphans_in_states()
        self.gone_articles, self.gone_hashes = set(), set()
        jobs = []
        for path, doc_id in sorted(found):
            st = self.states.get(path)
            if st is None:
                continue
            f = CorpusFile(path, self.corpus / path, st.size, st.mtime_ns, self.opts.max_bytes)
            jobs.append((Job(f, doc_id, self.manifest.entry(f.rel), st.meta_hash), st))
        if not jobs:
            return
        with _writer(self.ix) as writer:
            for result, old in self._process(pool, jobs):
                self._write(writer, result, old, count=False)
            self.provenance.flush()

    def _orphans_in_states(self) -> list[tuple[str, str]]:
        """(path, id) of the copies of the articles this run removed or changed."""
        if not self.gone_hashes:
            return []
        return self.states.copies_of(self.gone_hashes)

    def _orphans_in_index(self) -> list[tuple[str, str]]:
        """(path, id) of every copy whose article is gone or is no longer the canonical one."""
        orphans = []
        with self.ix.searcher() as searcher:
            reader = searcher.reader()
            if ("kind", KIND_DUPLICATE) in reader:
                dup_of = reader.column_reader("dup_of")
                hashes = reader.column_reader("content_hash")
                for docnum in reader.postings("kind", KIND_DUPLICATE).all_ids():
                    if reader.is_deleted(docnum):
                        continue
                    owner = dup_of[docnum]
                    if owner in self.gone_articles or self.canonical.get(hashes[docnum]) != owner:
                        stored = searcher.stored_fields(docnum)
                        orphans.append((stored["path"], stored["id"]))
        return orphans


class _Window:
    """Backpressure for Pool.imap: at most ``size`` jobs handed out and not yet consumed.

    imap's feeder thread reads the whole job list at once, and results wait in memory
    until the writer takes them; while a large commit runs, the workers would otherwise
    pile up results for the rest of the corpus (measured: RSS grows with corpus size).
    """

    def __init__(self, size: int):
        self._slots = threading.Semaphore(size)
        self._closed = False

    def admit(self, jobs: Iterable) -> Iterator:
        """The jobs, each waiting for a free slot (runs in imap's feeder thread)."""
        for job in jobs:
            self._slots.acquire()
            if self._closed:
                return
            yield job

    def done(self) -> None:
        self._slots.release()

    def close(self) -> None:
        """Stop feeding (the consumer is gone) and wake a feeder waiting for a slot."""
        self._closed = True
        self._slots.release()


def _put(writer, old: DocState | None, fields: dict) -> None:
    """Add a file's document, or replace the one it had. Only a replacement opens Whoosh's
    searcher over every committed segment (memory-mapped: in a rebuild, each duplicate
    or skipped file mapped the whole index, ~40 MB of RSS per 14k stories)."""
    if old is None:
        writer.add_document(**fields)
    else:
        writer.update_document(**fields)


def _writer(ix: Index, **kwargs) -> BulkWriter:
    """A writer with our array postings codec (common/codec.py), which segments record,
    taking the workers' postings as arrays (common/bulkwriter.py)."""
    return BulkWriter(ix, codec=ArrayCodec(), **kwargs)


def needs_rebuild(ix: Index) -> bool:
    """An index from an older version: another schema, or segments in another postings format.

    The segments' codecs are read from the table of contents, not from a reader: opening
    a reader copies each compound segment's term files (0.3 s of a no-change run at 200k)."""
    if not schema_matches(ix.schema):
        return True
    return any(not is_array_segment(segment) for segment in TOC.read(ix.storage, ix.indexname).segments)


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]