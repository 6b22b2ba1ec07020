"""Composite parameters (R4 §3.1.1.4.10): ``code-value-quantity=http://loinc.org|8480-6$gt100``.

``index_composite`` holds one text key per combination of component values
(``store/index_rows.composite_key``: ``system|code`` for tokens, the decimal for quantities
and numbers, ``low-high`` microseconds for dates, ``Type/id`` for references, the folded
text for strings). Candidate rows are selected in SQL (by the key's leading token when the
first component names a system and code) and every component is compared in Python, with
the same prefix semantics as the simple parameters. Quantity units are not part of the key,
so the units of a composite's quantity component are not compared (docs/SEARCH.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, select

from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.search_parameters import SearchParameter, SearchParameterRegistry
from samhandling.fhir.text_folding import fold
from samhandling.search import pymatch
from samhandling.search.conditions import escape_like
from samhandling.search.derived_rows import param_rows
from samhandling.search.model import Criterion
from samhandling.search.values import (
    parse_date_value,
    parse_number,
    parse_quantity,
    parse_token,
    split_escaped,
    unescape,
)
from samhandling.store.schema import index_composite

_DATE_KEY = re.compile(r"(-?[0-9]+)-(-?[0-9]+)")
Component = Callable[[str], bool]


def composite_ids(
    connection: Connection,
    registry: SearchParameterRegistry,
    resource_type: str,
    criterion: Criterion,
) -> set[str]:
    """Ids of ``resource_type`` resources with a composite row matching any value."""
    parameter = criterion.parameter
    assert parameter is not None
    types = _component_types(registry, parameter, criterion.code)
    found: set[str] = set()
    for value in criterion.values:
        parts = split_escaped(value, "$")
        tests = [
            _component_test(kind, part, criterion.code)
            for kind, part in zip(types, parts, strict=True)
        ]
        stmt = select(index_composite.c.resource_id, index_composite.c.value_key).where(
            index_composite.c.resource_type == resource_type,
            param_rows(index_composite.c, resource_type, criterion.code, registry=registry),
        )
        prefix = _key_prefix(types[0], parts[0])
        if prefix:
            stmt = stmt.where(
                index_composite.c.value_key.like(escape_like(prefix) + "%", escape="\\")
            )
        for rid, key in connection.execute(stmt):
            pieces = key.split("$")
            if len(pieces) == len(tests) and all(t(p) for t, p in zip(tests, pieces, strict=True)):
                found.add(rid)
    return found


def _component_types(
    registry: SearchParameterRegistry, parameter: SearchParameter, code: str
) -> list[str]:
    types = []
    for definition, _ in parameter.components:
        target = registry.by_url(definition)
        if target is None:
            raise FhirError(400, error("not-supported", f"Component of {code} is unknown", code))
        types.append(target.type)
    return types


def _key_prefix(kind: str, part: str) -> str | None:
    if kind != "token":
        return None
    token = parse_token(part)
    if token.system and token.code:
        return f"{token.system}|{token.code}$"
    return None


def _component_test(kind: str, part: str, code: str) -> Component:
    if kind == "token":
        token = parse_token(part)
        return lambda key: pymatch.token_key(key, token)
    if kind in ("number", "quantity"):
        number = (
            parse_quantity(code, part).number if kind == "quantity" else parse_number(code, part)
        )
        return lambda key: (value := _decimal(key)) is not None and pymatch.number(value, number)
    if kind == "date":
        search = parse_date_value(code, part)
        return lambda key: (r := _date_key(key)) is not None and pymatch.date(r[0], r[1], search)
    if kind == "string":
        folded = fold(unescape(part))
        return lambda key: key.startswith(folded)
    text = unescape(part)
    return lambda key: key == text or key.endswith("/" + text)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _date_key(text: str) -> tuple[int, int] | None:
    match = _DATE_KEY.fullmatch(text)
    return (int(match[1]), int(match[2])) if match else None
