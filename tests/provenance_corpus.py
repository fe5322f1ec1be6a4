"""The provenance test corpus: the seeds, an exact copy of seed 002 at a second path (another
outlet, a later date), a syndicated copy of seed 003 (new headline, wire header and footer,
a paragraph cut) and a page with hostile markup; indexed, then edited and indexed again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import SEEDS, run_indexer

EXACT = "mirror/002-copy.txt"
NEAR = "wire/003-syndicated.txt"
HOSTILE = "zz_hostile.txt"
HOSTILE_TEXT = (
    "Harbour authority report on cargo\n\n"
    'The harbour authority said <script>alert("v1")</script> cargo volumes rose & fell this spring, '
    "while dock workers prepared for a long season of repairs on the northern quay.\n\n"
    "Officials expect the quay to reopen in autumn after the repairs are finished and inspected.\n"
)


def seed(name: str) -> Path:
    return sorted(SEEDS.glob(f"{name}_*.txt"))[0]


def syndicate(text: str) -> str:
    """What a wire client does to a story: new headline, header and footer, a paragraph cut."""
    paras = [p for p in text.split("\n\n") if p.strip()]
    body = paras[3:-3] + paras[-2:-1]  # drops both headlines, furniture and a late paragraph
    return ("EXAMPLE WIRE SERVICE - FOR SUBSCRIBERS ONLY\n\n"
            "Watchdog drops claim linking Megvii to Xinjiang police app\n\n"
            + "\n\n".join(body)
            + "\n\n(c) Example Wire 2019. Republished under licence.\n")


def add_manifest(corpus: Path, entries: list[dict]) -> None:
    with open(corpus / "manifest.jsonl", "a", encoding="utf-8") as fh:
        for e in entries:
            fh.write(json.dumps(e) + "\n")


def build_provenance_corpus(corpus: Path, index: Path, after_each=None) -> tuple[Path, Path]:
    """The corpus above, indexed, then seed 003 and the hostile page edited and indexed again.
    ``after_each(corpus)``, if given, runs after each of the two runs (another sink's run)."""
    shutil.copytree(SEEDS, corpus)
    (corpus / EXACT).parent.mkdir()
    shutil.copy(seed("002"), corpus / EXACT)
    (corpus / NEAR).parent.mkdir()
    (corpus / NEAR).write_text(syndicate(seed("003").read_text("utf-8")), "utf-8")
    (corpus / HOSTILE).write_text(HOSTILE_TEXT, "utf-8")
    add_manifest(corpus, [
        {"file": EXACT, "source": "Mirror Daily", "date": "2019-06-01"},
        {"file": NEAR, "source": "Example Wire", "date": "2019-07-02"},
    ])
    run_indexer(corpus, index, "--quiet")
    if after_each is not None:
        after_each(corpus)
    s003 = corpus / seed("003").name
    s003.write_text(s003.read_text("utf-8")
                    .replace("Human Rights Watch has withdrawn an assertion", "Human Rights Watch quietly withdrew an assertion")
                    .replace("\nRights Group Corrects Report Linking Megvii to Xinjiang Police\n",
                             "\nRights Group Retracts Megvii Claim\n"), "utf-8")
    (corpus / HOSTILE).write_text(HOSTILE_TEXT.replace('alert("v1")', 'alert("v2")</b><i>')
                                  .replace("rose & fell", "fell & rose"), "utf-8")
    run_indexer(corpus, index, "--quiet")
    if after_each is not None:
        after_each(corpus)
    return corpus, index
