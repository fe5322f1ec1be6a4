"""Corpus-level boilerplate signal: short lines that recur across a site's pages.

Counts are kept per group (a site, or a folder) in the index version, so an incremental
run that sees only new pages still knows what the site's furniture looks like. Counts
only grow until the next --rebuild; a page edited many times can inflate its own
lines, which the thresholds (a share of the group's pages, and a minimum count) absorb.
"""

from __future__ import annotations

import json
from collections import Counter
from hashlib import blake2b
from dataclasses import dataclass, field
from pathlib import Path

from common.layout import write_bytes_atomic

FILE = "furniture.json"
MIN_DOCS = 3
MIN_SHARE = 0.3
MAX_KEYS_PER_GROUP = 20_000


def key_hash(key: str) -> int:
    """A line key as a 64-bit int, the same in every process and run (it is saved)."""
    return int.from_bytes(blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


@dataclass
class GroupStats:
    """A group's page count and line counts. Lines are counted by key_hash, and a key's
    text is kept only once it is on MIN_DOCS pages (all furniture is): most lines are
    seen once, and their strings held ~380 B per file of a 200k build."""

    docs: int = 0
    lines: Counter = field(default_factory=Counter)  # key_hash -> pages, in first-seen order
    names: dict = field(default_factory=dict)  # key_hash -> key, for counts >= MIN_DOCS

    def add(self, keys: list[str]) -> None:
        hashes = list(map(key_hash, keys))
        lines, names = self.lines, self.names
        lines.update(hashes)
        for h, key in zip(hashes, keys):
            if lines[h] >= MIN_DOCS and h not in names:
                names[h] = key
        if len(lines) > MAX_KEYS_PER_GROUP:
            # Keep the most frequent half: rare lines are not furniture, and halving
            # makes the pruning cost amortised O(1) per line added.
            self.lines = Counter(dict(lines.most_common(MAX_KEYS_PER_GROUP // 2)))
            self.names = {h: names[h] for h in self.lines if h in names}

    def record(self) -> dict:
        """For furniture.json: [key or its hash, count] pairs, in first-seen order."""
        names = self.names
        return {"docs": self.docs, "keys": [[names.get(h, h), c] for h, c in self.lines.items()]}

    @classmethod
    def of_record(cls, raw: dict) -> "GroupStats":
        """From record(), or from the {key: count} of earlier versions."""
        stats = cls(int(raw["docs"]))
        pairs = raw["keys"] if "keys" in raw else raw["lines"].items()
        for key, count in pairs:
            if not isinstance(count, int) or not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError("furniture count")
            h = key if isinstance(key, int) else key_hash(key)
            stats.lines[h] = count
            if isinstance(key, str) and count >= MIN_DOCS:
                stats.names[h] = key
        return stats


class FurnitureStats:
    """Per-group line counts, persisted as furniture.json beside the index.

    A group is held either as its GroupStats or as its record's JSON text, parsed when the
    group is added to (and kept) or asked for its furniture (and dropped): an incremental
    run parses only the groups of the files it cleans, and ``freeze`` turns a rebuild's
    counters back into text once its corpus pass is done. Parsed whole, the statistics of
    200k files in 220 folders were ~100 MB of an incremental run. The file holds one line
    per group: its name and its record as JSON, separated by a tab."""

    def __init__(self, groups: dict[str, GroupStats | str] | None = None):
        self.groups: dict[str, GroupStats | str] = groups or {}
        self.dirty = False

    @classmethod
    def load(cls, version_dir: Path) -> "FurnitureStats":
        try:
            text = (Path(version_dir) / FILE).read_text("utf-8")
            if text.lstrip().startswith("{"):  # one JSON object: written by earlier versions
                return cls({g: json.dumps(v) for g, v in json.loads(text).items()})
            groups = {}
            for line in text.splitlines():
                name, tab, record = line.partition("\t")
                if not tab or not isinstance(group := json.loads(name), str):
                    return cls()
                groups[group] = record
            return cls(groups)
        except (OSError, ValueError, AttributeError):
            return cls()

    def save(self, version_dir: Path) -> None:
        """Persist the counts if anything was added since loading."""
        if not self.dirty:
            return
        self.dirty = False
        lines = (f"{json.dumps(g)}\t{_text(s)}\n".encode("utf-8") for g, s in self.groups.items())
        write_bytes_atomic(Path(version_dir) / FILE, lines)

    def add(self, group: str, keys: list[str]) -> None:
        stats = self._parsed(group) or GroupStats()
        self.groups[group] = stats  # kept parsed: more of its pages may follow
        stats.docs += 1
        stats.add(keys)
        self.dirty = True

    def freeze(self) -> None:
        """Hold every group as its record's text until it is needed again."""
        for group, stats in self.groups.items():
            if isinstance(stats, GroupStats):
                self.groups[group] = _text(stats)

    def furniture(self, group: str) -> frozenset[str]:
        """Line keys on at least MIN_DOCS pages and MIN_SHARE of the group's pages."""
        stats = self._parsed(group)
        if stats is None or stats.docs < MIN_DOCS:
            return frozenset()
        floor = max(MIN_DOCS, MIN_SHARE * stats.docs)
        names = stats.names  # every count >= MIN_DOCS has its key, unless the file was edited
        return frozenset(names[h] for h, c in stats.lines.items() if c >= floor and h in names)

    def _parsed(self, group: str) -> GroupStats | None:
        """The group's stats (parsed from its text if frozen, not kept); a record that
        cannot be read counts as a new group, as a damaged file always did."""
        stats = self.groups.get(group)
        if not isinstance(stats, str):
            return stats
        try:
            return GroupStats.of_record(json.loads(stats))
        except (ValueError, KeyError, TypeError, AttributeError):
            return GroupStats()


def _text(stats: GroupStats | str) -> str:
    return stats if isinstance(stats, str) else json.dumps(stats.record(), separators=(",", ":"))
