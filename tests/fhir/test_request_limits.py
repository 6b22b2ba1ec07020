"""The JSON depth limit (`fhir/request_limits.check_json_depth`, issue 20): read from
orjson's indented text, it refuses exactly what walking the parsed value refused."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samhandling.fhir.outcome import FhirError
from samhandling.fhir.request_limits import (
    MAX_JSON_DEPTH,
    _walk_deeper,
    check_json_depth,
    nests_deeper,
)


def walked_deeper(value: Any, limit: int) -> bool:
    """The check as it was before issue 20 (a stack of every container with its depth)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        if not isinstance(current, dict | list):
            continue
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


# Member names and strings that look like the indented text's own lines
TRICKY = st.sampled_from(['"', "\\", '": [', '": {', "\n", "  ", "[", "{", "\\u0000", "ø"])
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=3)), max_size=4).map("".join)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=25,
)


def wrapped(value: Any, keys: list[str]) -> Any:
    """`value` inside one container per key: an array for "", else an object."""
    for key in reversed(keys):
        value = {key: value} if key else [value]
    return value


@settings(max_examples=400, deadline=None)
@given(
    JSON,
    st.lists(st.one_of(st.just(""), TEXT), max_size=8),
    st.integers(min_value=1, max_value=8),
)
def test_refuses_exactly_what_the_walk_refused(value: Any, keys: list[str], limit: int) -> None:
    value = orjson.loads(orjson.dumps(wrapped(value, keys)))  # as a body is parsed
    expected = walked_deeper(value, limit)
    assert nests_deeper(value, limit) is expected
    assert _walk_deeper(value, limit) is expected


def nested(depth: int, innermost: Any, key: str = "") -> Any:
    """`innermost` inside `depth` containers."""
    return wrapped(innermost, [key] * depth)


@pytest.mark.parametrize("key", ["", "a", 'x": [', "\\"])
def test_at_the_limit(key: str) -> None:
    check_json_depth(nested(MAX_JSON_DEPTH - 1, []))  # the innermost empty array is level 100
    check_json_depth(nested(MAX_JSON_DEPTH, 'scalar": {'))  # a scalar below level 100
    for too_deep in (nested(MAX_JSON_DEPTH, []), nested(MAX_JSON_DEPTH, {}, key), nested(300, 1)):
        with pytest.raises(FhirError) as raised:
            check_json_depth(too_deep)
        assert raised.value.status == 400
        issue = raised.value.issues[0]
        assert issue.code == "too-costly"
        assert issue.diagnostics == "The body nests deeper than the limit of 100 levels"


def test_a_value_orjson_cannot_print_is_walked() -> None:
    class Number(float):
        pass

    assert nests_deeper([[Number(1)]], 1) is True
    assert nests_deeper([[Number(1)]], 2) is False


def test_decimals_kept_as_written_are_read_from_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body parsed exactly holds a `WrittenDecimal` for every decimal: still printed by
    orjson (each as a scalar), not walked in Python (a 3.4 MB Synthea Bundle: 46 -> 4 ms)."""
    from samhandling.fhir import request_limits
    from samhandling.fhir.json_codec import parse

    def no_walk(value: Any, limit: int) -> bool:
        raise AssertionError("walked")

    monkeypatch.setattr(request_limits, "_walk_deeper", no_walk)
    body = parse(b'{\n "a": [{"v": 1.50, "w": [[2.25]]}]}')
    assert nests_deeper(body, 4) is True  # { "a" [ { "w" [ [ : the innermost inside 4
    assert nests_deeper(body, 5) is False
