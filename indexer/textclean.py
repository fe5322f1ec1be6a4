"""Clean scraped plain-text dumps of news pages: keep the article word for word.

A dump is the whole visible text of a page: navigation, headline, article, share
buttons, related links, comment forms, footer. Cleaning is a chain of small, named,
pure steps over a `Page` (see `STEPS`); each step drops or rewrites whole lines and
records what it dropped, so a test or a debugging session can see why a line went.

Three signals decide what is furniture, none of them a list of one site's strings:
- patterns kept as data (`FURNITURE_PATTERNS`, `END_MARKERS`, ...), in common phrasings;
- the corpus signal: line keys that recur across many pages of one source
  (`furniture_candidates`, counted by `indexer.furniture`), passed in as `furniture`;
- line shape: the article is the densest run of long, sentence-like lines
  (`select_main_run`); short lines without sentence punctuation before and after it are
  furniture, while a short line between real paragraphs is a subheading and stays.

Line shape needs one paragraph per line, so the first step (`unwrap_hard_wraps`) joins
the rows of hard-wrapped dumps (wire copy wrapped at ~65 columns) back into paragraphs;
without it every wrapped row would look like a short furniture line.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from common.analysis import is_stopword

# --- Public result -------------------------------------------------------------------


@dataclass
class TextArticle:
    """A cleaned page: headline, article paragraphs, topic tags, and what was dropped."""

    title: str  # headline; "" if none could be found or derived
    body: str  # article paragraphs joined by "\n\n", word for word
    tags: list[str]  # from an "Article Topics" style tag line, else []
    removed: list[str]  # lines dropped (for debugging/tests)


# --- Data tables ---------------------------------------------------------------------

def _full(*phrasings: str) -> re.Pattern[str]:
    """One case-insensitive pattern that must match a whole (stripped) line."""
    return re.compile(r"(?:%s)\W*" % "|".join(phrasings), re.IGNORECASE)


# Whole lines that are page furniture wherever they appear. Keyed by a name so the
# reason a line was dropped is readable in `removed` while debugging.
FURNITURE_PATTERNS: dict[str, re.Pattern[str]] = {
    "tracking": _full(r"fb pixel", r"facebook pixel", r"tracking pixel", r"noscript"),
    "advertisement": _full(
        r"advertisement", r"advertising", r"\W*ad(?:vert)?", r"sponsored(?: content)?",
        r"story continues below(?: advertisement)?", r"continue reading below",
        r"article continues below", r"scroll to continue(?: with content)?",
        r"report an ad", r"ad feedback", r"skip (?:this )?ad",
    ),
    "share": _full(
        r"share(?: this(?: article| story| post| page)?)?(?: on \w+)?",
        r"(?:share|tweet|email|print|pin|save|like)(?: (?:this|it|article|story))?",
        r"(?:facebook|twitter|linkedin|pinterest|reddit|whatsapp|email|print|flipboard|"
        r"messenger|telegram|tumblr|mix|copy link|google\+?)",
        r"sharing is caring",
        r"\d+ shares?",
        r"follow (?:us|[\w .]{1,30}) on (?:facebook|twitter|instagram|linkedin|youtube|"
        r"flipboard|rss|google news)",
        r"click to (?:share|email|print)[^.]{0,60}",
    ),
    "subscribe": _full(
        r"subscribe(?: now| today| to [\w ]{1,40})?", r"sign up(?: now| today)?",
        r"sign (?:up|in)(?: for [\w ]{1,40})?", r"log ?in", r"log out", r"register",
        r"(?:get|join) (?:our|the) [\w ]{0,30}newsletters?[^.]{0,60}",
        r"[\w ]{0,30}newsletters?", r"sign up for [^.]{0,80}newsletter[^.]{0,80}",
        r"enter your email(?: address)?[^.]{0,60}",
        r"support (?:independent|quality) journalism", r"contribute", r"donate",
        r"already (?:a subscriber|have an account)\??[^.]{0,40}",
    ),
    "cookie": _full(
        r".{0,120}\b(?:we|this (?:site|website)|our (?:site|website|partners))\b.{0,60}"
        r"\buses? cookies\b.{0,400}",
        r".{0,120}\bby (?:continuing|using)\b.{0,40}\b(?:site|website)\b.{0,80}"
        r"\b(?:cookies|privacy policy|terms)\b.{0,200}",
        r"accept(?: all)?(?: cookies)?", r"i agree", r"got it", r"ok(?:ay)?",
    ),
    "related": _full(
        r"related(?: posts?| articles?| stories| content| news| coverage| links| topics|"
        r" videos?)?",
        r"(?:you )?(?:may|might) (?:also )?(?:like|enjoy|be interested in)",
        r"(?:more|read more|see more|also read|read also|read next|up next|what to read next)"
        r"(?: (?:from|on|about|in) [\w .'’&-]{1,40})?",
        r"recommended(?: for you| stories| articles)?", r"trending(?: now| stories)?",
        r"most (?:read|popular|viewed|shared|emailed)(?: (?:from )?(?:this|the) "
        r"(?:week|month|day))?(?: on [\w .]{1,30})?",
        r"(?:top|latest|recent|more|editor'?s?’?s?) (?:stories|news|posts|articles|picks)"
        r"(?: (?:from|on|in) [\w .]{1,40})?",
        r"latest [\w .]{1,30} news", r"don'?’?t miss", r"popular(?: posts| stories)?",
        r"featured(?: company| posts?| stories| articles| content)?",
        r"(?:previous|next)(?: (?:post|article|story))?", r"(?:back to|return to) top",
        r"load more(?: stories| articles)?", r"show (?:more|less)",
    ),
    "comments": _full(
        r"comments?(?: \(\d+\))?", r"\d+ comments?", r"no comments(?: yet)?",
        r"leave a (?:reply|comment)", r"post a comment", r"add (?:a|your) comment",
        r"join the (?:discussion|conversation)", r"view comments", r"show comments",
        r"this site uses akismet to reduce spam\.? learn how your comment data is "
        r"processed", r"comments are closed", r"you must be logged in to post a comment",
        r"your email address will not be published\.?(?: required fields are marked \*)?",
        r"cancel reply", r"(?:post|submit) comment", r"(?:name|email|website)\s*\*?",
        r"save my name, email, and website in this browser for the next time i comment",
        r"notify me of (?:new|follow-up) (?:comments|posts)[^.]{0,60}",
    ),
    "copyright": _full(
        r"(?:©|\(c\)|ⓒ|copyright)\s*(?:©\s*)?\d{4}(?:\s*[-–]\s*\d{4})?[^.]{0,80}\.?"
        r"(?:\s*all rights reserved\.?)?[^.]{0,40}",
        r"(?:copyright )?(?:©|ⓒ)[^.]{0,80}",
        r"all rights reserved\.?[^.]{0,60}",
        r"this (?:material|article|content) may not be (?:published|reproduced|copied)"
        r"[^.]{0,120}\.?(?:[^.]{0,120}(?:©|copyright|rights reserved)[^.]{0,120}\.?)*",
    ),
    "contact": _full(
        r"to contact the (?:reporters?|authors?|writers?|editors?)[^:]{0,60}:.*",
        r"(?:contact|email|write to) (?:the )?(?:reporters?|authors?|writers?|editors?)"
        r"[^:]{0,40}:.*",
        r"(?:reporting|writing|editing|additional reporting) by [^.]{0,120}\.?"
        r"(?:\s*(?:reporting|writing|editing|additional reporting) by [^.]{0,120}\.?)*",
        r"(?:got|have) a (?:news )?tip\??[^.]{0,60}",
    ),
    "site_sections": _full(
        r"home", r"menu", r"search", r"search icon", r"close", r"skip to (?:main )?content",
        r"toggle navigation", r"navigation", r"open menu", r"close menu", r"more",
        r"(?:about|contact|privacy|terms)(?: us| policy| of (?:use|service)| me)?",
        r"(?:privacy policy|terms of (?:use|service)|cookie policy)(?:\s*[|·•]\s*[\w ]+)*",
        r"(?:insight,? opinion|white papers|events|explaining [\w ]{1,30}|[\w ]{1,20} "
        r"(?:insight,? opinion|white papers|events))",
    ),
    "media": _full(
        r"(?:image|photo|picture|video)s?(?: credits?)?\s*:[^.]{0,80}", r"(?:watch|play) video",
        r"(?:getty images|shutterstock|ap photo|reuters)[^.]{0,40}",
        r"\d+ of \d+", r"(?:view|open|enlarge) (?:image|photo|gallery)[^.]{0,40}",
    ),
}

# One alternation of all the patterns, one named group each: a single pass per line.
_ANY_FURNITURE: re.Pattern[str] = re.compile(
    "|".join(f"(?P<{name}>{p.pattern})" for name, p in FURNITURE_PATTERNS.items()),
    re.IGNORECASE,
)
# Furniture lines are short; the cookie notice is the longest phrasing in the table.
FURNITURE_MAX_CHARS = 700

# A bare heading that opens the page's tail (comments, related links): a strong break,
# so the main run does not bridge it unless much more article follows.
END_MARKERS: re.Pattern[str] = _full(
    r"related(?: posts?| articles?| stories| content| news| coverage)?",
    r"(?:you )?(?:may|might) (?:also )?(?:like|enjoy)", r"recommended(?: for you)?",
    r"leave a (?:reply|comment)", r"comments?(?: \(\d+\))?", r"\d+ comments?",
    r"more (?:stories|news|articles|from [\w .'’&-]{1,40})", r"most (?:read|popular)[\w ]*",
    r"latest [\w .]{1,30} news", r"(?:article )?(?:topics|tags)", r"share this(?: article)?",
    r"about the author", r"read next", r"trending(?: now)?",
)

# A line that opens the comment section; everything after it is readers' text.
COMMENT_MARKERS: re.Pattern[str] = _full(
    r"\d+ (?:comments?|responses?|replies|thoughts|reactions)(?: (?:to|on) .{0,200})?",
    r"(?:one|no) (?:comment|response|thought)s?(?: (?:to|on) .{0,200})?",
    r"leave a (?:reply|comment)", r"post a comment", r"add (?:a|your) comment",
    r"join the (?:discussion|conversation)", r"(?:reader|user|show|view|load) comments",
    r"comments are closed", r"[^.!?]{1,80} (?:says|said|wrote|replied)\s*:",
)
# A bare "Comments" heading is as often a button in a share bar ("Facebook", "Twitter",
# "Comments", "Print"): it opens the comments only when no share button is beside it.
BARE_COMMENTS: re.Pattern[str] = _full(r"comments(?: \(\d+\))?", r"discussion")
SHARE_BAR_REACH = 2
# Article prose (in words, furniture not counted) that must come before a marker for it
# to end the page; an earlier marker belongs to the page head.
COMMENTS_MIN_ARTICLE_WORDS = 25
COMMENTS_MIN_PROSE_SHARE = 0.2  # ... and this share of the page's prose

# A heading that announces a tag line, or a tag line with its label inline.
TAG_HEADING: re.Pattern[str] = _full(
    r"(?:article |related |story )?(?:topics|tags|keywords)", r"filed under", r"tagged(?: with)?",
)
TAG_INLINE: re.Pattern[str] = re.compile(
    r"(?:article topics|topics|tags|tagged(?: with)?|filed under|keywords)\s*:\s*(?P<tags>.+)",
    re.IGNORECASE,
)
TAG_SEPARATORS: re.Pattern[str] = re.compile(r"\s*[|,;·•]\s*")

# An inline photo credit: "(Picture: Simon Song/SCMP)", "(Photo: AP)", "[Image: Getty]".
PHOTO_CREDIT: re.Pattern[str] = re.compile(
    r"\s*[(\[](?:picture|photo|photograph|image|pic|credit|photo credit|image credit|"
    r"illustration|video)s?\s*[:/]\s*[^)\]]{1,80}[)\]]",
    re.IGNORECASE,
)
# A caption (the text left once its credit is gone) shorter than this is a label for a
# picture, not a paragraph; a longer one reads as a sentence of the story and stays.
CAPTION_MIN_WORDS = 10

# Words a timestamp line may be made of ("Updated 2019-06-06 1:50 PM").
TIMESTAMP_WORDS: frozenset[str] = frozenset(
    """updated update published posted last modified on at am pm a m p m
    utc gmt est edt cst cdt pst pdt bst cet cest ist jst kst et pt ct mt hkt sgt
    jan january feb february mar march apr april may jun june jul july aug august sep sept
    september oct october nov november dec december mon monday tue tues tuesday wed
    wednesday thu thur thurs thursday fri friday sat saturday sun sunday st nd rd th
    hours hour minutes minute ago h min mins""".split()
)
TIMESTAMP_MAX_CHARS = 80
# An editor's note announces itself; it is a real paragraph even if it starts with a date.
EDITORS_NOTE: re.Pattern[str] = re.compile(
    r"(?:update|updated|editor'?s?’?s? note|correction|clarification)\b[^:]{0,40}:\s*\S",
    re.IGNORECASE,
)

# Menu-like lines: many short items joined by separators ("Home | News | Sport").
MENU_SEPARATORS: re.Pattern[str] = re.compile(r"\s+[|•·›»/>]\s+|\s*[|•›»]\s*")
BYLINE: re.Pattern[str] = re.compile(r"(?:by|written by|posted by|von|por|par)\s+\S", re.I)

SENTENCE_END = tuple(".!?…。！？:")
CLOSERS = "\"”’»)]"
WORD_RE = re.compile(r"\w+", re.UNICODE)
PROSE_PUNCT = re.compile(r"[.,;:!?。、，！？](?=\s|$)")
MIN_PROSE_PUNCT_RATE = 1 / 30
CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")

# Shape thresholds, in words (CJK text counts characters, see `word_count`).
PARAGRAPH_MIN_WORDS = 8  # a sentence-like line this long is article text
LONG_LINE_WORDS = 20  # a line this long is text even without final punctuation
HEADLINE_MAX_WORDS = 30
TITLE_MAX_CHARS = 90
END_MARKER_PENALTY = 40.0
SHORT_LINE_PENALTY = 3.0
FIRST_RUN_SHARE = 0.5  # see densest_run

# A row of figures counts for the article, like a short paragraph (see `is_data_line`).
FIGURE_RE = re.compile(r"[$£€¥(]*[-+]?\d[\d.,/]*%?[).,;:]*")
DATA_LINE_MIN_FIGURES = 2
DATA_LINE_MIN_TOKENS = 4
DATA_LINE_WEIGHT = 4.0

# Hard-wrapped dumps (wire copy, e-mail, old archives) break every paragraph into lines
# of a fixed width. A page counts as wrapped when no line is wider than WRAP_MAX_WIDTH
# and most breaks after its long rows fall mid-sentence (see `wrap_width`).
WRAP_MIN_WIDTH = 40
WRAP_MAX_WIDTH = 100
WRAP_MIN_WRAPPED_SHARE = 0.5
WRAP_FULL_ROW = 0.8  # a row this share of the width, without final punctuation, was wrapped
RAGGED_MAX_WIDE_SHARE = 0.2  # rows past WRAP_MAX_WIDTH a raggedly wrapped page may have
# A row that opens a list item ("--DOLLAR STEADY ...", "* Item", "2. Item") starts a line of its own.
LIST_ITEM = re.compile(r"\s*(?:[-–—*•·+]|\d{1,2}[.)]\s)")
CAPITALS_PAGE_SHARE = 0.95  # a page this much in capitals (old archives, telex) says nothing by case


# --- Small helpers -------------------------------------------------------------------


@lru_cache(maxsize=8192)
def line_key(line: str) -> str:
    """Normalised form of a line for corpus-level counting: case, spaces, digits folded.

    Digits fold to "0" so "©2019 Bloomberg L.P." and "©2020 Bloomberg L.P." count as one.
    """
    text = unicodedata.normalize("NFKC", line).casefold()
    text = re.sub(r"\d+", "0", text)
    return " ".join(text.split())


@lru_cache(maxsize=8192)
def word_count(line: str) -> int:
    """Words in a line; CJK scripts count about two characters per word."""
    cjk = len(CJK_RE.findall(line))
    words = len(WORD_RE.findall(CJK_RE.sub(" ", line)))
    return words + (cjk + 1) // 2


def ends_sentence(line: str) -> bool:
    """Whether a line ends like a sentence rather than a label or a menu item.

    A closing quote or bracket counts only after sentence punctuation: `said.”` ends a
    sentence, a headline's `(185)` comment count or `“... this game”` does not.
    """
    return line.rstrip().rstrip(CLOSERS + " ").endswith(SENTENCE_END)


def punctuation_rate(line: str) -> float:
    """Sentence punctuation marks per word: prose has one every dozen words or so."""
    return len(PROSE_PUNCT.findall(line)) / max(1, word_count(line))


def is_data_line(line: str) -> bool:
    """A row of figures ("Net loss 3,035,000 vs loss 2,516,000"): content, not a menu.

    Wire stories and results tables are made of such rows; menus and labels carry no
    figures. A date or a time alone is not enough (a dateline is furniture).
    """
    figures = [token for token in line.split() if FIGURE_RE.fullmatch(token)]
    return len(figures) >= DATA_LINE_MIN_FIGURES and len(line.split()) >= DATA_LINE_MIN_TOKENS


def is_paragraph(line: str) -> bool:
    """A line that reads as article text: sentence-like, or long and punctuated like prose.

    A long line with no punctuation is a tag cloud or a flattened menu, not text.
    """
    words = word_count(line)
    if words >= LONG_LINE_WORDS:
        return ends_sentence(line) or punctuation_rate(line) >= MIN_PROSE_PUNCT_RATE
    return words >= PARAGRAPH_MIN_WORDS and ends_sentence(line)


@lru_cache(maxsize=8192)
def _tokens(line: str) -> frozenset[str]:
    return frozenset(t.casefold() for t in WORD_RE.findall(line))


def similar(a: str, b: str, threshold: float = 0.6) -> bool:
    """Near-duplicate headlines: one contains the other, or their words mostly agree."""
    ka, kb = line_key(a), line_key(b)
    if ka and kb and (ka in kb or kb in ka):
        return True
    ta, tb = _tokens(a), _tokens(b)
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) >= threshold


# --- The page as it moves through the steps ------------------------------------------


@dataclass(frozen=True)
class Page:
    """State passed from step to step; every step returns a new Page."""

    lines: tuple[str, ...]
    furniture: frozenset[str] = frozenset()
    title: str = ""
    tags: tuple[str, ...] = ()
    removed: tuple[str, ...] = field(default=())


def _drop(page: Page, keep: Callable[[str], bool]) -> Page:
    """Keep the lines `keep` accepts; record the others as removed."""
    verdicts = [keep(line) for line in page.lines]
    kept = tuple(line for line, ok in zip(page.lines, verdicts) if ok)
    gone = tuple(line for line, ok in zip(page.lines, verdicts) if not ok)
    return replace(page, lines=kept, removed=page.removed + gone)


# --- Steps (each small, named, pure) -------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _forced_break(line: str, following: str, width: int) -> bool:
    """Whether a wrapping editor broke here: the next word would not have fitted."""
    next_word = following.split(maxsplit=1)[0]
    return len(line.rstrip()) + 1 + len(next_word) > width


def _wrapped_break(line: str, following: str, width: int) -> bool:
    """A break inside a paragraph: forced, or a near-full row stopping mid-sentence.

    The width is estimated from the longest rows, so a row one word short of the true
    margin can look unforced; a near-full row without final punctuation was wrapped too.
    """
    if _forced_break(line, following, width):
        return True
    return len(line.rstrip()) >= WRAP_FULL_ROW * width and not ends_sentence(line)


def wrap_width(lines: Sequence[str]) -> int:
    """The column a hard-wrapped page breaks at, or 0 if the page is not hard-wrapped.

    The width is the longest row: no row of wrapped text passes the margin, while a web
    page's paragraphs run long. The page is wrapped when most breaks after its long
    rows look wrapped.
    """
    lengths = sorted(len(line.rstrip()) for line in lines if line.strip())
    if len(lengths) < 3:
        return 0
    width = lengths[-1]
    if not WRAP_MIN_WIDTH <= width <= WRAP_MAX_WIDTH:
        return 0
    # Breaks after the long rows: a table's short rows say nothing about wrapping.
    pairs = [
        (a, b) for a, b in zip(lines, lines[1:])
        if b.strip() and len(a.rstrip()) >= WRAP_FULL_ROW * width
    ]
    wrapped = sum(_wrapped_break(a, b, width) for a, b in pairs)
    return width if wrapped and wrapped / len(pairs) >= WRAP_MIN_WRAPPED_SHARE else 0


def unwrap_lines(text: str) -> list[str]:
    """The page's lines with hard-wrapped paragraphs joined back into one line each.

    A break is undone when the width forced it and the next row is not indented (wire
    copy indents a paragraph's first row). A page that is not hard-wrapped comes back
    line for line, so a dump with one paragraph per line is never merged.
    """
    lines = text.splitlines()
    width = wrap_width(lines)
    ragged = ragged_wrapped(lines)
    if not width and not ragged:
        return lines
    base = min(_indent(line) for line in lines if line.strip())
    shouted = _shouted_rows(lines)
    out: list[str] = []
    for i, line in enumerate(lines):
        joined = (ragged and _continues_ragged(lines, i, base, shouted)) or (
            width and _continues(lines, i, base, width, shouted))
        if out and joined:
            joiner = "" if out[-1].endswith("-") else " "
            out[-1] = out[-1].rstrip() + joiner + line.strip()
        else:
            out.append(line)
    return out


def in_capitals(lines: Sequence[str]) -> bool:
    """Whether a page is written in capitals throughout (TIME's 1963 archive, telex copy)."""
    letters = [c for line in lines for c in line if c.isalpha() and (c.isupper() or c.islower())]
    return bool(letters) and sum(c.isupper() for c in letters) >= CAPITALS_PAGE_SHARE * len(letters)


def _shouted_rows(lines: Sequence[str]) -> Callable[[str], bool]:
    """Rows in capitals, which stand apart as headlines or slugs; on a page written in
    capitals throughout no row does, or every break after a row would be kept and a
    paragraph split at each short row (then dropped as a line without punctuation)."""
    if in_capitals(lines):
        return lambda row: False
    return str.isupper


def _mid_sentence(row: str, following: str) -> bool:
    """A break inside a sentence: the row stops without punctuation, the next goes on in lower case."""
    return not ends_sentence(row) and following.lstrip()[:1].islower()


def ragged_wrapped(lines: Sequence[str]) -> bool:
    """Whether a page is wrapped at no fixed width (abstracts, old archives, e-mail).

    Its rows are short and most breaks fall mid-sentence with the sentence going on in
    lower case on the next row; a web dump's one-line paragraphs are longer than
    WRAP_MAX_WIDTH or end their sentences. The first row may be a long headline.
    """
    rows = [line for line in lines if line.strip()]
    wide = sum(len(r.rstrip()) > WRAP_MAX_WIDTH for r in rows[1:])
    if len(rows) < 4 or wide > RAGGED_MAX_WIDE_SHARE * len(rows):
        return False
    base = min(_indent(r) for r in rows)
    pairs = [(a, b) for a, b in zip(lines, lines[1:]) if a.strip() and b.strip() and _indent(b) == base]
    mid = sum(_mid_sentence(a, b) for a, b in pairs)
    return bool(pairs) and mid / len(pairs) >= WRAP_MIN_WRAPPED_SHARE


def _continues_ragged(lines: Sequence[str], i: int, base: int, shouted: Callable[[str], bool] = str.isupper) -> bool:
    """On a raggedly wrapped page, row i carries on row i-1 unless it starts a paragraph.

    A paragraph starts after a blank line or with an indented row; a row at the margin
    goes on with the paragraph even after a full stop (its next sentence), since a short
    last sentence left on a row of its own would read as a furniture line.
    """
    row, prev = lines[i], lines[i - 1]
    return bool(row.strip() and prev.strip()) and _indent(row) == base and not shouted(prev)


def _continues(lines: Sequence[str], i: int, base: int, width: int,
               shouted: Callable[[str], bool] = str.isupper) -> bool:
    """Whether row i carries on the paragraph of row i-1 on a hard-wrapped page.

    Yes when the break before it was forced. Also when row i-1 stops mid-sentence and
    row i is itself a full wrapped row: a paragraph's first row may be short (a dateline
    cut away), and it is not a headline when it runs straight on into wrapped text. And
    when row i-1 stops mid-sentence inside a paragraph (a row above it): a passage set in
    a narrower column, or a last row after a short one, still goes on with the sentence.
    """
    row, prev = lines[i], lines[i - 1]
    if not (row.strip() and prev.strip()) or _indent(row) != base:
        return False
    if _wrapped_break(prev, row, width):
        return True
    if ends_sentence(prev) or shouted(prev) or LIST_ITEM.match(row):
        return False
    if _inside_paragraph(lines, i - 1) and not (is_table_row(prev) or is_table_row(row)):
        return True
    following = lines[i + 1] if i + 1 < len(lines) else ""
    return bool(following.strip()) and _indent(following) <= base and _wrapped_break(row, following, width)


def _inside_paragraph(lines: Sequence[str], i: int) -> bool:
    """Row i has a row above it in its block: it is not a headline over the text."""
    return i > 0 and bool(lines[i - 1].strip())


def unwrap_hard_wraps(page: Page) -> Page:
    """Join the lines of hard-wrapped paragraphs, so each paragraph is one line again.

    Without this, every wrapped row looks like a short line without sentence punctuation
    and the line-shape rules would drop most of a wire story.
    """
    return replace(page, lines=tuple(line for raw in page.lines for line in unwrap_lines(raw)))


def split_lines(page: Page) -> Page:
    """One line per block: a dump may or may not put blank lines between paragraphs.

    Runs of whitespace (no-break spaces too) fold to one space; the words are untouched.
    """
    lines = []
    for raw in page.lines:
        for line in raw.splitlines():
            text = " ".join(line.replace("\u00a0", " ").split())
            if text:
                lines.append(text)
    return replace(page, lines=tuple(lines))


def is_separator(line: str) -> bool:
    """A line of bare separators ("| | |", "* * *"): an empty tag list or a rule."""
    return not WORD_RE.search(line)


def drop_separator_lines(page: Page) -> Page:
    """Drop lines with no word in them."""
    return _drop(page, lambda line: not is_separator(line))


def parse_tags(line: str) -> list[str]:
    """Tags from a tag line ("a | b | c" or "a, b, c"); [] for an empty line of bars."""
    return [t for t in (p.strip() for p in TAG_SEPARATORS.split(line)) if WORD_RE.search(t)]


def looks_like_tag_line(line: str) -> bool:
    """A line of short items joined by separators, or a lone short item."""
    items = parse_tags(line)
    return bool(items) and all(word_count(t) <= 5 for t in items) and not ends_sentence(line)


def extract_tags(page: Page) -> Page:
    """Take the tag line after an "Article Topics" style heading (or inline "Tags: ...")."""
    lines, tags, gone = list(page.lines), list(page.tags), []
    i = 0
    while i < len(lines):
        line = lines[i]
        inline = TAG_INLINE.fullmatch(line)
        if TAG_HEADING.fullmatch(line):
            gone.append(line)
            del lines[i]
            if i < len(lines) and is_separator(lines[i]):  # an empty tag list
                gone.append(lines.pop(i))
            elif i < len(lines) and looks_like_tag_line(lines[i]):
                tags += parse_tags(lines[i])
                gone.append(lines.pop(i))
            continue
        if inline and looks_like_tag_line(inline["tags"]):
            tags += parse_tags(inline["tags"])
            gone.append(lines.pop(i))
            continue
        i += 1
    unique = tuple(dict.fromkeys(tags))
    return replace(page, lines=tuple(lines), tags=unique, removed=page.removed + tuple(gone))


def in_share_bar(lines: Sequence[str], i: int) -> bool:
    """Whether a share button sits within a couple of lines of line i."""
    near = lines[max(0, i - SHARE_BAR_REACH) : i] + lines[i + 1 : i + 1 + SHARE_BAR_REACH]
    return any(furniture_reason(line) == "share" for line in near)


def opens_comments(lines: Sequence[str], i: int) -> bool:
    """Whether line i is a heading that opens a comment section."""
    if COMMENT_MARKERS.fullmatch(lines[i]):
        return True
    return bool(BARE_COMMENTS.fullmatch(lines[i])) and not in_share_bar(lines, i)


def prose_words(line: str) -> int:
    """Words of a line that reads as article text (0 for furniture and short lines)."""
    return word_count(line) if is_paragraph(line) and furniture_reason(line) is None else 0


def comment_section_start(lines: Sequence[str]) -> int:
    """Index of the line that opens the comment section after the article, or len(lines)."""
    total = sum(map(prose_words, lines))
    needed = max(COMMENTS_MIN_ARTICLE_WORDS, COMMENTS_MIN_PROSE_SHARE * total)
    prose = 0
    for i, line in enumerate(lines):
        if prose >= needed and opens_comments(lines, i):
            return i
        prose += prose_words(line)
    return len(lines)


def cut_comment_section(page: Page) -> Page:
    """Drop the comment section: readers' posts are prose but not the article."""
    start = comment_section_start(page.lines)
    return replace(page, lines=page.lines[:start], removed=page.removed + page.lines[start:])


def drop_corpus_furniture(page: Page) -> Page:
    """Drop lines the corpus signal marks as recurring across this source's pages."""
    if not page.furniture:
        return page
    return _drop(page, lambda line: line_key(line) not in page.furniture)


def furniture_reason(line: str) -> str | None:
    """Name of the furniture pattern a whole line matches, or None."""
    if len(line) > FURNITURE_MAX_CHARS:
        return None
    match = _ANY_FURNITURE.fullmatch(line)
    return match.lastgroup if match else None


def drop_pattern_furniture(page: Page) -> Page:
    """Drop lines that match a furniture pattern (share, subscribe, cookie, ...)."""
    return _drop(page, lambda line: furniture_reason(line) is None)


def is_timestamp_line(line: str) -> bool:
    """A line made only of a date/time and words like "Updated" or "Published"."""
    if len(line) > TIMESTAMP_MAX_CHARS or not any(c.isdigit() for c in line):
        return False
    words = [w.casefold() for w in WORD_RE.findall(line)]
    has_number = any(w.isdigit() for w in words)
    return has_number and all(w.isdigit() or w in TIMESTAMP_WORDS for w in words)


def drop_timestamp_lines(page: Page) -> Page:
    """Drop bare timestamp lines; the date extractor reads dates from the raw text."""
    return _drop(page, lambda line: not is_timestamp_line(line))


def strip_photo_credit(line: str) -> str:
    """Remove inline photo credits; a short caption left alone becomes ""."""
    if not PHOTO_CREDIT.search(line):
        return line
    text = PHOTO_CREDIT.sub("", line).strip()
    return text if word_count(text) >= CAPTION_MIN_WORDS else ""


def strip_photo_credits(page: Page) -> Page:
    """Remove photo credits, and caption-only lines too short to be a paragraph."""
    lines, gone = [], []
    for line in page.lines:
        cleaned = strip_photo_credit(line)
        if cleaned != line:
            gone.append(line if not cleaned else line[len(cleaned):].strip() or line)
        if cleaned:
            lines.append(cleaned)
    return replace(page, lines=tuple(lines), removed=page.removed + tuple(gone))


def is_menu_line(line: str) -> bool:
    """Several short items joined by separators: navigation or breadcrumbs."""
    items = [p for p in MENU_SEPARATORS.split(line) if p.strip()]
    return len(items) >= 3 and all(word_count(p) <= 4 for p in items) and not ends_sentence(line)


def drop_menu_lines(page: Page) -> Page:
    """Drop navigation-like lines of separator-joined short items."""
    return _drop(page, lambda line: not is_menu_line(line))


def headline_candidate(line: str) -> bool:
    """A line that could be the headline: a few words, no sentence-final period."""
    words = word_count(line)
    return 3 <= words <= HEADLINE_MAX_WORDS and not line.endswith(".") and not BYLINE.match(line)


def strip_site_suffix(title: str) -> str:
    """"Headline | Site" or "Headline - Site" (a <title> element) -> "Headline"."""
    parts = re.split(r"\s+[|–—-]\s+", title)
    return max(parts, key=word_count) if len(parts) > 1 else title


def first_paragraph_index(lines: Sequence[str]) -> int:
    """Index of the first line that reads as article text or figures (len(lines) if none)."""
    return next((i for i, line in enumerate(lines) if is_paragraph(line) or is_data_line(line)), len(lines))


HEADLINE_SEARCH_WINDOW = 12  # candidates nearest the article; the h1 sits just above it


def is_table_row(line: str) -> bool:
    """A row of a results table ("Shr one dlr vs 73 cts", "Sugar 14 16"): never a headline."""
    tokens = line.split()
    figures = sum(bool(FIGURE_RE.fullmatch(t)) for t in tokens)
    if not figures:
        return False
    # "vs" compares this period with the last; a row is mostly figures; a wire headline in
    # capitals may hold two figures ("TURKEY SEES 1.5 BILLION DLR DEFICIT IN 1986").
    return "vs" in tokens or figures * 3 >= len(tokens) or (is_data_line(line) and not line.isupper())


BANNER_HEADLINE_WORDS = 10  # longer rows under a capitals line are the story's first sentence


def is_banner_over_headline(lines: Sequence[str]) -> bool:
    """A line in capitals over a headline in mixed case that heads the article ("EXAMPLE
    WIRE SERVICE - FOR SUBSCRIBERS ONLY" over "Watchdog drops claim ..."): a banner, and
    the headline is the line below it, not the capitals."""
    if len(lines) < 3:
        return False
    second, third = lines[1], lines[2]
    # Shaped as a whole headline, not the first row of a sentence: it ends on a word that
    # is not a function word, and the article below starts a sentence of its own.
    words = second.split()
    return (headline_candidate(second) and len(words) <= BANNER_HEADLINE_WORDS and "said" not in words
            and not second.isupper() and second[:1].isupper()
            and second[-1:].isalnum() and not is_stopword(words[-1].lower())
            and not is_data_line(second) and not is_table_row(second)
            and is_paragraph(third) and (third[:1].isupper() or third[:1] in "(\u201c\""))


def opening_headline(lines: Sequence[str]) -> str | None:
    """The page's first line when it is plainly the headline: written in capitals (a wire
    slug), or repeated word for word at the start of the next line (an abstract that opens
    with its title). Either way it may end with a period or run long."""
    if len(lines) < 2 or not 3 <= word_count(lines[0]) <= 2 * HEADLINE_MAX_WORDS:
        return None
    first = lines[0]
    if first.isupper() and word_count(first) <= HEADLINE_MAX_WORDS and not is_table_row(first):
        return None if is_banner_over_headline(lines) else first
    return first if line_key(lines[1]).startswith(line_key(first)) else None


def pick_title(page: Page) -> Page:
    """Take the headline from the head of the page; drop it and its variants everywhere.

    A headline repeated or given in two variants (the <title> and the <h1>) is the
    strongest sign; the variant nearest the article wins, as the <title> tends to carry
    the site's name. Otherwise the headline-shaped line nearest the article, or the first
    one when no line reads as article text (a notice made only of short rows).
    """
    opening = opening_headline(page.lines)
    if opening is not None:  # a copy of it on the next line (the h1 after <title>) goes too
        n = 2 if len(page.lines) > 1 and line_key(page.lines[1]) == line_key(opening) else 1
        return replace(page, title=opening, lines=page.lines[n:], removed=page.removed + page.lines[:n])
    head_end = first_paragraph_index(page.lines)
    head = [(i, line) for i, line in enumerate(page.lines[:head_end])
            if headline_candidate(line) and not is_table_row(line)]
    if not head:
        return page
    # The <title> comes first on the page, the h1 near the article: compare those only.
    near = head[-HEADLINE_SEARCH_WINDOW:]
    others = head[:2] + near
    repeated = [
        (i, line) for i, line in near if any(j != i and similar(line, o) for j, o in others)
    ]
    if head_end == len(page.lines):
        near = head[:1]  # no article line to be near: the headline heads the page
    _, title = (repeated or near)[-1]
    if not title.isupper():  # a wire slug in capitals ("... - CENTRAL BANK") has no site name
        title = strip_site_suffix(title)
    return _drop(replace(page, title=title), lambda line: not (
        headline_candidate(line) and similar(line, title, threshold=0.75)
    ))


def line_weight(line: str) -> float:
    """How much a line counts for or against being inside the article."""
    if END_MARKERS.fullmatch(line):
        return -END_MARKER_PENALTY
    words = word_count(line)
    if is_paragraph(line):
        return float(words)
    if words >= PARAGRAPH_MIN_WORDS and punctuation_rate(line) >= MIN_PROSE_PUNCT_RATE:
        return words / 4
    if is_data_line(line):
        return DATA_LINE_WEIGHT
    return -(SHORT_LINE_PENALTY + words / 2)


def positive_runs(weights: Sequence[float]) -> list[tuple[float, int, int]]:
    """(total, start, end) of each run Kadane's scan keeps alive, best prefix of each."""
    runs: list[tuple[float, int, int]] = []
    total, start, best, best_end = 0.0, 0, 0.0, 0
    for i, w in enumerate(weights):
        if total <= 0:
            if best > 0:
                runs.append((best, start, best_end))
            total, start, best = 0.0, i, 0.0
        total += w
        if total > best:
            best, best_end = total, i + 1
    if best > 0:
        runs.append((best, start, best_end))
    return runs


def densest_run(weights: Sequence[float]) -> tuple[int, int]:
    """[start, end) of the article run; (0, 0) if none.

    The heaviest run, unless an earlier run weighs at least FIRST_RUN_SHARE of it: the
    article comes before the footer, whose long legal or contact lines can outweigh a
    short story.
    """
    runs = positive_runs(weights)
    if not runs:
        return (0, 0)
    best = max(total for total, _, _ in runs)
    _, start, end = next(r for r in runs if r[0] >= FIRST_RUN_SHARE * best)
    return (start, end)


def select_main_run(page: Page) -> Page:
    """Keep the densest run of article-like lines; drop the page's head and tail."""
    start, end = densest_run([line_weight(line) for line in page.lines])
    if start == end:
        return page
    kept = page.lines[start:end]
    gone = page.lines[:start] + page.lines[end:]
    return replace(page, lines=kept, removed=page.removed + gone)


def derive_title(text: str) -> str:
    """A short title from the first sentence, cut at a word boundary."""
    sentence = re.split(r"(?<=[.!?。！？])\s+", text.strip(), maxsplit=1)[0]
    if len(sentence) <= TITLE_MAX_CHARS:
        return sentence.rstrip(".")
    cut = sentence[: TITLE_MAX_CHARS + 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-–—") + "…"


def fill_missing_title(page: Page) -> Page:
    """Derive a title from the first real paragraph when the page shows no headline."""
    if page.title:
        return page
    source = next((l for l in page.lines if is_paragraph(l) and not EDITORS_NOTE.match(l)), "")
    source = source or next(iter(page.lines), "")
    return replace(page, title=derive_title(source) if source else "")


Step = Callable[[Page], Page]

# The cleaning chain, in order. Pattern and corpus steps run before the title and the
# main-run steps so furniture never wins the headline or bridges the article.
STEPS: tuple[Step, ...] = (
    unwrap_hard_wraps,
    split_lines,
    extract_tags,
    drop_separator_lines,
    cut_comment_section,
    drop_corpus_furniture,
    drop_pattern_furniture,
    drop_timestamp_lines,
    strip_photo_credits,
    drop_menu_lines,
    pick_title,
    select_main_run,
    fill_missing_title,
)


def run_steps(page: Page, steps: Iterable[Step] = STEPS) -> Page:
    """Apply the steps in order."""
    for step in steps:
        page = step(page)
    return page


# --- Public API ----------------------------------------------------------------------


def clean_text_dump(text: str, furniture: Collection[str] = frozenset()) -> TextArticle:
    """Clean a page's visible text into title, word-for-word body, tags and dropped lines."""
    page = run_steps(Page(lines=(text,), furniture=frozenset(furniture)))
    return TextArticle(
        title=page.title,
        body="\n\n".join(page.lines),
        tags=list(page.tags),
        removed=list(page.removed),
    )


def furniture_candidates(text: str) -> list[str]:
    """The distinct line keys of a dump that could be furniture (short lines, after
    unwrapping), sorted: what `indexer.furniture.FurnitureStats` counts per site."""
    keys = {line_key(line) for line in unwrap_lines(text) if 0 < len(line.strip()) <= 120}
    keys.discard("")
    return sorted(keys)
