"""Turn the index values of a resource into rows of the typed index tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
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
from samhandling.fhir.instants import datetime_to_us

Row = dict[str, Any]

# datetime.min/max stand for open ends; they are beyond what timestamp() can express on
# every platform, so they map to the int64 extremes.
MIN_US = -(2**62)
MAX_US = 2**62


def date_to_us(value: datetime) -> int:
    if value.year <= 1:
        return MIN_US
    if value.year >= 9999:
        return MAX_US
    return datetime_to_us(value)


def index_rows(index: ResourceIndex, base: Row | None = None) -> dict[str, list[Row]]:
    """Rows per index table (the kinds are the keys of schema.INDEX_TABLES), each starting
    with the columns of `base` (the resource's key and shard: one dict per row, not two)."""
    common = base or {}
    return {
        kind: [convert(value, common) for value in getattr(index, field)]
        for kind, (field, convert) in _ROWS.items()
    }


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


_ROWS: dict[str, tuple[str, Callable[[Any, Row], Row]]] = {
    "token": (
        "tokens",
        lambda v, b: {**b, "param": v.param, "system": v.system, "code": v.code, "text": v.text},
    ),
    "string": (
        "strings",
        lambda v, b: {**b, "param": v.param, "value_folded": v.normalized, "value_exact": v.exact},
    ),
    "date": (
        "dates",
        lambda v, b: {
            **b,
            "param": v.param,
            "low_us": date_to_us(v.low),
            "high_us": date_to_us(v.high),
        },
    ),
    "number": (
        "numbers",
        lambda v, b: {
            **b,
            "param": v.param,
            "value": _number(v.value),
            "low": _number(v.low),
            "high": _number(v.high),
        },
    ),
    "quantity": (
        "quantities",
        lambda v, b: {
            **b,
            "param": v.param,
            "value": _number(v.value),
            "low": _number(v.low),
            "high": _number(v.high),
            "system": v.system,
            "code": v.code,
            "unit": v.unit,
        },
    ),
    "reference": (
        "references",
        lambda v, b: {
            **b,
            "param": v.param,
            "target_type": v.target_type,
            "target_id": v.target_id,
            "target_version": v.version,
            "url": v.url,
        },
    ),
    "uri": ("uris", lambda v, b: {**b, "param": v.param, "uri": v.uri}),
    "composite": (
        "composites",
        lambda v, b: {**b, "param": v.param, "value_key": composite_key(v)},
    ),
    "text": ("texts", lambda v, b: {**b, "param": v.param, "words": v.words}),
}
