"""Request parsing: table-driven, every bad value names its parameter."""

import pytest

from common.dates import PubDate
from search.request import RequestError, SearchRequest, parse_search_request

GOOD = [
    ({}, SearchRequest()),
    ({"q": "  megvii   face++ "}, SearchRequest(q="megvii face++")),
    ({"from": "2019"}, SearchRequest(date_from=PubDate(2019, precision="year"))),
    ({"to": "2019-05"}, SearchRequest(date_to=PubDate(2019, 5, precision="month"))),
    ({"from": "2019-06-06", "to": "2019-06-06"},
     SearchRequest(date_from=PubDate(2019, 6, 6), date_to=PubDate(2019, 6, 6))),
    ({"from": "2019-06-10", "to": "2019-06"},
     SearchRequest(date_from=PubDate(2019, 6, 10), date_to=PubDate(2019, 6, precision="month"))),
    ({"sort": "Newest"}, SearchRequest(sort="newest")),
    ({"sort": ""}, SearchRequest()),
    ({"page": "3", "size": "100"}, SearchRequest(page=3, size=100)),
    ({"size": "1"}, SearchRequest(size=1)),
    ({"source": ["Reuters", "reuters", "BBC"]}, SearchRequest(source=("Reuters", "BBC"))),
    ({"tag": "cocoa,grain"}, SearchRequest(tag=("cocoa", "grain"))),
    ({"q": ["x"]}, SearchRequest(q="x")),
    ({"q": "x" * 1000}, SearchRequest(q="x" * 1000)),
    ({"unknown": "ignored"}, SearchRequest()),
    ({"explain": "true"}, SearchRequest(explain=True)),
    ({"explain": "FALSE"}, SearchRequest()),
    ({"explain": "1"}, SearchRequest(explain=True)),
]


@pytest.mark.parametrize("args,expected", GOOD)
def test_good_requests(args, expected):
    assert parse_search_request(args) == expected


BAD = [
    ({"from": "2019-13-45"}, "from", "invalid_date"),
    ({"to": "2019-02-30"}, "to", "invalid_date"),
    ({"from": "yesterday"}, "from", "invalid_date"),
    ({"from": "19"}, "from", "invalid_date"),
    ({"from": "2019-07", "to": "2019-06"}, "from", "invalid_date_range"),
    ({"from": "2020", "to": "2019-12-31"}, "from", "invalid_date_range"),
    ({"size": "-1"}, "size", "invalid_parameter"),
    ({"size": "0"}, "size", "out_of_range"),
    ({"size": "101"}, "size", "out_of_range"),
    ({"size": "1e3"}, "size", "invalid_parameter"),
    ({"page": "abc"}, "page", "invalid_parameter"),
    ({"page": "0"}, "page", "out_of_range"),
    ({"page": "99999999999999999999"}, "page", "out_of_range"),
    ({"page": "١"}, "page", "invalid_parameter"),
    ({"sort": "foo"}, "sort", "invalid_sort"),
    ({"q": "x" * 1001}, "q", "query_too_long"),
    ({"q": "a\x00b"}, "q", "invalid_parameter"),
    ({"q": ["a", "b"]}, "q", "repeated_parameter"),
    ({"page": ["1", "2"]}, "page", "repeated_parameter"),
    ({"source": "x" * 201}, "source", "invalid_parameter"),
    ({"tag": [str(i) for i in range(21)]}, "tag", "invalid_parameter"),
    ({"explain": "maybe"}, "explain", "invalid_parameter"),
    ({"explain": ["true", "false"]}, "explain", "repeated_parameter"),
]


@pytest.mark.parametrize("args,param,code", BAD)
def test_bad_requests(args, param, code):
    with pytest.raises(RequestError) as info:
        parse_search_request(args)
    err = info.value
    assert (err.param, err.code, err.status) == (param, code, 400)
    assert err.to_dict() == {"error": {"code": code, "message": err.message, "param": param}}


def test_query_args_round_trip():
    req = parse_search_request({"q": "a b", "from": "2019-05", "sort": "oldest", "page": "2", "tag": "x"})
    assert parse_search_request(req.query_args()) == req
    assert req.query_args(page=None) == {"q": "a b", "from": "2019-05", "sort": "oldest", "tag": ["x"]}
