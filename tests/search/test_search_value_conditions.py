"""The value matches kept by `search/value_conditions.py` give the SQL built afresh: the
same statement, with the same bound values, whatever was searched before."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from samhandling.search import value_conditions
from samhandling.search.query import parse_search
from samhandling.search.sql import SearchSql

BASE = "http://example.org/fhir"
_words = st.text(alphabet="ab1|/:-", min_size=1, max_size=6).filter(lambda s: s.strip("|"))
_queries = st.lists(
    st.one_of(
        st.tuples(st.just("code"), _words),
        st.tuples(st.just("code:not"), _words),
        st.tuples(st.just("subject"), st.sampled_from(["Patient/p1", "p2", f"{BASE}/Patient/p3"])),
        st.tuples(st.just("date"), st.sampled_from(["ge2015", "le2020-12-31", "2019-03"])),
        st.tuples(st.just("status"), st.sampled_from(["final", "amended,final"])),
        st.tuples(st.just("_text"), st.sampled_from(["heart", "blood pressure"])),
    ),
    min_size=1,
    max_size=3,
)


def _sql(items: list[tuple[str, str]]) -> str:
    parsed = parse_search("Observation", items, base_url=BASE)
    stmt = SearchSql(base_url=BASE).ordered(parsed)
    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return str(compiled)


@settings(max_examples=60, deadline=None)
@given(_queries, _queries)
def test_a_kept_match_is_the_match_built_afresh(
    first: list[tuple[str, str]], second: list[tuple[str, str]]
) -> None:
    value_conditions._kept.clear()
    fresh = _sql(second)
    _sql(first)  # what was searched before may leave matches kept
    assert _sql(second) == fresh
    assert _sql(second) == fresh  # and built from kept matches only


def test_matches_that_read_more_than_their_values_are_not_kept() -> None:
    value_conditions._kept.clear()
    _sql(parse_qsl("date=ap2020&code:text=heart&_text=heart"))
    assert value_conditions._kept == {}
    _sql(parse_qsl("code=http://loinc.org|8480-6&date=ge2015"))
    assert len(value_conditions._kept) == 2


def test_the_memo_is_bounded() -> None:
    value_conditions._kept.clear()
    for n in range(value_conditions.MAX_KEPT + 5):
        _sql([("code", f"c{n}")])
    assert len(value_conditions._kept) <= value_conditions.MAX_KEPT
