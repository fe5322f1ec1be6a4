"""`python -m indexer`: the thin command-line layer over indexer.run (what cron runs).

Exit status: 0 when the run completed (skipped files included), 75 (EX_TEMPFAIL) when
another run holds the index, 3 when the run would remove most of the archive (refused,
nothing changed; --allow-mass-delete), 1 for a fatal error, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from indexer.corpus import DEFAULT_MAX_BYTES
from indexer.pipeline import DOC_TIME_BUDGET
from indexer.run import FatalError, MassDeleteRefused, RunOptions, Summary, run_indexer
from indexer.store import IndexLocked

EXIT_LOCKED = 75
EXIT_MASS_DELETE = 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m indexer", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=os.environ.get("CORPUS_DIR"), help="corpus folder (env CORPUS_DIR)")
    p.add_argument("--index", default=os.environ.get("INDEX_DIR"), help="index folder (env INDEX_DIR)")
    p.add_argument("--rebuild", action="store_true", help="build a fresh index beside the live one and swap it in")
    p.add_argument("--quiet", action="store_true", help="no progress output, summary only")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="skip files larger than this")
    p.add_argument("--batch-size", type=int, default=1000, help="files per commit")
    p.add_argument("--no-watch", action="store_true",
                   help="do not evaluate standing searches after the run (run `python -m watch` yourself)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="cleaning processes")
    p.add_argument("--doc-timeout", type=float, default=DOC_TIME_BUDGET, metavar="SECONDS",
                   help="skip a file that takes longer than this to clean (0: no bound)")
    p.add_argument("--allow-mass-delete", action="store_true",
                   help="let this run remove more than half of the indexed files (else refused, exit 3)")
    p.add_argument("--sink", choices=("whoosh", "solr"), default=default_sink(),
                   help="where articles go: the Whoosh index in --index (default), or a SolrCloud "
                        "collection (then --index holds only the lock and the file record); env SEARCH_BACKEND")
    p.add_argument("--solr-url", default=os.environ.get("SOLR_URL"), help="Solr node URL(s), comma-separated (env SOLR_URL)")
    p.add_argument("--solr-collection", default=os.environ.get("SOLR_COLLECTION") or "news",
                   help="Solr collection (env SOLR_COLLECTION, default news)")
    args = p.parse_args(argv)
    if not args.corpus:
        p.error("no corpus: pass --corpus DIR or set CORPUS_DIR")
    if not args.index:
        p.error("no index folder: pass --index DIR or set INDEX_DIR")
    if args.max_bytes < 1 or args.batch_size < 1 or args.workers < 1:
        p.error("--max-bytes, --batch-size and --workers must be positive")
    if not 0 <= args.doc_timeout < float("inf"):
        p.error("--doc-timeout must be a number of seconds, 0 or more")
    if args.sink == "solr":
        if not args.solr_url:
            p.error("--sink solr needs --solr-url URL or SOLR_URL (e.g. http://127.0.0.1:8983/solr)")
        from common.solr_http import SolrClient  # here: http.client and friends cost every run ~0.1 s

        try:
            args.solr = SolrClient(args.solr_url, args.solr_collection)
        except ValueError as exc:
            p.error(str(exc))
    return args


def default_sink() -> str:
    """solr when SEARCH_BACKEND=solr (the app and the indexer then agree), else whoosh."""
    return "solr" if os.environ.get("SEARCH_BACKEND", "").strip().lower() == "solr" else "whoosh"


def run(opts: RunOptions, args: argparse.Namespace) -> Summary:
    """The run for the chosen sink (the Solr sink lives in indexer/solr_sink.py)."""
    if args.sink != "solr":
        return run_indexer(opts)
    from indexer.solr_sink import run_solr_indexer

    try:
        return run_solr_indexer(opts, args.solr)
    finally:
        args.solr.close()


class Progress:
    """A tqdm bar on a terminal; a plain line every 10% under cron."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="file", desc="indexing", file=sys.stderr)
            self.bar.update(1)
            return
        decile = done * 10 // max(total, 1)
        if decile != self.last_decile:
            self.last_decile = decile
            print(f"indexer: processed {done}/{total} files", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def print_summary(summary: Summary, as_json: bool) -> None:
    if as_json:
        keys = ("added", "updated", "removed", "unchanged", "duplicates", "skipped", "skipped_files",
                "rebuild", "refused", "would_remove", "index_version", "seconds")
        data = {k: getattr(summary, k) for k in keys}
        print(json.dumps(data, ensure_ascii=False))
        return
    print(
        f"indexer: added {summary.added}, updated {summary.updated}, removed {summary.removed}, "
        f"unchanged {summary.unchanged}, duplicates {summary.duplicates}, skipped {summary.skipped} "
        f"in {summary.seconds:.1f}s (index version {summary.index_version})"
    )
    for item in summary.skipped_files:
        print(f"  skipped {item['path']}: {item['reason']}")


def _write_error_log(index_dir: Path) -> Path:
    """Save the traceback of an unexpected error beside the index (or in the temp dir)."""
    import tempfile
    import traceback

    for folder in (index_dir, Path(tempfile.gettempdir())):
        path = folder / "indexer-error.log"
        try:
            path.write_text(traceback.format_exc(), "utf-8")
            return path
        except OSError:
            continue
    return Path("(not written)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    progress = Progress(args.quiet or args.json)
    opts = RunOptions(
        corpus=Path(args.corpus),
        index_dir=Path(args.index),
        rebuild=args.rebuild,
        max_bytes=args.max_bytes,
        batch_size=args.batch_size,
        workers=args.workers,
        allow_mass_delete=args.allow_mass_delete,
        doc_timeout=args.doc_timeout,
        progress=progress,
        log=lambda message: print(f"indexer: {message}", file=sys.stderr, flush=True),
    )
    try:
        summary = run(opts, args)
    except IndexLocked as exc:
        print(f"indexer: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except MassDeleteRefused as exc:
        print(f"indexer: {exc}", file=sys.stderr)
        if args.json and exc.summary is not None:
            print_summary(exc.summary, as_json=True)
        return EXIT_MASS_DELETE
    except FatalError as exc:
        print(f"indexer: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one clear line for cron, the details in a file
        log = _write_error_log(Path(args.index))
        print(f"indexer: internal error ({exc.__class__.__name__}: {exc}); the live index is "
              f"unchanged; details in {log}", file=sys.stderr)
        return 1
    finally:
        progress.close()
    print_summary(summary, args.json)
    if (summary.added or summary.updated or summary.rebuild) and not args.no_watch:
        evaluate_watches(Path(args.index), quiet=args.quiet or args.json)
    return 0


def evaluate_watches(index_dir: Path, quiet: bool) -> None:
    """Run `python -m watch` on what this run wrote: a process of its own, so nothing in
    indexer/ imports watch/ or search/. Its failure is reported; the run still succeeded."""
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "watch", "--index", str(index_dir)], cwd=root,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0 or not quiet:
        sys.stderr.write(proc.stderr)


if __name__ == "__main__":
    sys.exit(main())
