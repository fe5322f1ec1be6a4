"""Hostile and odd corpus files: each is skipped with its reason or indexed correctly, and
the run completes (exit 0). Complements test_indexer_runs.py::test_bad_files_are_skipped_with_reasons.
Big and deep files are generated here at test time, never committed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from common.layout import open_live_index
from conftest import SEEDS, run_indexer
from indexer.decode import decode_bytes

GOOD_BODY = ("The harbour authority said on Tuesday that the new ferry terminal would open in "
             "the spring, after two years of delays caused by storms and a shortage of steel.")


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> tuple[dict, dict[str, dict], Path]:
    """(run summary, documents by path, corpus) for one run over a corpus of bad files."""
    tmp = tmp_path_factory.mktemp("bad-inputs")
    corpus = tmp / "corpus"
    shutil.copytree(SEEDS, corpus)
    bad = corpus / "bad"
    bad.mkdir()
    # UTF-8 text with a stray byte and a multi-byte sequence cut short (a spliced scrape).
    (bad / "invalid-utf8.txt").write_bytes(
        "Ferry terminal delayed – again\n\nThe €40m terminal’s café opens soon. ".encode("utf-8")
        + GOOD_BODY.encode("utf-8")[:60] + b"\xe2\x80 \xff" + GOOD_BODY.encode("utf-8")[60:] + b"\n")
    # Latin-1 HTML that declares its charset.
    (bad / "latin1.html").write_bytes(
        ('<html><head><meta charset="iso-8859-1"><title>Caf\u00e9 prices rise</title></head><body>'
         '<article><h1>Caf\u00e9 prices rise</h1><p>Caf\u00e9 owners in M\u00fcnster said the '
         '\u00a34 rise in rent would be passed on to customers over the summer.</p><p>'
         + GOOD_BODY + '</p></article></body></html>').encode("latin-1"))
    (bad / "utf16.txt").write_text("Tide tables published\n\n" + GOOD_BODY + "\n", "utf-16")
    (bad / "binary.html").write_bytes(os.urandom(4096) + b"\x00" * 64)
    (bad / "empty.html").write_bytes(b"")
    (bad / "whitespace.txt").write_text(" \n\t\n  \n", "utf-8")
    # 50 MB: over the default 5 MB limit, skipped on its size (its content is never read).
    with open(bad / "huge.txt", "wb") as fh:
        fh.write(b"Huge file\n\n")
        fh.write((GOOD_BODY.encode() + b"\n") * (50 * 1024 * 1024 // (len(GOOD_BODY) + 1)))
    # 10,000-deep nested HTML around a real paragraph.
    (bad / "deep.html").write_text(
        "<html><head><title>Deep page</title></head><body>" + "<div>" * 10_000
        + f"<p>{GOOD_BODY}</p>" + "</div>" * 10_000 + "</body></html>", "utf-8")
    (bad / "scripts-only.html").write_text(
        "<html><head><script>var a = 1;</script></head><body>"
        + "<script>document.write('hello world ' + a);</script>" * 200
        + "<style>body{color:red}</style><noscript></noscript></body></html>", "utf-8")
    # Symlinks: a folder loop, a file out of the corpus, a broken link, and one inside (kept).
    (bad / "loop").mkdir()
    (bad / "loop" / "again").symlink_to(bad / "loop")
    (bad / "self.txt").symlink_to(bad / "self.txt")
    outside = tmp / "secret.txt"
    outside.write_text("Secret memo\n\n" + GOOD_BODY + " This must never be indexed.\n", "utf-8")
    (bad / "escape.txt").symlink_to(outside)
    (bad / "escape-dir").symlink_to(tmp)
    (bad / "broken.txt").symlink_to(tmp / "does-not-exist.txt")
    (bad / "inside-link.txt").symlink_to(corpus / "000_e1c154806f9c8927.txt")
    # Not a regular file: reading a FIFO would block the run forever.
    os.mkfifo(bad / "pipe.txt")
    # A file name that is not valid UTF-8 (bytes from a foreign file system).
    os.close(os.open(os.fsencode(bad) + b"/caf\xe9.txt", os.O_WRONLY | os.O_CREAT, 0o644))
    with open(os.fsencode(bad) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(("Odd file name\n\n" + GOOD_BODY + "\n").encode())

    index = tmp / "index"
    proc = run_indexer(corpus, index, "--json")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    ix = open_live_index(index)
    with ix.searcher() as s:
        # skipped files are recorded (so they are not re-read) but are never articles
        docs = {d["path"]: d for d in s.all_stored_fields() if d["kind"] != "skipped"}
    return summary, docs, corpus


def reasons(summary: dict) -> dict[str, str]:
    return {item["path"]: item["reason"] for item in summary["skipped_files"]}


@pytest.mark.parametrize(
    "path, reason",
    [
        ("bad/binary.html", "binary file"),
        ("bad/empty.html", "empty file"),
        ("bad/whitespace.txt", "no article text after cleaning"),
        ("bad/huge.txt", "file too large"),
        ("bad/scripts-only.html", "no article text after cleaning"),
        ("bad/loop/again", "symlinked folder inside the corpus"),
        ("bad/self.txt", "symlink loop or broken symlink"),
        ("bad/broken.txt", "symlink loop or broken symlink"),
        ("bad/escape.txt", "symlink leaves the corpus folder"),
        ("bad/escape-dir", "symlink leaves the corpus folder"),
        ("bad/pipe.txt", "not a regular file"),
        ("bad/caf\\xe9.txt", "file name is not valid UTF-8"),
    ],
)
def test_skipped_with_reason(outcome, path, reason):
    summary, docs, _ = outcome
    assert reasons(summary).get(path, "").startswith(reason), reasons(summary)
    assert path not in docs


@pytest.mark.parametrize(
    "data, text, encoding",
    [
        ("Café – déjà vu".encode(), "Café – déjà vu", "utf-8"),
        ("Café – déjà".encode() + b"\xe2\x80", "Café – déjà\ufffd", "utf-8-replace"),  # cut mid-character
        ("naïve ".encode() + b"\xff" + " résumé".encode(), "naïve \ufffd résumé", "utf-8-replace"),
        ("Café in Zürich".encode("latin-1"), "Café in Zürich", "cp1252"),
        ("£5 – “quoted”".encode("cp1252"), "£5 – “quoted”", "cp1252"),
        (b"plain \xff ascii", "plain ÿ ascii", "cp1252"),  # nothing valid to keep: legacy
    ],
    ids=["utf8", "utf8-cut", "utf8-stray-byte", "latin1", "cp1252", "ascii-stray-byte"],
)
def test_decode_mostly_utf8_keeps_utf8(data, text, encoding):
    assert decode_bytes(data) == (text, encoding)


def test_invalid_utf8_is_indexed_without_losing_the_text(outcome):
    doc = outcome[1]["bad/invalid-utf8.txt"]
    assert doc["title"].startswith("Ferry terminal delayed")
    assert "â€" not in doc["title"] + doc["body"]  # read as UTF-8, not turned into mojibake
    assert "shortage of steel" in doc["body"] and "The €40m terminal’s café" in doc["body"]


@pytest.mark.parametrize("path, phrase", [("bad/latin1.html", "Café owners in Münster"),
                                          ("bad/utf16.txt", "ferry terminal would open")])
def test_legacy_encodings_are_indexed(outcome, path, phrase):
    assert phrase in outcome[1][path]["body"]


def test_deep_html_is_indexed_or_skipped_with_reason(outcome):
    summary, docs, _ = outcome
    if "bad/deep.html" in docs:
        assert "shortage of steel" in docs["bad/deep.html"]["body"]
    else:
        assert reasons(summary)["bad/deep.html"]


def test_symlink_inside_the_corpus_is_a_duplicate_not_an_escape(outcome):
    summary, docs, _ = outcome
    assert docs["bad/inside-link.txt"]["kind"] == "duplicate"
    ix_bodies = " ".join(d.get("body", "") for d in docs.values())
    assert "must never be indexed" not in ix_bodies


def test_run_completes_and_counts_add_up(outcome):
    summary, docs, corpus = outcome
    assert summary["skipped"] == len(summary["skipped_files"])
    assert summary["added"] + summary["duplicates"] == len(docs)
    # the good seeds are all there and searchable
    assert all(p in docs for p in os.listdir(corpus) if p.endswith(".txt"))
