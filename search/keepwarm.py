"""A server process prepares each newly published index state in the background.

After a cron run, the first search of each server process used to pay for the new
state: its new segments' columns, the state file read again, the story clusters mapped
again (1.7 s at 200k stories). A daemon thread looks for a new published state every
second and prepares it once it has settled (unchanged for a few seconds: a long run
commits every 1,000 files, and preparing each of those states would take a core away
from the indexer), so the first user after a run finds it ready. Requests that arrive
meanwhile pay for it as before. Threads do not survive a fork: a server starts it in
each process after forking.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


class KeepWarm:
    """Prepares ``engine``'s published states as they appear (``engine.published()``
    changes with every commit, swap or state-file write; ``engine.prepare()`` loads one)."""

    def __init__(self, engine, every_s: float = 1.0, settle_s: float = 3.0) -> None:
        self.engine = engine
        self.every_s = every_s
        self.settle_s = settle_s
        self.prepared = 0  # states prepared so far
        self._prepared_key = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ready(self) -> bool:
        """Whether the state published now is the one last prepared."""
        return self._prepared_key is not None and self._prepared_key == self.engine.published()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="keep-warm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        seen, since, failing = None, 0.0, False
        while not self._stop.wait(self.every_s):
            try:
                key = self.engine.published()
                if key != seen:
                    seen, since = key, time.monotonic()
                if key == self._prepared_key or time.monotonic() - since < self.settle_s:
                    continue
                self.engine.prepare()
                self._prepared_key, failing = key, False
                self.prepared += 1
            except Exception as exc:  # noqa: BLE001 - a missing or damaged index is the requests' 503
                if not failing:
                    log.warning("keep-warm: the published index state cannot be prepared (%s)", exc)
                failing = True
