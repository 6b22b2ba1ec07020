"""The FHIR R4 type model used by index extraction: element types, choices, subtypes.

Built on fhirpathpy's bundled R4 model (``fhir/r4_model.py``), the same model its FHIRPath
engine uses.

A *type* here is a FHIR type name (``Quantity``, ``dateTime``, ``Observation``) or, for a
backbone element, its element path (``Observation.component``); ``None`` means unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from samhandling.fhir.r4_model import (
    CHOICES,
    ELEMENT_OWNERS,
    ELSEWHERE,
    PARENTS,
    PATH2TYPE,
    PRIMITIVE_TYPES,
    is_a,
)

__all__ = [
    "PRIMITIVE_TYPES",
    "ChildInfo",
    "child_info",
    "is_resource_type",
    "is_subtype",
    "normalize_type_name",
]

_PRIMITIVE_BY_LOWER = {name.lower(): name for name in PRIMITIVE_TYPES}
_BACKBONES = frozenset(
    prefix for prefix in ELEMENT_OWNERS if "." in prefix and prefix not in PATH2TYPE
)


@dataclass(frozen=True, slots=True)
class ChildInfo:
    """What a member ``name`` of a parent type is: one static type or a choice of types."""

    name: str
    type: str | None  # static type (None: a choice, or not in the model)
    choices: tuple[tuple[str, str], ...] = ()  # (JSON key, type) of a choice element [x]


def normalize_type_name(name: str) -> str:
    """Canonical spelling: ``System.String``/``String`` -> ``string``, ``DateTime`` ->
    ``dateTime``, ``FHIR.Quantity`` -> ``Quantity``; complex types are kept as written."""
    if name.startswith(("System.", "FHIR.")):
        name = name.split(".", 1)[1]
    return _PRIMITIVE_BY_LOWER.get(name.lower(), name)


def is_resource_type(name: str | None) -> bool:
    """True for a concrete or abstract resource type name (Patient, DomainResource, ...)."""
    return is_a(name, "Resource")


@lru_cache(maxsize=4096)
def is_subtype(type_name: str | None, target: str) -> bool:
    """True when ``type_name`` is ``target`` or derives from it (Age is a Quantity)."""
    return is_a(type_name, target)


@cache
def child_info(parent: str, name: str) -> ChildInfo:
    """The member ``name`` of ``parent`` (a type name or a backbone element path)."""
    key = f"{parent}.{name}"
    if key in ELSEWHERE:
        return ChildInfo(name, ELSEWHERE[key])
    if key in CHOICES:
        choices = tuple(
            (name + choice[0].upper() + choice[1:], normalize_type_name(choice))
            for choice in CHOICES[key]
        )
        return ChildInfo(name, None, choices)
    found = PATH2TYPE.get(key)
    if found in ("BackboneElement", "Element"):
        return ChildInfo(name, key)
    if found:
        return ChildInfo(name, normalize_type_name(found))
    if key in _BACKBONES:
        return ChildInfo(name, key)
    if parent in PARENTS:
        inherited = child_info(PARENTS[parent], name)
        if inherited.type is not None or inherited.choices:
            return inherited
    return ChildInfo(name, None)


RESOURCE_TYPES = frozenset(
    name
    for name in PARENTS
    if is_resource_type(name) and name not in ("Resource", "DomainResource", "MetadataResource")
)
