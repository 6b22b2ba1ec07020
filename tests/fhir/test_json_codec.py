"""Decimals keep the form they were written in (R4 §2.1.0: their precision has significance)."""

from __future__ import annotations

import copy
import pickle

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samhandling.fhir.json_codec import WrittenDecimal, dump, parse

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
