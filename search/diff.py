"""A word-level diff of two texts as safe HTML: removed words in <del>, added in <ins>.

Paragraphs are matched first and words only inside changed paragraphs, so the cost
stays bounded on long articles (a word-level SequenceMatcher over a whole 5 MB page
could run for minutes); a changed block too large to diff word by word is marked whole.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from markupsafe import escape

_TOKEN = re.compile(r"\s+|[^\s]+")
_PARA = re.compile(r"(\n\s*\n)")
MAX_WORD_DIFF_TOKENS = 20_000  # per changed block (words and spaces of both sides)


def word_diff_html(old: str, new: str) -> str:
    """The new text with changes marked; every piece of document text is escaped."""
    a, b = _paragraphs(old), _paragraphs(new)
    keys_a, keys_b = [p.strip() for p in a], [p.strip() for p in b]  # a last paragraph has no break
    out: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, keys_a, keys_b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(str(escape("".join(b[j1:j2]))))
        else:
            out.append(_words("".join(a[i1:i2]), "".join(b[j1:j2])))
    return "".join(out)


def _paragraphs(text: str) -> list[str]:
    """Paragraphs, each with the break after it (so breaks are not thousands of equal items)."""
    parts = _PARA.split(text)
    return ["".join(parts[i : i + 2]) for i in range(0, len(parts), 2)]


def _words(old: str, new: str) -> str:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    if len(a) + len(b) > MAX_WORD_DIFF_TOKENS:
        return _wrap("del", a) + _wrap("ins", b)
    out: list[str] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(str(escape("".join(b[j1:j2]))))
            continue
        if op in ("delete", "replace"):
            out.append(_wrap("del", a[i1:i2]))
        if op in ("insert", "replace"):
            out.append(_wrap("ins", b[j1:j2]))
    return "".join(out)


def _wrap(tag: str, tokens: list[str]) -> str:
    """Mark the words; white space at the edges stays outside the mark."""
    text = "".join(tokens)
    core = text.strip()
    if not core:
        return str(escape(text)) if tag == "ins" else ""
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    # a mark never spans a paragraph break, so the page can split the diff into paragraphs
    inner = "".join(piece if _PARA.fullmatch(piece) else f"<{tag}>{escape(piece)}</{tag}>"
                    for piece in _PARA.split(core) if piece)
    return f"{escape(lead)}{inner}{escape(trail)}"
