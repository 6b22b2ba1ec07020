"""FHIR JSON in and out, keeping the precision of decimals.

R4 §2.1.0 (decimal): "the precision of the decimal value has significance" — a lab result
of `1.50` mmol/L was measured to two decimals and must come back as `1.50`, not `1.5`.
orjson parses every number with a fraction as a binary float, which keeps the value but
not its written form. The standard library can parse those numbers as `Decimal`, but is
slower (a 3.4 MB Synthea Bundle: 21 ms against 15), so `parse` uses the standard library
only when the bytes hold a number whose written form a float would not give back (each
number with a fraction or exponent is printed as orjson would and compared). Compact JSON,
as the store writes it, is parsed by orjson and printed again: the same bytes say that
nothing changed, more cheaply than the scan. An indented body (a client's) is scanned
first and parsed once, by the standard library when it holds such a number, refusing what
orjson refuses (`_exactly_first`). The scan looks at the bytes
without knowing what is inside a string, so text that looks like a JSON member, such as
`"x": 1.50` in a narrative, also takes the exact path: slower, never wrong. `dump` writes
the `Decimal`s back exactly as they were written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

# Every JSON number token, where one can stand: after ':' (an object member), ',' or '['
# (an array element), and followed by ',', ']' or '}'. One pattern per separator: a single
# pattern starting with a character class is several times slower to scan with.
_NUMBER = rb"\s*(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)(?=\s*[,\]}])"
_NUMBERS_AFTER = tuple(re.compile(separator + _NUMBER) for separator in (rb":", rb",", rb"\["))

JSONDecodeError = orjson.JSONDecodeError


class WrittenDecimal(Decimal):
    """A decimal that remembers how it was written (`Decimal` itself prints 0.0000001 as
    1E-7). Immutable like `Decimal`, so copies are the object itself."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> WrittenDecimal:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __copy__(self) -> WrittenDecimal:
        return self

    def __deepcopy__(self, memo: Any) -> WrittenDecimal:
        return self

    def __reduce__(self) -> tuple[type[WrittenDecimal], tuple[str]]:
        return (WrittenDecimal, (self.text,))


def clone_json(value: Any) -> Any:
    """A deep copy of a JSON-like value; unlike `copy.deepcopy` it never keeps shared objects
    (and, its leaves immutable, costs a fraction of it: no memo, no dispatch per object)."""
    if isinstance(value, dict):
        return {key: clone_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone_json(item) for item in value]
    return value


def dump_plain(value: Any) -> bytes | None:
    """JSON bytes from which `orjson.loads` gives `value` back, equal and of the same types,
    or None when it would not: `value` holds a `Decimal`, a subclass of a JSON type, an
    integer beyond 64 bits or a null anywhere (orjson writes NaN and ±inf as `null`; a
    string holding "null" says None needlessly, never wrongly). A tuple would come back a
    list; parsed JSON holds none."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except TypeError:  # orjson.JSONEncodeError is one: nothing but plain JSON types
        return None
    return None if b"null" in text else text


def parse(raw: bytes | str, check: Callable[[Any], None] | None = None) -> Any:
    """A JSON document, its decimals as `WrittenDecimal` where a float would change them.

    `check` sees the parsed document first (it may raise, e.g. when it nests too deep).
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if _looks_compact(data):
        parsed = orjson.loads(data)
        if check is not None:
            check(parsed)
        # What the store wrote (compact, floats as orjson prints them) prints back the
        # same: nothing to lose, and cheaper to see than scanning for numbers.
        if orjson.dumps(parsed) == data or not _float_would_change(data):
            return parsed
        return _exactly(data)
    # A client's indented body never prints back the same: look for the numbers first, and
    # parse once, exactly only when one of them would change (a Synthea Bundle of 3.4 MB
    # with one such number: 52 -> 28 ms).
    parsed = _exactly_first(data) if _float_would_change(data) else orjson.loads(data)
    if check is not None:
        check(parsed)
    return parsed


def _looks_compact(data: bytes) -> bool:
    """Whether `data` may be JSON as orjson writes it (no line breaks, no space after a
    colon, judged by its start): only then can printing it again give the same bytes."""
    head = data[:256]
    return b"\n" not in head and b'": ' not in head


def _exactly(data: bytes) -> Any:
    """`data` (which orjson accepted) parsed with its decimals as written."""
    try:
        return json.loads(data, parse_float=WrittenDecimal, parse_int=_integer)
    except ValueError as exc:  # orjson accepted it; keep its error type for the callers
        raise orjson.JSONDecodeError(str(exc), data.decode(errors="replace"), 0) from exc


def _exactly_first(data: bytes) -> Any:
    """`data` parsed with its decimals as written, and refused where orjson refuses it.

    The standard library accepts three things orjson refuses: `NaN` and `Infinity`
    (refused by `parse_constant`), numbers beyond a double's range (`1e400`, refused by
    `_finite_decimal` and `_integer`), and escapes of lone surrogates (`\\ud800`). Bodies
    with any surrogate escape, or nested so deep that the standard library's parser gives
    up, are parsed by orjson first, as everything was before: the answer is orjson's.
    """
    if _SURROGATE_ESCAPE.search(data):
        orjson.loads(data)  # refuses a lone surrogate; a well-formed pair passes
        return _exactly(data)
    try:
        text = data.decode("utf-8")
        return json.loads(
            text, parse_float=_finite_decimal, parse_int=_integer, parse_constant=_no_constant
        )
    except RecursionError:
        orjson.loads(data)  # orjson's own error for what nests beyond its limit
        return _exactly(data)
    except ValueError as exc:  # the same error type as orjson's, for the callers
        raise orjson.JSONDecodeError(str(exc), data.decode(errors="replace"), 0) from exc


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _finite_decimal(text: str) -> WrittenDecimal:
    """A number with a fraction or an exponent as written, refused beyond a double's range
    (`1e400`), as orjson refuses it."""
    if not math.isfinite(float(text)):
        raise ValueError(f"number out of range: {text}")
    return WrittenDecimal(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _float_would_change(data: bytes) -> bool:
    """Whether orjson's parse would print some number of `data` differently (1.50 as 1.5,
    0.0000001 as 1e-7, an integer beyond 64 bits as a float). Text inside strings that
    looks like a number in place may make it say yes needlessly; it never says no wrongly."""
    for numbers in _NUMBERS_AFTER:
        for match in numbers.finditer(data):
            token = match.group(1)
            if b"." in token or b"e" in token or b"E" in token:
                if orjson.dumps(float(token)) != token:
                    return True
            elif len(token) > 18:
                return True
    return False


def _integer(text: str) -> int | WrittenDecimal:
    """An integer; beyond 64 bits (which orjson cannot write) a decimal as written; beyond
    a double's range refused, as orjson refuses it."""
    number = int(text)
    if -(2**63) <= number < 2**64:
        return number
    if len(text) > _DOUBLE_DIGITS and not math.isfinite(float(WrittenDecimal(text))):
        raise ValueError(f"number out of range: {text}")
    return WrittenDecimal(text)


_DOUBLE_DIGITS = 308  # no integer of fewer digits is beyond a double's range


def dump(value: Any) -> bytes:
    """JSON bytes; `Decimal`s as written (`1.50` stays `1.50`)."""
    return orjson.dumps(value, default=_exact)


def _exact(value: Any) -> Any:
    if isinstance(value, WrittenDecimal):
        return orjson.Fragment(value.text)
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
