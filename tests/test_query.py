"""Query language parsing: table-driven over the grammar and its fallbacks."""

import pytest

from search.query import Clause, parse_query

W = lambda w, **kw: Clause("word", (w,), **kw)  # noqa: E731

CASES = [
    ("megvii surveillance", [[W("megvii")], [W("surveillance")]], None),
    ("Face++", [[W("face++")]], None),
    ('"human rights watch"', [[Clause("phrase", ("human", "rights", "watch"), quoted=True)]], None),
    ("megvii -hikvision", [[W("megvii")], [W("hikvision", negated=True)]], None),
    ('megvii -"human rights"', [[W("megvii")], [Clause("phrase", ("human", "rights"), negated=True, quoted=True)]], None),
    ("megvii OR hikvision", [[W("megvii"), W("hikvision")]], None),
    ("a1 b2 OR c3 d4", [[W("a1")], [W("b2"), W("c3")], [W("d4")]], None),
    ("title:megvii", [[W("megvii", field="title")]], None),
    ('title:"rights group"', [[Clause("phrase", ("rights", "group"), field="title", quoted=True)]], None),
    ("surveil*", [[Clause("prefix", ("surveil",))]], None),
    ("megvi~1 OR kuangshi~2", [[Clause("fuzzy", ("megvi",), distance=1), Clause("fuzzy", ("kuangshi",), distance=2)]], None),
    ("title:megvi~1", [[Clause("fuzzy", ("megvi",), field="title", distance=1)]], None),
    ("source:Reuters cocoa", [[Clause("filter", ("reuters",), field="source")], [W("cocoa")]], None),
    ('tag:"money fx"', [[Clause("filter", ("money fx",), field="tag", quoted=True)]], None),
    ("foo:bar", [[Clause("phrase", ("foo", "bar"))]], None),
    # stopwords: dropped when other words carry the query, kept when nothing else does
    ("the megvii of china", [[W("megvii")], [W("china")]], None),
    ("the who", [[W("the")], [W("who")]], None),
    ('"the who"', [[Clause("phrase", ("the", "who"), quoted=True)]], None),
    # broken syntax: read as plain words, say why
    ('"unclosed quote', [[W("unclosed")], [W("quote")]], "unclosed quote"),
    ("megvii -", [[W("megvii")]], "a lone -"),
    ("title:", [[W("title")]], "nothing after title:"),
    ("title: megvii", [[W("title")], [W("megvii")]], "nothing after title:"),
    ("OR megvii", [[W("megvii")]], "OR needs a word on each side"),
    ("megvii OR", [[W("megvii")]], "OR needs a word on each side"),
    ("a1 OR -b2", [[W("a1")], [W("b2")]], "OR cannot join an excluded word"),
    ("", [], None),
    ("!!!", [], None),
]


@pytest.mark.parametrize("text,groups,error", CASES)
def test_parse(text, groups, error):
    parsed = parse_query(text)
    assert [list(g) for g in parsed.groups] == groups
    assert parsed.syntax_error == error


def test_plain_words_and_dropped_stopwords():
    p = parse_query('megvii "human rights" face++ title:x')
    assert p.plain_words == ["megvii", "face++"]
    assert parse_query("the megvii").dropped_stopwords == ("the",)
