"""A word-level diff of two texts as safe HTML: removed words in <del>, added in <ins>."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from markupsafe import escape

_TOKEN = re.compile(r"\s+|[^\s]+")
_PARA = re.compile(r"(\n\s*\n)")


def word_diff_html(old: str, new: str) -> str:
    """The new text with changes marked; every piece of document text is escaped."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[str] = []
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
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
