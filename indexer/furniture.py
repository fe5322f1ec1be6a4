"""Corpus-level boilerplate signal: short lines that recur across a site's pages.

Counts are kept per group (a site, or a folder) in the index version, so an incremental
run that sees only new pages still knows what the site's furniture looks like. Counts
only grow until the next --rebuild; a page edited many times can inflate its own
lines, which the thresholds (a share of the group's pages, and a minimum count) absorb.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from common.layout import write_json_atomic

FILE = "furniture.json"
MIN_DOCS = 3
MIN_SHARE = 0.3
MAX_KEYS_PER_GROUP = 20_000


@dataclass
class GroupStats:
    docs: int = 0
    lines: Counter = field(default_factory=Counter)


class FurnitureStats:
    """Per-group line counts, persisted as furniture.json beside the index."""

    def __init__(self, groups: dict[str, GroupStats] | None = None):
        self.groups: dict[str, GroupStats] = groups or {}
        self.dirty = False

    @classmethod
    def load(cls, version_dir: Path) -> "FurnitureStats":
        try:
            raw = json.loads((Path(version_dir) / FILE).read_text("utf-8"))
            return cls({g: GroupStats(v["docs"], Counter(v["lines"])) for g, v in raw.items()})
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def save(self, version_dir: Path) -> None:
        """Persist the counts if anything was added since loading."""
        if not self.dirty:
            return
        self.dirty = False
        write_json_atomic(
            Path(version_dir) / FILE,
            {g: {"docs": s.docs, "lines": dict(s.lines)} for g, s in self.groups.items()},
            compact=True,
        )

    def add(self, group: str, keys: list[str]) -> None:
        stats = self.groups.setdefault(group, GroupStats())
        stats.docs += 1
        stats.lines.update(keys)
        self.dirty = True
        if len(stats.lines) > MAX_KEYS_PER_GROUP:
            # Keep the most frequent half: rare lines are not furniture, and halving
            # makes the pruning cost amortised O(1) per line added.
            stats.lines = Counter(dict(stats.lines.most_common(MAX_KEYS_PER_GROUP // 2)))

    def furniture(self, group: str) -> frozenset[str]:
        """Line keys on at least MIN_DOCS pages and MIN_SHARE of the group's pages."""
        stats = self.groups.get(group)
        if stats is None or stats.docs < MIN_DOCS:
            return frozenset()
        floor = max(MIN_DOCS, MIN_SHARE * stats.docs)
        return frozenset(k for k, c in stats.lines.items() if c >= floor)
