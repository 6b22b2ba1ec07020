"""Turning parsed search criteria into SQL over the resource and index tables."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Select, Table, and_, exists, false, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from samhandling.fhir.fhir_dates import parse_date_range
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.text_folding import fold
from samhandling.search.query import Criterion, SearchQuery, split_prefix
from samhandling.store.index_rows import date_to_us
from samhandling.store.schema import INDEX_TABLES, resource

Condition = ColumnElement[bool]


def matching_resources(query: SearchQuery) -> Select[tuple[str, str]]:
    """SELECT (resource_type, resource_id) of current resources matching every criterion."""
    conditions = [resource.c.resource_type == query.resource_type, resource.c.deleted.is_(False)]
    if query.snapshot_tx is not None:
        conditions.append(resource.c.tx_id <= query.snapshot_tx)
    for criterion in query.criteria:
        values = [_value_condition(query.resource_type, criterion, v) for v in criterion.values]
        conditions.append(or_(*values))
    return select(resource.c.resource_type, resource.c.resource_id).where(*conditions)


def _value_condition(resource_type: str, criterion: Criterion, value: str) -> Condition:
    if criterion.type == "id":
        return resource.c.resource_id == value
    if criterion.type == "lastUpdated":
        prefix, text = split_prefix(value)
        low, high = _date_range(criterion.code, text)
        return _date_match(
            prefix, resource.c.last_updated_us, resource.c.last_updated_us + 1, low, high
        )
    table = INDEX_TABLES[criterion.type]
    match = _MATCHERS[criterion.type](table, criterion, value)
    return exists().where(
        table.c.resource_type == resource_type,
        table.c.resource_id == resource.c.resource_id,
        table.c.param == criterion.code,
        match,
    )


def _token(table: Table, criterion: Criterion, value: str) -> Condition:
    if criterion.modifier == "text":
        return table.c.text.like(_like_prefix(fold(value)), escape="\\")
    if criterion.modifier not in (None,):
        raise _unsupported_modifier(criterion)
    if "|" not in value:
        return table.c.code == value
    system, code = value.split("|", 1)
    conditions = [table.c.system == system if system else table.c.system.is_(None)]
    if code:
        conditions.append(table.c.code == code)
    return and_(*conditions)


def _string(table: Table, criterion: Criterion, value: str) -> Condition:
    if criterion.modifier == "exact":
        return table.c.value_exact == value
    if criterion.modifier == "contains":
        return table.c.value_folded.like("%" + _escape_like(fold(value)) + "%", escape="\\")
    if criterion.modifier is not None:
        raise _unsupported_modifier(criterion)
    return table.c.value_folded.like(_like_prefix(fold(value)), escape="\\")


def _reference(table: Table, criterion: Criterion, value: str) -> Condition:
    target_type = criterion.modifier
    parts = value.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2][:1].isupper():
        target_type, target_id = parts[-2], parts[-1]
        if "://" in value:
            return or_(table.c.url == value, table.c.target_id == target_id)
    else:
        target_id = value
    conditions = [table.c.target_id == target_id]
    if target_type:
        conditions.append(table.c.target_type == target_type)
    return and_(*conditions)


def _date(table: Table, criterion: Criterion, value: str) -> Condition:
    if criterion.modifier is not None:
        raise _unsupported_modifier(criterion)
    prefix, text = split_prefix(value)
    low, high = _date_range(criterion.code, text)
    return _date_match(prefix, table.c.low_us, table.c.high_us, low, high)


def _uri(table: Table, criterion: Criterion, value: str) -> Condition:
    if criterion.modifier is not None:
        raise _unsupported_modifier(criterion)
    return table.c.uri == value


def _date_match(prefix: str, t_low, t_high, s_low: int, s_high: int) -> Condition:
    """Range comparison of a target [t_low, t_high) with a search value [s_low, s_high)."""
    within = and_(t_low >= s_low, t_high <= s_high)
    comparisons: dict[str, Condition] = {
        "eq": within,
        "ne": not_(within),
        "gt": t_high > s_high,
        "lt": t_low < s_low,
        "ge": or_(t_high > s_high, within),
        "le": or_(t_low < s_low, within),
        "sa": t_low >= s_high,
        "eb": t_high <= s_low,
        "ap": and_(t_low < s_high, t_high > s_low),
    }
    return comparisons.get(prefix, false())


def _date_range(code: str, text: str) -> tuple[int, int]:
    try:
        low, high = parse_date_range(text)
    except ValueError as exc:
        raise FhirError(
            400, error("invalid", f"Invalid date '{text}' for {code}: {exc}", code)
        ) from exc
    return date_to_us(low), date_to_us(high)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _escape_like(text) + "%"


def _unsupported_modifier(criterion: Criterion) -> FhirError:
    message = f"Modifier ':{criterion.modifier}' is not supported for {criterion.code}"
    return FhirError(400, error("not-supported", message, f"{criterion.code}:{criterion.modifier}"))


_MATCHERS: dict[str, Callable[..., Condition]] = {
    "token": _token,
    "string": _string,
    "reference": _reference,
    "date": _date,
    "uri": _uri,
}
