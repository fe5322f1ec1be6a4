"""A small thread-safe LRU map for what never changes once written (per-segment data)."""

from __future__ import annotations

import threading
from collections import OrderedDict


class LruCache:
    """Key -> value, least recently used dropped first; ``get`` returns the cache itself
    when the key is absent (so None can be a cached value)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key, self)
            if value is not self:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def discard(self, key) -> None:
        """Forget a key (absent: nothing to do)."""
        with self._lock:
            self._items.pop(key, None)
