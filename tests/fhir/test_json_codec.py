"""Decimals keep the form they were written in (R4 §2.1.0: their precision has significance)."""

from __future__ import annotations

import copy
import pickle

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samhandling.fhir.json_codec import WrittenDecimal, dump, dump_plain, parse

# JSON numbers with a fraction and/or exponent (what a float would be parsed into).
NUMBERS = st.from_regex(
    r"-?(0|[1-9][0-9]{0,18})(\.[0-9]{1,18})?([eE][-+]?[0-9]{1,2})?", fullmatch=True
)


@settings(max_examples=3000)
@given(NUMBERS)
def test_every_number_comes_back_as_written(text: str) -> None:
    if text.lstrip("-") in ("0",) or text == "-0":
        return  # -0 and 0 as integers: no precision to keep
    document = f'{{"value":{text},"other":[{text}],"more":[1,{text}]}}'.encode()
    assert dump(parse(document)) == document
    spaced = f'{{"value" : {text} , "other": [ 1, {text} ]}}'.encode()  # as clients write
    assert dump(parse(spaced)) == dump(parse(spaced.replace(b" ", b"")))


@pytest.mark.parametrize(
    "text", ["1.50", "100.00", "0.0000001", "1.5E+3", "12345678.123456789", "-9300000000000000000"]
)
def test_the_forms_a_float_would_change(text: str) -> None:
    assert orjson.dumps(orjson.loads(text)) != text.encode()  # why the exact path exists
    parsed = parse(f'{{"v":{text}}}'.encode())["v"]
    assert isinstance(parsed, WrittenDecimal) and parsed.text == text
    assert dump({"v": parsed}) == f'{{"v":{text}}}'.encode()


def test_plain_documents_stay_on_the_fast_path() -> None:
    parsed = parse(b'{"v":1.25,"n":3,"s":"1.50 in text"}')
    assert parsed == {"v": 1.25, "n": 3, "s": "1.50 in text"}
    assert isinstance(parse(b'{"v":1.25}')["v"], float)


def test_written_decimals_survive_copies_and_pickling() -> None:
    document = parse(b'{"v":0.0000001,"w":[1.50]}')
    for copied in (copy.deepcopy(document), pickle.loads(pickle.dumps(document))):
        assert dump(copied) == b'{"v":0.0000001,"w":[1.50]}'


def test_malformed_json_is_still_an_error() -> None:
    with pytest.raises(orjson.JSONDecodeError):
        parse(b'{"v":1.50,')


def same(left: object, right: object) -> bool:
    """Equal and of the same types all the way down (1.0 == 1 and Decimal == float are not)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return left == right or (left != left and right != right)  # NaN


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | NUMBERS.map(WrittenDecimal)
)
JSON_LIKE = st.recursive(
    LEAVES, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20
)


@settings(max_examples=500)
@given(JSON_LIKE)
def test_plain_text_gives_the_value_back_or_is_refused(value: object) -> None:
    """`dump_plain` (a batch chunk's entries kept for a rerun) is None unless orjson parses
    its text back to an equal value of the same types."""
    text = dump_plain(value)
    if text is not None:
        assert same(orjson.loads(text), value)


def test_parsed_json_without_nulls_is_kept_as_text() -> None:
    document = b'{"a":[1,2.5,"x",true,{"b":-3e-7}],"c":"1.50 in text"}'
    text = dump_plain(parse(document))
    assert text is not None and same(orjson.loads(text), parse(document))
    assert dump_plain(parse(b'{"a":1.50}')) is None  # a WrittenDecimal
    assert dump_plain({"a": None}) is None and dump_plain(float("inf")) is None
