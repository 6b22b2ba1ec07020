"""Composite search parameters (R4 §3.1.1.4.10): their compiled components, the keys that
make one worth evaluating for a resource, and their rows, one ``CompositeValue`` per
combination of component values taken from the same repetition of the base (the decisions:
``values.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

from samhandling.fhir.indexing.convert import convert
from samhandling.fhir.indexing.fhirpath import split_union
from samhandling.fhir.indexing.paths import Accessor, Unsupported, compile_expression
from samhandling.fhir.indexing.rows import CompositeValue, IndexValue, TokenValue
from samhandling.fhir.search_parameters import SearchParameter


@dataclass(frozen=True, slots=True)
class Component:
    """One component of a composite parameter, compiled against the composite's base."""

    code: str
    type: str
    accessor: Accessor
    code_system: str | None


def composite_keys(parameter: SearchParameter, resource_type: str) -> frozenset[str] | None:
    """Keys for a composite whose base includes the resource itself (``Observation``):
    the resource must then hold the keys of at least one component, e.g. a value."""
    keys: set[str] = set()
    for part in split_union(parameter.expression or ""):
        try:
            compiled = compile_expression(part, resource_type)
            own = [
                compile_expression(expression, resource_type).trigger_keys
                for _, expression in parameter.components
            ]
        except Unsupported:
            return None
        if compiled.trigger_keys is not None:
            keys |= compiled.trigger_keys
            continue
        # every component must be present; the last one (usually the value) is the
        # most selective, e.g. code-value-quantity runs only with a valueQuantity
        known = [k for k in own if k is not None]
        if part.strip("() ") not in (resource_type, "Resource", "DomainResource") or not known:
            return None
        keys |= known[-1]
    return frozenset(keys)


def composite_rows(
    code: str,
    components: tuple[Component, ...],
    items: list[Any],
    root: dict[str, Any],
    memo: dict[Any, Any],
) -> list[CompositeValue]:
    """The rows of composite parameter ``code`` over its base ``items``: one per combination
    of its components' rows, taken from the same item."""
    out: list[CompositeValue] = []
    for item in items:
        selected = []
        for component in components:  # select all first: conversion costs more
            values = component.accessor([item], root)
            if not values:
                break
            selected.append(values)
        else:
            parts: list[list[IndexValue]] = []
            for component, values in zip(components, selected, strict=True):
                rows = [
                    row
                    for row in convert(
                        component.type, component.code, values, component.code_system, memo
                    )
                    if row.param == component.code
                    and not (isinstance(row, TokenValue) and row.code is None)
                ]
                if not rows:
                    break
                parts.append(list(dict.fromkeys(rows)) if len(rows) > 1 else rows)
            else:
                out.extend(CompositeValue(code, combination) for combination in product(*parts))
    return out
