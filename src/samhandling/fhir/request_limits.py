"""Bounds on the work one request may ask of the server (docs/SECURITY.md "Limits").

A request outside them is answered with a 4xx OperationOutcome before the work starts:
nesting of a JSON body, search parameters and values, patch operations and FHIRPath paths,
integers meant for 64-bit database columns, and NUL characters, which FHIR strings may not
hold (R4 §2.24.0.1 string: "SHALL NOT contain Unicode character points below 32, except for
u0009, u000D and u000A") and PostgreSQL cannot store in text.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

import orjson

from samhandling.fhir.outcome import FhirError, error

MAX_JSON_DEPTH = 100
"""Deepest nesting of objects and arrays in a body (a Bundle of Questionnaires is ~40)."""
MAX_SEARCH_PARAMETERS = 100
"""Most query parameters (name=value pairs) in one search."""
MAX_SEARCH_VALUES = 100
"""Most comma-separated values in one search parameter."""
MAX_SEARCH_JOINS = 10
"""Most chained (`subject:Patient.name`) and reverse-chained (`_has:…`) parameters in one
search: each joins another resource type (99 `_has` took PostgreSQL over 30 s)."""
MAX_PATCH_OPERATIONS = 100
"""Most operations in one JSON Patch or FHIRPath Patch."""
MAX_FHIRPATH_LENGTH = 500
"""Longest FHIRPath expression in a FHIRPath Patch."""
MAX_FHIRPATH_NESTING = 6
"""Deepest nesting of parentheses, brackets and braces in such an expression."""
MAX_FHIRPATH_PATCH_PATHS = 5000
"""Most characters of all the paths of one FHIRPath Patch together."""
MAX_FHIRPATH_PATCH_WORK = 10 * 1024 * 1024
"""Most FHIRPath Patch operations × bytes of the patched resource (each operation
evaluates its path over the whole resource): 100 operations on 100 kB, 1 on 10 MB."""
MAX_DATABASE_INTEGER = 2**63 - 1
"""Largest integer a BIGINT column (transaction ids) can compare with."""
MAX_VERSION_ID = 2**31 - 1
"""Largest version id (an INTEGER column)."""

# `\u0000` in JSON text, unless its backslash is itself escaped (`\\u0000` is no NUL)
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def too_costly(message: str, *expression: str) -> FhirError:
    return FhirError(400, error("too-costly", message, *expression))


def check_json_depth(value: Any) -> None:
    """400 when a parsed body nests objects and arrays deeper than MAX_JSON_DEPTH."""
    if nests_deeper(value, MAX_JSON_DEPTH):
        raise too_costly(f"The body nests deeper than the limit of {MAX_JSON_DEPTH} levels")


def nests_deeper(value: Any, limit: int) -> bool:
    """Whether `value` holds an object or array inside `limit` (≥ 1) others.

    Seen in orjson's indented text, made in C: each value inside an object or array starts
    a line indented two spaces per container around it, and no string holds a raw newline.
    Such a container's line has 2 × `limit` spaces and then `[`, `{` or a member name and
    one of them (a scalar there is allowed). ~1/13 of the CPU of walking the value in
    Python (6.7 vs 87 ms for an 11 MB Synthea Bundle; bench/RESULTS.md, issue 20).
    """
    try:
        # a decimal kept as written (`json_codec.WrittenDecimal`, a whole body of them when
        # one number needed it) is a scalar like any other: printed as a 0
        text = orjson.dumps(value, default=_decimal_as_zero, option=orjson.OPT_INDENT_2)
    except TypeError:  # beyond orjson's recursion limit (254 levels), or not plain JSON
        return _walk_deeper(value, limit)
    return b"\n" + b" " * (2 * limit) in text and _deep_container(limit).search(text) is not None


@functools.cache
def _deep_container(limit: int) -> re.Pattern[bytes]:
    # an indented line opening a container: `[`, `{`, or `"name": ` then one of them
    return re.compile(rb'\n {%d}(?:"(?:[^"\\]|\\.)*": )?[\[{]' % (2 * limit))


def _decimal_as_zero(value: Any) -> int:
    if isinstance(value, Decimal):
        return 0
    raise TypeError(f"{type(value).__name__} is not JSON")


def _walk_deeper(value: Any, limit: int) -> bool:
    """`nests_deeper` by visiting the containers level by level."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def check_no_nul_in_json(raw: bytes) -> None:
    """400 when a JSON text holds a NUL character (`\\u0000`) in a string or member name."""
    if b"\\u0000" in raw and _NUL_ESCAPE.search(raw):
        raise FhirError(400, error("invalid", "Strings must not contain the NUL character"))


def check_no_nul(name: str, value: str) -> None:
    """400 when a query parameter's name or value holds a NUL character."""
    if "\x00" in name or "\x00" in value:
        shown = name.replace("\x00", "\\0")
        raise FhirError(400, error("invalid", f"{shown} must not contain a NUL character", shown))


def database_integer(text: str, most: int = MAX_DATABASE_INTEGER) -> int | None:
    """`text` as a non-negative integer of ASCII digits up to `most`, else None."""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= most else None


def check_search_size(items: list[tuple[str, str]]) -> None:
    """400 above MAX_SEARCH_PARAMETERS parameters, MAX_SEARCH_JOINS chains or
    MAX_SEARCH_VALUES values in one parameter, or with a NUL character."""
    if len(items) > MAX_SEARCH_PARAMETERS:
        raise too_costly(
            f"A search may have at most {MAX_SEARCH_PARAMETERS} parameters, not {len(items)}"
        )
    joins = [name for name, _ in items if name.startswith("_has:") or "." in name]
    if len(joins) > MAX_SEARCH_JOINS:
        message = f"A search may have at most {MAX_SEARCH_JOINS} chained or _has parameters"
        raise too_costly(f"{message}, not {len(joins)}")
    for name, value in items:
        check_no_nul(name, value)
        if value.count(",") >= MAX_SEARCH_VALUES:
            message = f"A search parameter may have at most {MAX_SEARCH_VALUES} values"
            raise too_costly(f"{message} ({name} has {value.count(',') + 1})", name)
