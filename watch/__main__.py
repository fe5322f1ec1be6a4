"""`python -m watch --index DIR`: evaluate standing searches and watchlists against what
the indexer added or changed since the last evaluation (the indexer runs this after a run
that wrote articles; cron may run it too). Exit 0 when done, 1 on a fatal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys

from common.layout import IndexUnavailable
from watch.evaluate import CHUNK, run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m watch", description=__doc__.splitlines()[0])
    p.add_argument("--index", default=os.environ.get("INDEX_DIR"), help="index folder (env INDEX_DIR)")
    p.add_argument("--chunk", type=int, default=CHUNK, help="articles evaluated (and committed) at a time")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = p.parse_args(argv)
    if args.chunk < 1:
        p.error("--chunk must be positive")
    if not args.index:
        p.error("no index folder: pass --index DIR or set INDEX_DIR")
    try:
        summary = run(args.index, chunk=args.chunk)
    except IndexUnavailable as exc:
        print(f"watch: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        print(f"watch: the state file beside the index cannot be used ({exc}); fix or remove "
              f"{args.index}/state.sqlite3", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(f"watch: {summary.articles} new or changed articles, {summary.searches} searches run, "
              f"{summary.matches} new matches in {summary.seconds:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
