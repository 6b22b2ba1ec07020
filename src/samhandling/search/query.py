"""Parsing a FHIR search query string (R4 §3.1.1) into criteria the SQL builder understands."""

from __future__ import annotations

from dataclasses import dataclass, field

from samhandling.fhir.outcome import FhirError, Issue, error
from samhandling.fhir.search_parameters import SearchParameterRegistry, default_registry

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
RESULT_PARAMETERS = frozenset(
    {"_count", "_sort", "_total", "_summary", "_elements", "_format", "_pretty"}
)
PAGING_PARAMETERS = frozenset({"_offset", "_snapshot"})
SPECIAL_TYPES = {"_id": "id", "_lastUpdated": "lastUpdated"}
MAX_COUNT = 1000
DEFAULT_COUNT = 50


@dataclass(frozen=True)
class Criterion:
    """One search parameter occurrence: its values are OR-ed, occurrences are AND-ed."""

    code: str
    type: str
    modifier: str | None
    values: tuple[str, ...]


@dataclass
class SearchQuery:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    snapshot_tx: int | None = None
    ignored: list[Issue] = field(default_factory=list)


def parse_search(
    resource_type: str,
    items: list[tuple[str, str]],
    *,
    lenient: bool = False,
    registry: SearchParameterRegistry | None = None,
) -> SearchQuery:
    """Parse query items; unknown parameters are a 400 unless `lenient` (then reported)."""
    registry = registry or default_registry()
    query = SearchQuery(resource_type)
    for name, value in items:
        if name in RESULT_PARAMETERS or name in PAGING_PARAMETERS:
            _result_parameter(query, name, value)
            continue
        code, _, modifier = name.partition(":")
        kind = SPECIAL_TYPES.get(code) or _param_type(registry, resource_type, code)
        problem = None if kind else f"Unknown search parameter '{code}' for {resource_type}"
        if kind and kind not in SUPPORTED_TYPES:
            problem = f"Search parameter '{code}' of type {kind} is not supported yet"
        if problem:
            if not lenient:
                raise FhirError(400, error("not-supported", problem, name))
            query.ignored.append(Issue("warning", "not-supported", problem, (name,)))
            continue
        assert kind is not None
        query.criteria.append(Criterion(code, kind, modifier or None, tuple(_split_or(value))))
    return query


SUPPORTED_TYPES = frozenset({"id", "lastUpdated", "token", "reference", "string", "date", "uri"})


def _param_type(registry: SearchParameterRegistry, resource_type: str, code: str) -> str | None:
    parameter = registry.get(resource_type, code)
    return parameter.type if parameter else None


def _result_parameter(query: SearchQuery, name: str, value: str) -> None:
    if name == "_count":
        query.count = min(_non_negative_int(name, value), MAX_COUNT)
    elif name == "_offset":
        query.offset = _non_negative_int(name, value)
    elif name == "_snapshot":
        query.snapshot_tx = _non_negative_int(name, value)


def _non_negative_int(name: str, value: str) -> int:
    if not value.isdigit():
        raise FhirError(400, error("invalid", f"{name} must be a non-negative integer", name))
    return int(value)


def _split_or(value: str) -> list[str]:
    """Split on unescaped commas (R4 §3.1.1.5.1 / §3.1.1.5.7 escaping with backslash)."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch)
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
    """Split a date/number value into (prefix, rest); the default prefix is eq."""
    if len(value) > 2 and value[:2] in DATE_PREFIXES and not value[:2].isdigit():
        return value[:2], value[2:]
    return "eq", value
