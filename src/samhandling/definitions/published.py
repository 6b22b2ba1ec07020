"""The definitions the platform ships, published as read-only FHIR resources.

The StructureDefinitions, CodeSystems, ValueSets and SearchParameters in the folders the
services declare (`services.service.Service.definitions`) and the OperationDefinitions of
their extended operations (`operation_definitions.py`): `meta.profile` of every
critical-information entry and the CapabilityStatement's `supportedProfile` point at
their canonical urls, so a client must be able to fetch them
(`GET StructureDefinition/kj-allergy-intolerance`, `ValueSet?url=…`). They are written into
the store when the server starts (`interactions/published_definitions.py`) — under the ids
they ship with, a new version only when the shipped content changed — and are read-only
through the API (a write rule, `services/definitions/read_only.py`): the server checks codes
and profiles against the package data, so an edited copy would lie.

This module only reads the package data: it knows no store (an import contract holds it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

import orjson

Key = tuple[str, str]  # (resource type, id)
SHIPPED_TYPES = frozenset(
    {"StructureDefinition", "CodeSystem", "ValueSet", "OperationDefinition", "SearchParameter"}
)
Shipped = Mapping[Key, dict[str, Any]]


def shipped_definitions(
    folders: Iterable[tuple[str, str]], generated: Iterable[dict[str, Any]] = ()
) -> dict[Key, dict[str, Any]]:
    """The definitions in `folders` (package, folder of JSON files) and the `generated` ones
    (the OperationDefinitions), by (type, id); two with one key are a ValueError."""
    found: dict[Key, dict[str, Any]] = {}
    for package, folder in folders:
        for definition in _folder(package, folder):
            _add(found, definition)
    for definition in generated:
        _add(found, definition)
    return found


def _add(found: dict[Key, dict[str, Any]], definition: dict[str, Any]) -> None:
    key = (definition["resourceType"], definition["id"])
    if key in found:
        raise ValueError(f"two shipped definitions are {key[0]}/{key[1]}")
    found[key] = definition


@functools.cache
def _folder(package: str, folder: str) -> tuple[dict[str, Any], ...]:
    directory = resources.files(package).joinpath(folder)
    items = sorted(directory.iterdir(), key=lambda entry: entry.name)
    return tuple(orjson.loads(i.read_bytes()) for i in items if i.name.endswith(".json"))


def shipped_urls(shipped: Shipped) -> frozenset[tuple[str, str]]:
    """(type, canonical url) of every shipped definition."""
    return frozenset((rtype, d["url"]) for (rtype, _), d in shipped.items())
