"""Value checks for the FHIR R4 primitive types (R4 §2.24.0.1 and the JSON rules of §2.6.2).

Each primitive type gets one checker: `check(value) -> None | (issue code, message)`. The
regular expressions come from the generated model (the official `regex` extensions); they are
compiled with `re.ASCII` so that `\\s`/`\\S` mean what they mean in the Java/XSD originals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from samhandling.fhir.validation.narrative import narrative_problem

Problem = tuple[str, str]
Checker = Callable[[Any], Problem | None]

_KNOWN_MAX_SIZE = 20_000
_KNOWN_MAX_LENGTH = 200
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_B64_PLAIN = re.compile(r"[0-9a-zA-Z+/=]+", re.ASCII).fullmatch
_XHTML_DIV = re.compile(r"\s*<div\s[^>]*xmlns\s*=\s*([\"'])http://www\.w3\.org/1999/xhtml\1").match


def _json_name(value: Any) -> str:
    """The JSON type name of a parsed value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _real_date(text: str) -> bool:
    """Whether the YYYY-MM-DD prefix of a regex-valid date names an existing day."""
    if len(text) < 10:
        return True
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    if month == 2 and day == 29:
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= _DAYS[month - 1]


def _string_checker(name: str, spec: dict[str, Any]) -> Checker:
    """Checker for a string-valued primitive: JSON string, regex, length, real dates."""
    match = re.compile(spec["regex"], re.ASCII).fullmatch if "regex" in spec else None
    max_length = spec.get("maxLength")
    dated = name in ("date", "dateTime", "instant")
    known: set[str] = set()  # values already found valid (bounded, short ones only)

    def check(value: Any) -> Problem | None:
        if type(value) is not str:
            return "structure", f"{name} must be a JSON string, not {_json_name(value)}"
        if value in known:
            return None
        if not value:
            return "value", f"empty string is not a valid {name}"
        if match is not None and match(value) is None:
            return "value", f"{value[:80]!r} is not a valid {name}"
        if max_length is not None and len(value) > max_length:
            return "value", f"{name} is longer than {max_length} characters"
        if dated and not _real_date(value):
            return "value", f"{value!r} is not a valid {name} (no such day)"
        if len(value) <= _KNOWN_MAX_LENGTH and len(known) < _KNOWN_MAX_SIZE:
            known.add(value)
        return None

    return check


def _base64_checker(spec: dict[str, Any]) -> Checker:
    """base64Binary: a fast exact path for unbroken base64, else the official regex."""
    general = _string_checker("base64Binary", spec)

    def check(value: Any) -> Problem | None:
        if type(value) is str and len(value) % 4 == 0 and value and _B64_PLAIN(value):
            return None
        return general(value)

    return check


def _xhtml_checker() -> Checker:
    """xhtml (Narrative.div): a string holding a <div> in the XHTML namespace, whose content
    a narrative may hold (issue code `invariant`: txt-1, txt-2; see `narrative`)."""

    def check(value: Any) -> Problem | None:
        if type(value) is not str:
            return "structure", f"xhtml must be a JSON string, not {_json_name(value)}"
        if _XHTML_DIV(value) is None:
            return (
                "value",
                "xhtml must be a <div> element with xmlns='http://www.w3.org/1999/xhtml'",
            )
        problem = narrative_problem(value)
        return None if problem is None else ("invariant", problem)

    return check


def _integer_checker(name: str, spec: dict[str, Any]) -> Checker:
    """integer, positiveInt, unsignedInt: a JSON number without fraction, within range."""
    low, high = spec.get("min", -(2**31)), spec.get("max", 2**31 - 1)

    def check(value: Any) -> Problem | None:
        if type(value) is int:
            if low <= value <= high:
                return None
            return "value", f"{value} is out of range for {name} ({low}..{high})"
        if isinstance(value, float | Decimal) and not isinstance(value, bool):
            return "value", f"{value} is not a valid {name} (must be a whole number)"
        return "structure", f"{name} must be a JSON number, not {_json_name(value)}"

    return check


def _decimal_check(value: Any) -> Problem | None:
    """decimal: a finite JSON number (ints, floats or decimal.Decimal from the parser)."""
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return None
    if isinstance(value, Decimal):  # WrittenDecimal from fhir/json_codec.py too
        return None if value.is_finite() else ("value", f"{value} is not a valid decimal")
    if kind is float:
        return "value", f"{value} is not a valid decimal"
    return "structure", f"decimal must be a JSON number, not {_json_name(value)}"


def _boolean_check(value: Any) -> Problem | None:
    """boolean: JSON true or false."""
    if value is True or value is False:
        return None
    return "structure", f"boolean must be JSON true or false, not {_json_name(value)}"


def make_checker(name: str, spec: dict[str, Any]) -> Checker:
    """The checker for primitive type `name` with its generated `spec`."""
    if name == "boolean":
        return _boolean_check
    if name == "decimal":
        return _decimal_check
    if spec.get("json") == "integer":
        return _integer_checker(name, spec)
    if name == "xhtml":
        return _xhtml_checker()
    if name == "base64Binary":
        return _base64_checker(spec)
    return _string_checker(name, spec)
