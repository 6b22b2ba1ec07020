"""Turning the values an expression selects into index rows, by search-parameter type.

Each converter takes ``(param code, items, code system)`` where items are ``(value, type)``
pairs (type: a FHIR type name, or None when unknown — then the JSON shape decides) and
returns rows. Values that cannot be indexed (a malformed date, a Quantity without a value, a
local ``#id`` reference) are skipped: validating resources is not the indexer's job.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from samhandling.fhir.fhir_dates import MAX_DATETIME, MIN_DATETIME, parse_date_range
from samhandling.fhir.indexing.numbers import number_range, precision_range, to_decimal
from samhandling.fhir.indexing.paths import Item
from samhandling.fhir.indexing.references import parse_canonical, parse_reference
from samhandling.fhir.indexing.rows import (
    DateValue,
    IndexValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    StringValue,
    TokenValue,
    UriValue,
)
from samhandling.fhir.indexing.types import is_subtype
from samhandling.fhir.text_folding import fold

__all__ = ["CONVERTERS", "convert", "number_range", "precision_range", "to_decimal"]

Rows = list[IndexValue]
Converter = Callable[[str, Any, str | None, str | None, Rows], None]

CURRENCY_SYSTEM = "urn:iso:std:iso:4217"
_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


# --- numbers --------------------------------------------------------------------------


def _number(param: str, value: Any, value_type: str | None, _: str | None, out: Rows) -> None:
    found = number_range(value)
    if found is not None:
        out.append(NumberValue(param, *found))


# --- tokens ---------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return fold(value) if isinstance(value, str) and value else None


def _coding(param: str, coding: Any, out: Rows) -> None:
    if not isinstance(coding, dict):
        return
    system, code, display = coding.get("system"), coding.get("code"), coding.get("display")
    if isinstance(code, str) or isinstance(system, str):
        out.append(TokenValue(param, _str(system), _str(code), _text(display)))
    elif isinstance(display, str) and display:
        out.append(TokenValue(param, None, None, _text(display)))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _codeable_concept(param: str, concept: dict[str, Any], out: Rows) -> None:
    for coding in _list(concept.get("coding")):
        _coding(param, coding, out)
    text = concept.get("text")
    if isinstance(text, str) and text:
        out.append(TokenValue(param, None, None, fold(text)))


def _identifier(param: str, identifier: dict[str, Any], out: Rows) -> None:
    system, value = _str(identifier.get("system")), _str(identifier.get("value"))
    if system is None and value is None:
        return
    id_type = identifier.get("type")
    id_type = id_type if isinstance(id_type, dict) else {}
    out.append(TokenValue(param, system, value, _text(id_type.get("text"))))
    if value is None:
        return
    for coding in _list(id_type.get("coding")):
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            code = f"{coding['code']}|{value}"
            out.append(TokenValue(param + ":of-type", _str(coding.get("system")), code, None))


def _token_kind(value: Any, value_type: str | None) -> str | None:
    if not isinstance(value, dict):
        if isinstance(value, bool):
            return "boolean"
        return "number" if isinstance(value, int | float | Decimal) else None
    if value_type in ("Coding", "CodeableConcept", "Identifier", "ContactPoint"):
        return value_type
    if value_type not in (None, "Element"):
        return None
    if "coding" in value:
        return "CodeableConcept"
    if "value" in value:
        contact = "rank" in value or value.get("system") in _CONTACT_SYSTEMS
        return "ContactPoint" if contact and "type" not in value else "Identifier"
    if "code" in value or "system" in value:
        return "Coding"
    return "CodeableConcept" if "text" in value else None


def _token(
    param: str, value: Any, value_type: str | None, code_system: str | None, out: Rows
) -> None:
    if isinstance(value, str):
        if value_type == "code":
            out.append(TokenValue(param, code_system, value, None))
        else:
            out.append(TokenValue(param, None, value, None))
        return
    kind = _token_kind(value, value_type)
    if kind == "CodeableConcept":
        _codeable_concept(param, value, out)
    elif kind == "Coding":
        _coding(param, value, out)
    elif kind == "Identifier":
        _identifier(param, value, out)
    elif kind == "ContactPoint":
        if isinstance(value.get("value"), str):
            out.append(TokenValue(param, None, value["value"], None))
    elif kind == "boolean":
        out.append(TokenValue(param, None, "true" if value else "false", None))
    elif kind == "number":
        out.append(TokenValue(param, None, str(value), None))


# --- strings --------------------------------------------------------------------------


def _string_parts(param: str, value: dict[str, Any], parts: tuple[str, ...], out: Rows) -> None:
    for part in parts:
        found = value.get(part)
        for text in found if isinstance(found, list) else (found,):
            if isinstance(text, str) and text:
                out.append(StringValue(param, fold(text), text))


def _string(param: str, value: Any, value_type: str | None, _: str | None, out: Rows) -> None:
    if isinstance(value, str):
        if value:
            out.append(StringValue(param, fold(value), value))
    elif not isinstance(value, dict):
        return
    elif value_type == "HumanName" or (
        value_type is None and ("family" in value or "given" in value)
    ):
        _string_parts(param, value, _NAME_PARTS, out)
    elif value_type == "Address" or (value_type is None and ("line" in value or "city" in value)):
        _string_parts(param, value, _ADDRESS_PARTS, out)
    elif value_type is None or value_type in ("CodeableConcept", "Annotation"):
        _string_parts(param, value, ("text",), out)


# --- dates ----------------------------------------------------------------------------


def _date_range(value: Any) -> tuple[datetime, datetime] | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_date_range(value)
    except ValueError:
        return None


def _period(value: dict[str, Any]) -> tuple[datetime, datetime] | None:
    start, end = _date_range(value.get("start")), _date_range(value.get("end"))
    if start is None and end is None:
        return None
    return (start[0] if start else MIN_DATETIME), (end[1] if end else MAX_DATETIME)


def _timing(value: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """The outer limits of a Timing: its events and ``repeat.boundsPeriod`` (R4 §3.1.1.4.5)."""
    ranges = [r for r in map(_date_range, _list(value.get("event"))) if r is not None]
    repeat = value.get("repeat")
    if isinstance(repeat, dict) and isinstance(repeat.get("boundsPeriod"), dict):
        bounds = _period(repeat["boundsPeriod"])
        if bounds is not None:
            ranges.append(bounds)
    if not ranges:
        return None
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


def _date(param: str, value: Any, value_type: str | None, _: str | None, out: Rows) -> None:
    found: tuple[datetime, datetime] | None = None
    if isinstance(value, str):
        found = _date_range(value)
    elif not isinstance(value, dict):
        return
    elif value_type == "Period" or (value_type is None and ("start" in value or "end" in value)):
        found = _period(value)
    elif value_type == "Timing" or (value_type is None and ("event" in value or "repeat" in value)):
        found = _timing(value)
    if found is not None:
        out.append(DateValue(param, found[0], found[1]))


# --- quantities -----------------------------------------------------------------------


def _quantity_kind(value: dict[str, Any], value_type: str | None) -> str | None:
    if value_type == "Quantity":
        return value_type
    if value_type in ("Range", "Money", "SampledData"):
        return value_type
    if value_type is not None and is_subtype(value_type, "Quantity"):
        return "Quantity"
    if value_type is not None:
        return None
    if "low" in value or "high" in value:
        return "Range"
    if "currency" in value:
        return "Money"
    return "Quantity" if "value" in value else None


def _quantity(param: str, value: dict[str, Any], money: bool) -> QuantityValue | None:
    found = number_range(value.get("value"))
    if found is None:
        return None
    number, low, high = found
    if money:
        currency = _str(value.get("currency"))
        return QuantityValue(param, number, low, high, CURRENCY_SYSTEM, currency, None)
    system, code, unit = _str(value.get("system")), _str(value.get("code")), _str(value.get("unit"))
    return QuantityValue(param, number, low, high, system, code, unit)


def _range(param: str, value: dict[str, Any]) -> QuantityValue | None:
    low = _quantity(param, value["low"], False) if isinstance(value.get("low"), dict) else None
    high = _quantity(param, value["high"], False) if isinstance(value.get("high"), dict) else None
    if low is None and high is None:
        return None
    unit_from = low or high
    assert unit_from is not None
    return QuantityValue(
        param,
        None,
        low.low if low else None,
        high.high if high else None,
        unit_from.system,
        unit_from.code,
        unit_from.unit,
    )


def _quantity_value(
    param: str, value: Any, value_type: str | None, _: str | None, out: Rows
) -> None:
    row: QuantityValue | None = None
    if isinstance(value, dict):
        kind = _quantity_kind(value, value_type)
        if kind == "Quantity" or kind == "Money":
            row = _quantity(param, value, kind == "Money")
        elif kind == "Range":
            row = _range(param, value)
    else:
        found = number_range(value)
        if found is not None:
            row = QuantityValue(param, *found, None, None, None)
    if row is not None:
        out.append(row)


# --- references and uris --------------------------------------------------------------


def _reference(param: str, value: dict[str, Any], out: Rows) -> None:
    text = value.get("reference")
    if isinstance(text, str):
        parsed = parse_reference(text)
        if parsed is not None:
            out.append(
                ReferenceValue(
                    param, parsed.target_type, parsed.target_id, parsed.version, parsed.url
                )
            )
    identifier = value.get("identifier")
    if isinstance(identifier, dict):
        system, id_value = _str(identifier.get("system")), _str(identifier.get("value"))
        if id_value is not None:
            out.append(TokenValue(param + ":identifier", system, id_value, None))


def _reference_value(
    param: str, value: Any, value_type: str | None, _: str | None, out: Rows
) -> None:
    if isinstance(value, str):
        parsed = parse_canonical(value)
        if parsed is not None:
            out.append(
                ReferenceValue(
                    param, parsed.target_type, parsed.target_id, parsed.version, parsed.url
                )
            )
    elif not isinstance(value, dict):
        return
    elif isinstance(value.get("resourceType"), str):
        if isinstance(value.get("id"), str):
            out.append(ReferenceValue(param, value["resourceType"], value["id"], None, None))
    elif value_type in (None, "Reference"):
        _reference(param, value, out)


def _uri(param: str, value: Any, value_type: str | None, _: str | None, out: Rows) -> None:
    if isinstance(value, str) and value:
        out.append(UriValue(param, value))


CONVERTERS: dict[str, Converter] = {
    "token": _token,
    "string": _string,
    "date": _date,
    "number": _number,
    "quantity": _quantity_value,
    "reference": _reference_value,
    "uri": _uri,
}


def convert(
    param_type: str,
    param: str,
    items: list[Item],
    code_system: str | None = None,
    memo: dict[tuple[Any, ...], tuple[Any, Rows]] | None = None,
) -> Rows:
    """Rows for ``items`` of a parameter of ``param_type``; [] for composite and special.

    With ``memo`` (one dict per resource), an item already converted for the same parameter
    code is not converted again — composites reuse the rows of their component parameters.
    """
    converter = CONVERTERS.get(param_type)
    out: Rows = []
    if converter is None:
        return out
    if memo is None:
        for value, value_type in items:
            converter(param, value, value_type, code_system, out)
        return out
    for value, value_type in items:
        key = (param_type, param, code_system, value_type, id(value))
        found = memo.get(key)
        if found is None:
            rows: Rows = []
            converter(param, value, value_type, code_system, rows)
            memo[key] = found = (value, rows)  # holding value keeps its id unique
        out.extend(found[1])
    return out
