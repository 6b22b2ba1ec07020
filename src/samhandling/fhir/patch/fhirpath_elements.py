"""FHIRPath Patch: the R4 element model as a patch needs it, and the values it adds.

Which elements a type has (following base types and choice types), whether an element
repeats, whether a value fits its element's type, and the JSON a value part builds. See
`samhandling.fhir.patch.fhirpath` for the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from samhandling.fhir.patch.json_patch import clone_json
from samhandling.fhir.r4_model import (
    CHOICES,
    ELEMENT_OWNERS,
    PARENTS,
    PATH2TYPE,
    PRIMITIVE_TYPES,
    is_a,
    model_path,
)

Repeats = Callable[[str], bool | None]
"""Element path (`Patient.contact`, `HumanName.given`) → repeats?; None when unknown."""

_ALWAYS_REPEATING = frozenset({"extension", "modifierExtension", "contained"})


def value_entry(part: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(type suffix, JSON value) of a part's `value[x]`; ValueError if it has several."""
    keys = [k for k in part if k.startswith("value") and k[5:6].isupper()]
    if len(keys) > 1:
        raise ValueError(f"part '{part.get('name')}' has several values: {', '.join(keys)}")
    return (keys[0][5:], part[keys[0]]) if keys else None


class Unapplicable(Exception):
    """A well-formed operation cannot be applied to this resource (→ 422)."""


@dataclass(frozen=True)
class Element:
    """An element of a type, as the model knows it."""

    key: str  # the JSON property name
    base: str  # the element name without a choice-type suffix
    type: str | None  # datatype, resource type, backbone element path, or None if unknown
    path: str | None  # element path for cardinality, e.g. "Patient.contact"
    choices: tuple[str, ...] = ()


def check_name(owner_type: str | None, name: str) -> None:
    """Refuse a new element that a type known to the model does not have."""
    if owner_type is None or not (owner_type in PARENTS or owner_type in ELEMENT_OWNERS):
        return
    if model_path(owner_type, name) is not None:
        return
    for cut in range(len(name) - 1, 0, -1):  # a choice element named with its type
        base = model_path(owner_type, name[:cut]) if name[cut].isupper() else None
        if base is not None and name[cut:] in CHOICES.get(base, ()):
            return
    raise Unapplicable(f"{owner_type} has no element '{name}'")


def element_of(owner_type: str | None, name: str, suffix: str | None, owner: Any) -> Element:
    """Element `name` of an element of type `owner_type`; `suffix` picks a choice type,
    else the type present in `owner` does."""
    path = f"{owner_type}.{name}" if owner_type else None
    in_model = model_path(owner_type, name)
    choices = tuple(CHOICES.get(in_model, ())) if in_model else ()
    if choices:
        if suffix is None and isinstance(owner, dict):
            present = (s for s in choices if f"{name}{s}" in owner or f"_{name}{s}" in owner)
            suffix = next(present, None)
        kind = fhir_type(suffix) if suffix else None
        return Element(name + (suffix or ""), name, kind, path, choices)
    declared = PATH2TYPE.get(in_model) if in_model else None
    if declared is None and in_model in ELEMENT_OWNERS:
        declared = in_model
    return Element(name, name, declared, path)


def fhir_type(suffix: str) -> str:
    lowered = suffix[:1].lower() + suffix[1:]
    return lowered if lowered in PRIMITIVE_TYPES else suffix


def _is_primitive(kind: str) -> bool:
    return kind.startswith("System.") or kind[:1].islower()


def is_repeating(element: Element, existing: Any, repeats: Repeats | None) -> bool:
    if element.base in _ALWAYS_REPEATING:
        return True
    known = repeats(element.path) if repeats and element.path else None
    return known if known is not None else isinstance(existing, list)


def _check_type(element: Element, value: Any, suffix: str | None) -> None:
    if element.choices and suffix is not None and suffix not in element.choices:
        raise Unapplicable(f"{element.base}[x] does not allow type {suffix}")
    expected = element.type
    if expected is None:
        return
    if is_a(expected, "Resource"):
        if not (isinstance(value, dict) and "resourceType" in value):
            raise Unapplicable(f"{element.key} needs a resource")
    elif _is_primitive(expected):
        if isinstance(value, dict | list):
            raise Unapplicable(f"{element.key} is a primitive ({expected}), not a complex value")
    elif not isinstance(value, dict):
        raise Unapplicable(f"{element.key} has type {expected}, not a primitive value")
    elif suffix and "." not in expected:
        given = fhir_type(suffix)
        if not (is_a(given, expected) or is_a(expected, given)):
            raise Unapplicable(f"{element.key} has type {expected}, not {given}")


def build_value(
    part: Mapping[str, Any], element: Element, repeats: Repeats | None
) -> tuple[Any, Any]:
    """(JSON value, primitive extension object or None) of a value part for `element`."""
    entry = value_entry(part)
    if entry is not None:
        suffix, value = entry
        _check_type(element, value, suffix)
        return clone_json(value), clone_json(part.get(f"_value{suffix}"))
    if "resource" in part:
        _check_type(element, part["resource"], None)
        return clone_json(part["resource"]), None
    if element.type and _is_primitive(element.type):
        raise Unapplicable(f"{element.key} is a primitive ({element.type}), not given as parts")
    return _build_parts(part["part"], element.type, repeats), None


def _build_parts(parts: list[Any], kind: str | None, repeats: Repeats | None) -> dict[str, Any]:
    """The element of type `kind` that `parts` describe (for anonymous and complex types)."""
    grouped: dict[str, list[tuple[Any, Any, Element]]] = {}
    for sub in parts:
        entry = value_entry(sub)
        check_name(kind, sub["name"])
        child = element_of(kind, sub["name"], entry[0] if entry else None, None)
        grouped.setdefault(child.key, []).append((*build_value(sub, child, repeats), child))
    built: dict[str, Any] = {}
    for key, items in grouped.items():
        values, extensions = [v for v, _, _ in items], [x for _, x, _ in items]
        single = len(items) == 1 and not is_repeating(items[0][2], None, repeats)
        built[key] = values[0] if single else values
        if not is_empty(extensions):
            built[f"_{key}"] = extensions[0] if single else extensions
    return built


def suffix_of(part: Mapping[str, Any] | None) -> str | None:
    entry = value_entry(part) if part is not None else None
    return entry[0] if entry else None


def is_empty(value: Any) -> bool:
    """No content: None, empty, or a list of Nones (a parallel primitive-extension array)."""
    return not value or (isinstance(value, list) and all(item is None for item in value))
