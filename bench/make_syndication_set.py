"""Generate the labelled syndication set from real Reuters-21578 stories (kept in the repo).

What syndication does to a wire story, applied to real stories: each picked story is
re-published by three outlets, each with its own headline, boilerplate header and footer
and unwrapped paragraphs, and one more edit: a paragraph cut, a sentence changed to the
outlet's house style, or the story trimmed to its first paragraphs (a short version
inside the long one). Next to each story, a *different* story on the same topic from the
same day (or the nearest day) is added: the pair must not merge.

    python bench/make_syndication_set.py [--stories 60] [--seed 13] [--out tests/data/syndication.jsonl.gz]

Each line: {"file", "story", "role": original|copy|distractor, "edits", "source", "date", "text"}.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REUTERS = ROOT.parent / "shared" / "data" / "reuters21578" / "docs.jsonl.gz"
OUT = ROOT / "tests" / "data" / "syndication.jsonl.gz"

OUTLETS = [
    ("Lakeside Herald", "LAKESIDE HERALD | Business | Markets", "Copyright Lakeside Herald. All rights reserved. Distributed by wire service."),
    ("Daily Ledger", "Daily Ledger - Subscribe for full access - Sign in", "Reporting by Reuters; editing for the Daily Ledger. Share this story: Facebook Twitter Email"),
    ("Coastal Times", "COASTAL TIMES BUSINESS DESK", "This story has not been edited by Coastal Times staff and is published from a syndicated feed."),
    ("Metro Business Wire", "Metro Business Wire :: Latest news", "(c) 1987 Metro Business Wire. Republication or redistribution is prohibited."),
    ("Prairie Courier", "PRAIRIE COURIER - MONEY", "More from the Prairie Courier: markets, commodities, companies. Advertisement"),
]
HOUSE_STYLE = [(r"\bmln\b", "million"), (r"\bdlrs\b", "dollars"), (r"\bpct\b", "percent"),
               (r"\bsaid\b", "told reporters"), (r"\bbln\b", "billion"), (r"\bcts\b", "cents")]
_INDENT = re.compile(r"\n(?=[ \t]{2,}\S)")


def paragraphs(text: str) -> list[str]:
    """A Reuters body's paragraphs (indented rows start one), each unwrapped into one line."""
    return [" ".join(p.split()) for p in _INDENT.split(text) if p.strip()]


def eligible(d: dict) -> bool:
    """Prose stories long enough to syndicate (no results tables, at least three paragraphs)."""
    text = d.get("text") or ""
    words = text.split()
    digits = sum(ch.isdigit() for ch in text) / max(1, len(text))
    return (d.get("text_type") == "NORM" and bool(d.get("title")) and bool(d.get("topics"))
            and 150 <= len(words) <= 700 and digits < 0.05 and len(paragraphs(text)) >= 3)


def headline(d: dict, paras: list[str], rng: random.Random) -> str:
    """An outlet's own headline: from the lead sentence, or the wire slug rewritten."""
    lead = re.split(r"(?<=[a-z0-9])\.\s", paras[0])[0].split()
    if rng.random() < 0.5 and len(lead) > 6:
        return " ".join(lead[: rng.randint(6, min(12, len(lead)))]).rstrip(",;")
    words = d["title"].title().split()
    return " ".join(w for w in words if rng.random() > 0.2) or d["title"].title()


def edit(paras: list[str], kind: str, rng: random.Random) -> list[str]:
    out = list(paras)
    if kind == "cut" and len(out) > 2:
        del out[rng.randrange(1, len(out))]
    elif kind == "sentence":
        i = rng.randrange(len(out))
        sentences = re.split(r"(?<=\.)\s", out[i])
        j = rng.randrange(len(sentences))
        s = sentences[j]
        for pattern, repl in HOUSE_STYLE:
            s = re.sub(pattern, repl, s)
        sentences[j] = s if s != sentences[j] else "Analysts noted that " + s[:1].lower() + s[1:]
        out[i] = " ".join(sentences)
    elif kind == "trim":
        out = out[: max(2, (len(out) * 3 + 4) // 5)]
    return out


def copies(d: dict, rng: random.Random) -> list[dict]:
    paras = paragraphs(d["text"])
    day = datetime.fromisoformat(d["date"]).date()
    kinds = ["cut", "sentence", "trim"] if len(paras) >= 4 else ["cut", "sentence", "sentence"]
    rng.shuffle(kinds)
    out = []
    for n, (outlet, kind) in enumerate(zip(rng.sample(OUTLETS, 3), kinds), start=1):
        name, header, footer = outlet
        body = edit(paras, kind, rng)
        text = f"{header}\n\n{headline(d, paras, rng)}\n\n" + "\n\n".join(body) + f"\n\n{footer}\n"
        out.append({"file": f"{_slug(name)}/{d['id']}-{n}.txt", "story": d["id"], "role": "copy",
                    "edits": ["headline", "header", "footer", kind], "source": name,
                    "date": (day + timedelta(days=rng.randint(1, 3))).isoformat(), "text": text})
    return out


def title_key(title: str) -> str:
    """A headline without ticker symbols and punctuation: Reuters re-sends vary in those."""
    return " ".join(re.sub(r"[^A-Z ]+", " ", re.sub(r"<[^>]*>", " ", title.upper())).split())


def lead_key(text: str) -> str:
    """The first ten words of a body: a corrected re-send keeps its lead."""
    return " ".join(text.split()[:10]).lower()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z]+", "-", name.lower()).strip("-")


def original(d: dict, role: str = "original") -> dict:
    """The wire story as a text dump: headline, blank line, the wrapped body."""
    return {"file": f"reuters/{d['id']}.txt", "story": d["id"], "role": role, "edits": [],
            "source": "Reuters", "date": d["date"][:10], "text": f"{d['title']}\n\n{d['text']}\n"}


def distractor(d: dict, pool: list[dict], used: set[str]) -> dict | None:
    """A different story with the same first topic, nearest in time (never a repeat of it)."""
    topic, when = d["topics"][0], datetime.fromisoformat(d["date"])
    same = [o for o in pool if o["id"] not in used and o["topics"][:1] == [topic]
            and title_key(o["title"]) != title_key(d["title"]) and lead_key(o["text"]) != lead_key(d["text"])]
    if not same:
        return None
    best = min(same, key=lambda o: (abs((datetime.fromisoformat(o["date"]) - when).total_seconds()), o["id"]))
    return original(best, role="distractor")


def generate(n_stories: int, seed: int) -> list[dict]:
    with gzip.open(REUTERS, "rt", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh]
    titles: dict[str, int] = {}
    leads: dict[str, int] = {}
    for d in docs:
        titles[title_key(d.get("title") or "")] = titles.get(title_key(d.get("title") or ""), 0) + 1
        leads[lead_key(d.get("text") or "")] = leads.get(lead_key(d.get("text") or ""), 0) + 1
    # stories Reuters itself sent twice (same headline or lead, corrections) would blur the labels
    pool = [d for d in docs if eligible(d) and titles[title_key(d["title"])] == 1 and leads[lead_key(d["text"])] == 1]
    rng = random.Random(seed)
    picked = rng.sample(pool, n_stories)
    used = {d["id"] for d in picked}
    rows = []
    for d in sorted(picked, key=lambda d: int(d["id"])):
        rows.append(original(d))
        rows.extend(copies(d, rng))
        other = distractor(d, pool, used)
        if other is not None:
            used.add(other["story"])
            other["pair_of"] = d["id"]
            rows.append(other)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stories", type=int, default=60)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    if not REUTERS.exists():
        print(f"needs {REUTERS}", file=sys.stderr)
        return 1
    rows = generate(args.stories, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = {role: sum(r["role"] == role for r in rows) for role in ("original", "copy", "distractor")}
    print(f"{len(rows)} files ({counts}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
