"""Property test: no query text or parameter combination makes the API answer 500."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from search_fixtures import search_index  # noqa: F401  (session fixture)

WORDS = ["megvii", "face++", "Face", "the", "who", "OR", "-", '"', "title:", "source:", "tag:", "*",
         "surveil*", "-megvii", '"human rights', "survelance", "(", ")", "AND", "NOT", ":", "\\", "%", "é", "中国"]
query_text = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
    st.text(max_size=60),
)
dates = st.one_of(st.none(), st.sampled_from(["2019", "2019-05", "2019-06-06", "2019-13", "1999-02-30", "x", ""]),
                  st.text(max_size=12))
numbers = st.one_of(st.none(), st.integers(-5, 200).map(str), st.text(max_size=5))


@pytest.fixture(scope="module")
def client(search_index):  # noqa: F811
    return create_app({"INDEX_DIR": str(search_index)}).test_client()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=query_text, frm=dates, to=dates, sort=st.one_of(st.none(), st.sampled_from(["relevance", "newest", "oldest", "x"])),
       page=numbers, size=numbers, source=st.one_of(st.none(), st.text(max_size=10)),
       tag=st.one_of(st.none(), st.text(max_size=10)))
def test_no_500(client, q, frm, to, sort, page, size, source, tag):
    args = {k: v for k, v in {"q": q, "from": frm, "to": to, "sort": sort, "page": page, "size": size,
                              "source": source, "tag": tag}.items() if v is not None}
    r = client.get("/api/search?" + urlencode(args))
    assert r.status_code in (200, 400), r.get_data(as_text=True)
    body = r.get_json()
    assert ("error" in body) == (r.status_code == 400)
    if r.status_code == 400:
        assert set(body["error"]) == {"code", "message", "param"}
