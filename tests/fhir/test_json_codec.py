"""Decimals keep the form they were written in (R4 §2.1.0: their precision has significance)."""

from __future__ import annotations

import copy
import pickle

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samhandling.fhir import json_codec
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


@settings(max_examples=500)
@given(NUMBERS, st.sampled_from(["2.0", "7", "0.5", '"1.50 in text"']))
def test_an_indented_body_parses_as_its_compact_form(text: str, other: str) -> None:
    """A client's indented body is scanned first and parsed once (by the standard library
    when a number would change): the same document as the compact form gives."""
    compact = f'{{"a":[{{"v":{text},"w":{other}}}],"b":{{"c":"x\\u00e9\\ud83d\\ude00"}}}}'
    indented = compact.replace("{", "{\n  ").replace(",", ",\n  ").replace(":", ": ")
    assert same(parse(indented.encode()), parse(compact.encode()))


@pytest.mark.parametrize(
    "body",
    [
        b'{\n "v": 1.50, "w": NaN}',
        b'{\n "v": 1.50, "w": Infinity}',
        b'{\n "v": 1.50, "w": -Infinity}',
        b'{\n "v": 1.50, "w": 1e400}',
        b'{\n "v": 1.50, "w": 1' + b"0" * 400 + b"}",
        b'{\n "v": 1.50, "w": "\\ud800"}',
        b'{\n "v": 1.50, "w": "\xed\xa0\x80"}',
        b'\xef\xbb\xbf{\n "v": 1.50}',
        b'{\n "v": 1.50, "w": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        b'{\n "v": 1.50,}',
    ],
)
def test_an_indented_body_is_refused_where_orjson_refuses_it(body: bytes) -> None:
    """The standard library accepts NaN, 1e400 and lone surrogates, which orjson refuses:
    the exact path refuses them too, with orjson's error type (a 400 to the client)."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    with pytest.raises(orjson.JSONDecodeError):
        parse(body)


def test_an_indented_body_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither parsed by orjson and again exactly, nor printed again to compare (a 3.4 MB
    Synthea Bundle: 52 -> 28 ms)."""
    calls: list[str] = []

    class Counted:
        JSONDecodeError = orjson.JSONDecodeError

        def __getattr__(self, name: str) -> object:
            calls.append(name)
            return getattr(orjson, name)

    monkeypatch.setattr(json_codec, "orjson", Counted())
    assert dump(parse(b'{\n  "v": 1.50,\n  "w": [2.25]\n}')) == b'{"v":1.50,"w":[2.25]}'
    assert "loads" not in calls
    calls.clear()
    assert parse(b'{\n  "v": 1.25\n}') == {"v": 1.25}
    assert calls.count("loads") == 1 and "dumps" in calls  # the scan prints 1.25 once


def test_an_indented_body_keeps_a_surrogate_pair_and_its_decimals() -> None:
    parsed = parse(b'{\n "s": "\\ud83d\\ude00", "v": 1.50, "n": 123456789012345678901}')
    assert parsed["s"] == "\U0001f600" and dump({"v": parsed["v"]}) == b'{"v":1.50}'
    assert dump({"n": parsed["n"]}) == b'{"n":123456789012345678901}'


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
