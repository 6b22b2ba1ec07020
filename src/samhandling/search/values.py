"""Parsing search values (R4 §3.1.1.5): escaping, prefixes, numbers, dates, tokens, quantities.

Every function raises ``FhirError`` 400 with a message naming the parameter and the value
when the value is malformed, so a bad date or prefix is never silently read as something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from samhandling.fhir.fhir_dates import parse_date
from samhandling.fhir.indexing.convert import precision_range
from samhandling.fhir.instants import date_to_us
from samhandling.fhir.outcome import FhirError, error

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
DATE_PREFIXES = PREFIXES  # kept for callers of the first search module
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def invalid(code: str, message: str) -> FhirError:
    return FhirError(400, error("invalid", message, code))


def split_escaped(value: str, separator: str) -> list[str]:
    """Split on unescaped ``separator``; ``\\,`` ``\\$`` ``\\|`` ``\\\\`` are unescaped."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def split_or(value: str) -> list[str]:
    """The OR-ed values of one parameter occurrence, split on unescaped commas.

    The escapes of ``$`` and ``|`` are kept so that composite and token values can still be
    split on them.
    """
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch if ch in ",\\" else "\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def split_prefix(value: str) -> tuple[str, str]:
    """Split a date/number/quantity value into (prefix, rest); the default prefix is eq."""
    if len(value) > 2 and value[:2].isalpha():
        return value[:2], value[2:]
    return "eq", value


def checked_prefix(code: str, value: str, what: str) -> tuple[str, str]:
    prefix, rest = split_prefix(value)
    if prefix not in PREFIXES:
        message = (
            f"Invalid {what} '{value}' for {code}: unknown prefix '{prefix}' "
            f"(use one of {', '.join(PREFIXES)})"
        )
        raise invalid(code, message)
    return prefix, rest


@dataclass(frozen=True)
class NumberValue:
    prefix: str
    value: Decimal
    low: Decimal
    high: Decimal


def parse_number(code: str, text: str) -> NumberValue:
    """``[prefix]number``; the implicit range is half a unit of the last written digit."""
    prefix, rest = checked_prefix(code, text, "number")
    if not _NUMBER.fullmatch(rest):
        raise invalid(code, f"Invalid number '{text}' for {code}")
    try:
        number = Decimal(rest)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise invalid(code, f"Invalid number '{text}' for {code}") from exc
    low, high = precision_range(number)
    return NumberValue(prefix, number, low, high)


@dataclass(frozen=True)
class QuantityValue:
    number: NumberValue
    system: str | None
    code: str | None


def parse_quantity(code: str, text: str) -> QuantityValue:
    """``[prefix]number|system|code``, ``number||code`` or a bare number."""
    parts = split_escaped(text, "|")
    if len(parts) not in (1, 3):
        raise invalid(code, f"Invalid quantity '{text}' for {code}: use number|system|code")
    number = parse_number(code, parts[0])
    if len(parts) == 1:
        return QuantityValue(number, None, None)
    return QuantityValue(number, parts[1] or None, parts[2] or None)


@dataclass(frozen=True)
class DateRange:
    prefix: str
    low: int  # UTC microseconds, inclusive
    high: int  # exclusive


def parse_date_value(code: str, text: str) -> DateRange:
    """``[prefix]date``: the range its precision covers (``2024-03`` is the whole month)."""
    prefix, rest = checked_prefix(code, text, "date")
    try:
        parsed = parse_date(rest.replace(" ", "+"))  # '+' of an offset may arrive as ' '
    except ValueError as exc:
        raise invalid(code, f"Invalid date '{text}' for {code}: {exc}") from exc
    return DateRange(prefix, date_to_us(parsed.low), date_to_us(parsed.high))


@dataclass(frozen=True)
class TokenValue:
    system: str | None  # None: any system; '' : no system (``|code``)
    code: str | None  # None: any code (``system|``)


def parse_token(text: str) -> TokenValue:
    parts = split_escaped(text, "|")
    if len(parts) == 1:
        return TokenValue(None, parts[0])
    system, code = parts[0], "|".join(parts[1:])
    return TokenValue(system, code or None)


def unescape(text: str) -> str:
    return "".join(split_escaped(text, "\x00"))
