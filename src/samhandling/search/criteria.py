"""Parsing one ``name=value`` search item into a ``Criterion`` (R4 §3.1.1.4–§3.1.1.6).

Handles modifiers, chains (``subject:Patient.organization.name``), reverse chains
(``_has:Observation:patient:code``) and the common parameters. Values are validated here,
so that a malformed date, number or prefix is a 400 before any SQL is built.
"""

from __future__ import annotations

from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.search_parameters import SearchParameter, SearchParameterRegistry
from samhandling.search import token_terminology
from samhandling.search.full_text import query_words
from samhandling.search.model import Criterion, HasLink
from samhandling.search.token_terminology import TERMINOLOGY_MODIFIERS
from samhandling.search.values import (
    invalid,
    parse_date_value,
    parse_number,
    parse_quantity,
    split_escaped,
    split_or,
)

MAX_CHAIN_DEPTH = 4
COMMON_TYPES = {"_id": "id", "_lastUpdated": "lastUpdated"}
MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"missing", "exact", "contains", "text"}),
    "token": frozenset({"missing", "text", "not", "of-type", "above", "below", "in", "not-in"}),
    "reference": frozenset({"missing", "identifier", "above", "below"}),
    "uri": frozenset({"missing", "above", "below"}),
    "date": frozenset({"missing"}),
    "number": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "composite": frozenset({"missing"}),
    "id": frozenset({"missing", "not"}),
    "lastUpdated": frozenset({"missing"}),
}
FULL_TEXT = frozenset({"_text", "_content"})  # R4 §3.1.1.5.x; search/full_text.py
UNSUPPORTED = {
    "_query": "named queries (_query) are not supported",
    "_list": "_list is not supported",
    "_filter": "_filter is not supported",
    "near": "near (geographic distance) is not supported",
}


class Unsupported(Exception):
    """A parameter this server cannot evaluate: 400, or ignored when lenient."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.message = message
        self.name = name


def parse_criterion(
    registry: SearchParameterRegistry, resource_types: tuple[str, ...], name: str, value: str
) -> Criterion:
    """The criterion for ``name=value`` on every type in ``resource_types``."""
    if name.startswith("_has:"):
        if len(resource_types) != 1:
            raise Unsupported("_has needs a single resource type", name)
        return _has(registry, resource_types[0], name, value, 0)
    return _criterion(registry, resource_types, name, value, 0)


def _criterion(
    registry: SearchParameterRegistry,
    resource_types: tuple[str, ...],
    name: str,
    value: str,
    depth: int,
) -> Criterion:
    head, dot, rest = name.partition(".")
    code, _, modifier = head.partition(":")
    if code in UNSUPPORTED:
        raise Unsupported(UNSUPPORTED[code], name)
    if code in FULL_TEXT and not dot:
        return _full_text(registry, resource_types, code, modifier or None, name, value)
    if code in FULL_TEXT:
        raise Unsupported(f"{code} is not a reference parameter: it cannot be chained", name)
    kind, parameter = _resolve(registry, resource_types, code, name)
    if dot:
        return _chain(
            registry, resource_types, parameter, code, modifier or None, rest, value, depth
        )
    _check_modifier(kind, code, modifier or None, name, parameter)
    values = tuple(split_or(value))
    _validate_values(kind, code, modifier or None, values, registry, parameter)
    return Criterion(code, kind, modifier or None, values, parameter)


def _full_text(
    registry: SearchParameterRegistry,
    resource_types: tuple[str, ...],
    code: str,
    modifier: str | None,
    name: str,
    value: str,
) -> Criterion:
    """``_content``/``_text``: words searched in the full-text index (type ``text``)."""
    if modifier is not None:
        raise Unsupported(f"Modifier ':{modifier}' is not supported for {code}", name)
    if len(resource_types) == 1 and registry.get(resource_types[0], code) is None:
        # _text is a DomainResource parameter: not on Bundle, Binary, Parameters
        raise Unsupported(f"{code} is not defined for {resource_types[0]}", name)
    values = tuple(split_or(value))
    for one in values:
        query_words(code, one)  # 400 for a value without words, before any SQL
    return Criterion(code, "text", None, values)


def _resolve(
    registry: SearchParameterRegistry, resource_types: tuple[str, ...], code: str, name: str
) -> tuple[str, SearchParameter | None]:
    if code in COMMON_TYPES:
        return COMMON_TYPES[code], None
    found = [registry.get(t, code) for t in resource_types]
    if any(p is None for p in found) or not found:
        where = " / ".join(resource_types) or "system search"
        raise Unsupported(f"Unknown search parameter '{code}' for {where}", name)
    kinds = {p.type for p in found if p is not None}
    if len(kinds) != 1:
        raise Unsupported(f"Search parameter '{code}' has different types across types", name)
    kind = kinds.pop()
    if kind == "special":
        raise Unsupported(f"Search parameter '{code}' of type special is not supported", name)
    parameter = found[0]
    if parameter is not None and not parameter.expression:
        raise Unsupported(f"Search parameter '{code}' has no expression to search by", name)
    return kind, parameter


def _check_modifier(
    kind: str, code: str, modifier: str | None, name: str, parameter: SearchParameter | None
) -> None:
    if modifier is None or modifier in MODIFIERS.get(kind, frozenset()):
        if modifier == "of-type" and not _is_identifier_param(parameter):
            raise Unsupported(f":of-type applies to identifier parameters, not {code}", name)
        return
    if kind == "reference" and modifier[:1].isupper():
        targets = parameter.targets if parameter else ()
        if targets and modifier not in targets:
            raise Unsupported(f"{modifier} is not a target type of {code}", name)
        return
    raise Unsupported(f"Modifier ':{modifier}' is not supported for {code} ({kind})", name)


def _is_identifier_param(parameter: SearchParameter | None) -> bool:
    return parameter is not None and "identifier" in (parameter.expression or "").lower()


def _validate_values(
    kind: str,
    code: str,
    modifier: str | None,
    values: tuple[str, ...],
    registry: SearchParameterRegistry,
    parameter: SearchParameter | None,
) -> None:
    if modifier == "missing":
        if len(values) != 1 or values[0] not in ("true", "false"):
            raise invalid(code, f"{code}:missing must be true or false")
        return
    for value in values:
        if value == "" and kind not in ("string",):
            raise invalid(code, f"Empty value for {code}")
        _validate_value(kind, code, modifier, value, registry, parameter)


def _validate_value(
    kind: str,
    code: str,
    modifier: str | None,
    value: str,
    registry: SearchParameterRegistry,
    parameter: SearchParameter | None,
) -> None:
    if kind in ("date", "lastUpdated"):
        parse_date_value(code, value)
    elif kind == "number":
        parse_number(code, value)
    elif kind == "quantity":
        parse_quantity(code, value)
    elif kind == "token" and modifier == "of-type" and len(split_escaped(value, "|")) != 3:
        raise invalid(code, f"{code}:of-type needs system|code|value, got '{value}'")
    elif kind == "token" and modifier in TERMINOLOGY_MODIFIERS:
        refused = token_terminology.refusal(code, modifier, value)
        if refused is not None:
            raise Unsupported(refused, f"{code}:{modifier}")
    elif kind == "composite":
        validate_composite(registry, parameter, code, value)


def validate_composite(
    registry: SearchParameterRegistry, parameter: SearchParameter | None, code: str, value: str
) -> None:
    parts = split_escaped(value, "$")
    components = parameter.components if parameter else ()
    if len(parts) != len(components):
        raise invalid(code, f"{code} needs {len(components)} components separated by '$'")
    for (definition, _), part in zip(components, parts, strict=True):
        target = registry.by_url(definition)
        if target is None:
            raise FhirError(400, error("not-supported", f"Component of {code} is unknown", code))
        _validate_value(target.type, code, None, part, registry, target)


def _chain(
    registry: SearchParameterRegistry,
    resource_types: tuple[str, ...],
    parameter: SearchParameter | None,
    code: str,
    modifier: str | None,
    rest: str,
    value: str,
    depth: int,
) -> Criterion:
    if parameter is None or parameter.type != "reference":
        raise Unsupported(f"Chaining needs a reference parameter; {code} is not one", code)
    if depth >= MAX_CHAIN_DEPTH:
        raise Unsupported(f"Chains are limited to {MAX_CHAIN_DEPTH} levels", code)
    targets = (modifier,) if modifier else parameter.targets
    chain: list[tuple[str, Criterion]] = []
    for target in targets:
        if target not in registry.resource_types:
            raise Unsupported(f"Unknown target type '{target}' for {code}", code)
        try:
            chain.append((target, _criterion(registry, (target,), rest, value, depth + 1)))
        except Unsupported:
            if modifier or len(targets) == 1:
                raise
    if not chain:
        raise Unsupported(f"No target type of {code} has the parameter in '{rest}'", code)
    return Criterion(code, "reference", modifier, (), parameter, tuple(chain))


def _has(
    registry: SearchParameterRegistry, resource_type: str, name: str, value: str, depth: int
) -> Criterion:
    parts = name.split(":", 3)
    if len(parts) != 4 or not all(parts):
        raise invalid(name, f"'{name}' must be _has:Type:reference-parameter:parameter")
    _, source_type, reference_param, inner_name = parts
    if source_type not in registry.resource_types:
        raise Unsupported(f"Unknown resource type '{source_type}' in {name}", name)
    parameter = registry.get(source_type, reference_param)
    if parameter is None or parameter.type != "reference":
        raise Unsupported(
            f"'{reference_param}' is not a reference parameter of {source_type}", name
        )
    if parameter.targets and resource_type not in parameter.targets:
        raise Unsupported(f"{source_type}.{reference_param} cannot refer to {resource_type}", name)
    if depth >= MAX_CHAIN_DEPTH:
        raise Unsupported(f"_has is limited to {MAX_CHAIN_DEPTH} levels", name)
    if inner_name.startswith("_has:"):
        inner = _has(registry, source_type, inner_name, value, depth + 1)
    else:
        inner = _criterion(registry, (source_type,), inner_name, value, depth + 1)
    link = HasLink(source_type, reference_param, inner)
    return Criterion("_has", "has", None, (), None, (), link)
