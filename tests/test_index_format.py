"""The indexer's fast paths write exactly what Whoosh's own code would, on real text.

Two shortcuts make indexing faster: postings computed in one loop (``index_postings``)
instead of Whoosh's per-token generators, and a writer codec that reads field lengths
from memory at commit. Both must be invisible in the index; these tests compare them
with Whoosh's own paths on the seeds and Reuters stories.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from whoosh import fields, index
from whoosh.codec.whoosh3 import W3Codec

from common.schema import build_schema
from common.layout import open_live_index
from common.codec import ArrayCodec
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
REUTERS = SHARED_DATA / "reuters21578" / "docs.jsonl.gz"

TRICKY = [
    "Face++ and U.S. re-education camps; Megvii’s IJOP app, 13,000 people in 2019.",
    "co-op's well-- --x -- ' ’s x- a-b-c Zürich naïve 中国 C# 1.5.3",
    "Groß-Berlin’s Müller-Lüdenscheidt, Ｍüller and the ﬁnance of Łódź-Straße; 가나 が",
    "",
    "   \n\n ",
]


def real_texts(n_reuters: int = 300) -> list[str]:
    texts = [p.read_text("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))] + TRICKY
    if REUTERS.is_file():
        with gzip.open(REUTERS, "rt", encoding="utf-8") as fh:
            for line, _ in zip(fh, range(n_reuters)):
                texts.append(json.loads(line)["text"])
    return texts


@pytest.mark.parametrize("name", ["title", "body"])
def test_fast_postings_equal_whoosh_postings(name: str) -> None:
    field = build_schema()[name]
    for text in real_texts():
        whoosh_way = sorted(fields.TEXT.index(field, text))
        assert sorted(field.postings(text).items) == whoosh_way, text[:80]
        assert sorted(field.index(text)) == whoosh_way


def _build(folder: Path, codec, texts: list[str]) -> index.Index:
    folder.mkdir()
    ix = index.create_in(folder, build_schema())
    with ix.writer(codec=codec) as w:
        for i, text in enumerate(texts):
            title, _, body = text.strip().partition("\n")
            w.add_document(id=str(i), kind="article", path=f"{i}.txt", title=title, body=body,
                           tags="a,b" if i % 3 else None)
    return ix


def _contents(ix: index.Index) -> tuple:
    with ix.reader() as r:
        terms = [
            (fn, t, r.term_info(fn, t).min_length(), r.term_info(fn, t).max_length(),
             r.term_info(fn, t).max_weight(), list(r.postings(fn, t).all_items()))
            for fn, t in r.all_terms()
        ]
        lengths = {fn: [r.doc_field_length(d, fn) for d in range(r.doc_count_all())]
                   for fn in ("title", "body", "tags")}
        stored = list(r.all_stored_fields())
    return terms, lengths, stored


def test_writer_codec_writes_what_whoosh_writes(tmp_path: Path) -> None:
    texts = real_texts()
    plain = _build(tmp_path / "plain", W3Codec(), texts)
    fast = _build(tmp_path / "fast", ArrayCodec(), texts)
    assert _contents(fast) == _contents(plain)
    # readers need no flag: each segment records the codec that wrote it
    assert {type(s.codec()) for s in fast._segments()} == {ArrayCodec}


def test_file_state_fields_are_columns_not_terms(seed_index: Path) -> None:
    ix = open_live_index(seed_index)
    with ix.searcher() as s:
        reader = s.reader()
        names = {fn for fn, _ in reader.all_terms()}
        assert {"id", "kind", "title", "body"} <= names
        assert not names & {"path", "file_hash", "content_hash", "meta_hash", "year", "month"}
        paths = [p for p in reader.column_reader("path")]
        assert sorted(paths) == sorted(d["path"] for d in s.all_stored_fields())


def test_query_tokens_are_nltks_tokens() -> None:
    """The query side's tokenizer fast path finds exactly NLTK's tokens, on real text."""
    from common.analysis import nltk_tokenizer, query_tokens

    for text in real_texts(300):
        assert query_tokens(text) == nltk_tokenizer().tokenize(text), text[:80]


def test_index_spans_are_nltks_spans() -> None:
    """The index side's tokenizer fast path gives exactly NLTK's spans, on real text and
    on a text long enough to be tokenized in pieces."""
    from common.analysis import TOKENIZE_PIECE, nltk_tokenizer, span_tokenize

    texts = real_texts(300)
    long_text = "\n\n".join(texts)
    # Without ../shared the texts are the seeds, too short together: repeat them.
    long_text = "\n\n".join([long_text] * (2 * TOKENIZE_PIECE // len(long_text) + 1))
    assert len(long_text) > 2 * TOKENIZE_PIECE
    for text in texts + [long_text]:
        assert list(span_tokenize(text)) == list(nltk_tokenizer().span_tokenize(text)), text[:80]


def test_term_counts_are_the_index_terms_occurrences() -> None:
    """Feedback's counting shortcut counts what indexing records, hyphen parts included."""
    from common.analysis import term_counts, term_spans

    for text in real_texts(300):
        assert dict(term_counts(text)) == {t: len(occ) for t, occ in term_spans(text).items()}, text[:80]
    assert term_counts("well-known, well known")["well"] == 2
