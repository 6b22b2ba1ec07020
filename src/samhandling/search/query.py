"""Parsing a FHIR search query string (R4 §3.1.1) into a ``SearchQuery``.

Unknown or unsupported parameters are a 400 OperationOutcome, or — with
``Prefer: handling=lenient`` — ignored and reported in the Bundle. Malformed values are
always a 400.
"""

from __future__ import annotations

from samhandling.fhir.outcome import FhirError, Issue, error
from samhandling.fhir.request_limits import (
    MAX_DATABASE_INTEGER,
    check_search_size,
    database_integer,
)
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry
from samhandling.search.criteria import Unsupported, parse_criterion
from samhandling.search.model import (
    DEFAULT_COUNT,
    MAX_COUNT,
    Criterion,
    Include,
    SearchQuery,
    SortKey,
)
from samhandling.search.values import DATE_PREFIXES, invalid, split_prefix

__all__ = [
    "DATE_PREFIXES",
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "Criterion",
    "SearchQuery",
    "parse_search",
    "split_prefix",
]

RESULT_PARAMETERS = frozenset(
    {
        "_count",
        "_sort",
        "_total",
        "_summary",
        "_elements",
        "_format",
        "_pretty",
        "_contained",
        "_totalMethod",
    }
)
PAGING_PARAMETERS = frozenset({"_offset", "_snapshot", "_cursor", "_after", "_before"})
INCLUDE_PARAMETERS = frozenset({"_include", "_revinclude"})
SORTABLE = frozenset(
    {"string", "token", "date", "number", "quantity", "reference", "uri", "id", "lastUpdated"}
)
SUMMARY_VALUES = frozenset({"true", "text", "data", "count", "false"})
TOTAL_VALUES = frozenset({"none", "estimate", "accurate"})


def parse_search(
    resource_type: str,
    items: list[tuple[str, str]],
    *,
    lenient: bool = False,
    registry: SearchParameterRegistry | None = None,
    resource_types: tuple[str, ...] = (),
    base_url: str | None = None,
) -> SearchQuery:
    """Parse query items for a type search (or, with ``resource_types``, a system search)."""
    check_search_size(items)
    registry = registry or default_registry()
    query = SearchQuery(resource_type, resource_types=resource_types, base_url=base_url)
    for name, value in items:
        try:
            _parse_item(query, registry, name, value)
        except Unsupported as problem:
            if not lenient:
                raise FhirError(400, error("not-supported", problem.message, name)) from None
            query.ignored.append(Issue("warning", "not-supported", problem.message, (name,)))
    return query


def _parse_item(
    query: SearchQuery, registry: SearchParameterRegistry, name: str, value: str
) -> None:
    base = name.split(":", 1)[0]
    if base in RESULT_PARAMETERS or base in PAGING_PARAMETERS:
        _result_parameter(query, registry, name, value)
    elif base in INCLUDE_PARAMETERS:
        _include_parameter(query, registry, name, value)
    elif base == "_type":
        pass  # handled by the system search before parsing
    else:
        query.criteria.append(parse_criterion(registry, query.types, name, value))


def _result_parameter(
    query: SearchQuery, registry: SearchParameterRegistry, name: str, value: str
) -> None:
    if name == "_count":
        query.count = min(_non_negative_int(name, value), MAX_COUNT)
        query.explicit_count = True
    elif name == "_offset":
        query.offset = _non_negative_int(name, value)
    elif name == "_snapshot":
        query.snapshot_tx = _non_negative_int(name, value)
    elif name == "_cursor":
        query.cursor = value
    elif name in ("_after", "_before"):
        setattr(query, name[1:], value)
    elif name == "_sort":
        query.sort = _sort_keys(registry, query.types, value)
    elif name == "_total":
        query.total = _choice(name, value, TOTAL_VALUES)
    elif name == "_totalMethod":  # Aidbox's name for _total, sent by fhirpy's count()
        query.total = "accurate" if value == "count" else "estimate"
    elif name == "_summary":
        query.summary = _choice(name, value, SUMMARY_VALUES)
    elif name == "_elements":
        query.elements = tuple(e.strip() for e in value.split(",") if e.strip())
    elif name == "_contained" and value != "false":
        raise Unsupported(
            "_contained is not supported (contained resources are not searched)", name
        )
    elif name not in ("_format", "_pretty", "_contained"):
        raise Unsupported(f"Unknown modifier on {name}", name)


def _choice(name: str, value: str, allowed: frozenset[str]) -> str:
    if value not in allowed:
        raise invalid(name, f"{name} must be one of {sorted(allowed)}, got '{value}'")
    return value


def _non_negative_int(name: str, value: str) -> int:
    number = database_integer(value)
    if number is None:
        message = f"{name} must be a non-negative integer up to {MAX_DATABASE_INTEGER}"
        raise FhirError(400, error("invalid", message, name))
    return number


def _sort_keys(
    registry: SearchParameterRegistry, types: tuple[str, ...], value: str
) -> list[SortKey]:
    keys = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        descending = part.startswith("-")
        code = part.lstrip("-")
        kind = {"_id": "id", "_lastUpdated": "lastUpdated"}.get(code) or _sort_type(
            registry, types, code
        )
        keys.append(SortKey(code, kind, descending))
    return keys


def _sort_type(registry: SearchParameterRegistry, types: tuple[str, ...], code: str) -> str:
    found = [registry.get(t, code) for t in types]
    kinds = {p.type for p in found if p is not None}
    if not found or any(p is None for p in found) or len(kinds) != 1:
        raise Unsupported(f"Unknown sort parameter '{code}'", "_sort")
    kind = kinds.pop()
    if kind not in SORTABLE or any(p is not None and not p.expression for p in found):
        # `_content`, `_text`: full text has no value to sort by
        raise Unsupported(f"Cannot sort by '{code}' of type {kind}", "_sort")
    return kind


def _include_parameter(
    query: SearchQuery, registry: SearchParameterRegistry, name: str, value: str
) -> None:
    base, _, modifier = name.partition(":")
    if modifier not in ("", "iterate", "recurse"):
        raise Unsupported(f"Unknown modifier on {name}", name)
    reverse = base == "_revinclude"
    iterate = modifier in ("iterate", "recurse")
    if value == "*":
        query.includes.append(Include("*", "*", None, iterate, reverse))
        return
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise invalid(name, f"{name} must be Type:parameter[:targetType] or *, got '{value}'")
    source, param = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if source not in registry.resource_types:
        raise Unsupported(f"Unknown resource type '{source}' in {name}", name)
    if param != "*":
        parameter = registry.get(source, param)
        if parameter is None or parameter.type != "reference":
            raise Unsupported(f"'{param}' is not a reference parameter of {source}", name)
    if target is not None and target not in registry.resource_types:
        raise Unsupported(f"Unknown target type '{target}' in {name}", name)
    query.includes.append(Include(source, param, target, iterate, reverse))
