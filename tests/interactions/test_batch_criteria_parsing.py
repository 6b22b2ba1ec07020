"""A batch chunk's identifier criteria are parsed by shortcuts that must give exactly what
the general parsers give: `batch_answers.query_items` (`parse_qsl`) and
`token_matches.plain_token` (`values.parse_token`, for values without a backslash)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from samhandling.interactions.batch_answers import identifier_token, query_items
from samhandling.search.token_matches import plain_token
from samhandling.search.values import parse_token

# the characters that matter to either parser, and some others
PIECES = st.text(alphabet='ab|=?&%+;,$\\ 2F:/.é"', max_size=30)


@settings(max_examples=3000)
@given(PIECES)
def test_query_items_are_parse_qsl(criteria: str) -> None:
    assert query_items(criteria) == parse_qsl(criteria.lstrip("?"), keep_blank_values=True)


@settings(max_examples=3000)
@given(PIECES.filter(lambda value: "\\" not in value))
def test_plain_tokens_are_parsed_tokens(value: str) -> None:
    assert plain_token(value) == parse_token(value)


def test_only_one_plain_identifier_is_a_token() -> None:
    assert identifier_token("identifier=urn:x|Dev/1") == "urn:x|Dev/1"
    assert identifier_token("identifier=urn:x%7Cv") == "urn:x|v"  # unquoted as in search
    for criteria in (
        "identifier=v",  # no system
        "identifier=|v",
        "identifier=urn:x|",
        "identifier=urn:x|a|b",
        "identifier=urn:x|a,b",  # a list
        "identifier=urn:x|a\\,b",  # an escape
        "identifier:exact=urn:x|v",
        "identifier=urn:x|v&status=final",
        "code=urn:x|v",
        "",
    ):
        assert identifier_token(criteria) is None, criteria
