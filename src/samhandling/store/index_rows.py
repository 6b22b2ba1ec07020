"""Turn the index values of a resource into rows of the typed index tables.

A row is a tuple in the column order of `columns(kind)`: the resource's key and shard
(`BASE_COLUMNS`, the same for every row of a resource) and then the kind's own columns.
Tuples go from here to the COPY (or SQLite's executemany) as they are: no dict per row
and no second pass to put each row's values in column order.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import cache
from operator import attrgetter
from typing import Any

from samhandling.fhir.indexing.values import (
    CompositeValue,
    DateValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    ResourceIndex,
    StringValue,
    TokenValue,
    UriValue,
)
from samhandling.fhir.instants import date_to_us

Row = tuple[Any, ...]
BASE_COLUMNS = ("resource_type", "resource_id", "patient_id", "shard_key")


@cache
def columns(kind: str) -> tuple[str, ...]:
    """The columns of a row of `kind` (a key of schema.INDEX_TABLES), in tuple order."""
    return BASE_COLUMNS + _ROWS[kind][1]


def index_rows(index: ResourceIndex, base: Row) -> dict[str, list[Row]]:
    """Rows per index table kind that has any, each row `base` (the values of
    `BASE_COLUMNS`) followed by the kind's own values (`columns(kind)`)."""
    found = {}
    for kind, (field, _names, values_of) in _ROWS.items():
        values = getattr(index, field)
        if values:
            found[kind] = [base + row for row in map(values_of, values)]
    return found


def composite_key(value: CompositeValue) -> str:
    """A stable text key for a composite value: the component keys joined by '$'."""
    return "$".join(_component_key(c) for c in value.components)


def _component_key(component: object) -> str:
    if isinstance(component, TokenValue):
        return f"{component.system or ''}|{component.code or ''}"
    if isinstance(component, StringValue):
        return component.normalized
    if isinstance(component, QuantityValue | NumberValue):
        return "" if component.value is None else format(component.value, "f")
    if isinstance(component, ReferenceValue):
        return f"{component.target_type}/{component.target_id}"
    if isinstance(component, DateValue):
        return f"{date_to_us(component.low)}-{date_to_us(component.high)}"
    if isinstance(component, UriValue):
        return component.uri
    return str(component)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _date(v: DateValue) -> Row:
    return (v.param, date_to_us(v.low), date_to_us(v.high))


def _number_row(v: NumberValue) -> Row:
    return (v.param, _number(v.value), _number(v.low), _number(v.high))


def _quantity(v: QuantityValue) -> Row:
    return (
        v.param, _number(v.value), _number(v.low), _number(v.high), v.system, v.code, v.unit
    )  # fmt: skip


def _composite(v: CompositeValue) -> Row:
    return (v.param, composite_key(v))


# kind: (field of ResourceIndex, the kind's own columns, a value's values in that order);
# attrgetter of several names returns the tuple itself, in C
_ROWS: dict[str, tuple[str, tuple[str, ...], Callable[[Any], Row]]] = {
    "token": ("tokens", ("param", "system", "code", "text"), attrgetter(
        "param", "system", "code", "text"
    )),
    "string": ("strings", ("param", "value_folded", "value_exact"), attrgetter(
        "param", "normalized", "exact"
    )),
    "date": ("dates", ("param", "low_us", "high_us"), _date),
    "number": ("numbers", ("param", "value", "low", "high"), _number_row),
    "quantity": (
        "quantities",
        ("param", "value", "low", "high", "system", "code", "unit"),
        _quantity,
    ),
    "reference": (
        "references",
        ("param", "target_type", "target_id", "target_version", "url"),
        attrgetter("param", "target_type", "target_id", "version", "url"),
    ),
    "uri": ("uris", ("param", "uri"), attrgetter("param", "uri")),
    "composite": ("composites", ("param", "value_key"), _composite),
    "text": ("texts", ("param", "words"), attrgetter("param", "words")),
}  # fmt: skip
