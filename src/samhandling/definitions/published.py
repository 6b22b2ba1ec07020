"""The definitions the platform ships, published as read-only FHIR resources.

The StructureDefinitions of the platform's profiles (`profiles/definitions/`), the
CodeSystems and ValueSets of the terminology module and the OperationDefinitions of the
extended operations (`operation_definitions.py`): `meta.profile` of every
critical-information entry and the CapabilityStatement's `supportedProfile` point at
their canonical urls, so a client must be able to fetch them
(`GET StructureDefinition/kj-allergy-intolerance`, `ValueSet?url=…`). They are written into
the store when the server starts — under the ids they ship with, a new version only when
the shipped content changed — and are read-only through the API (a write rule,
`services/definitions/read_only.py`): the server checks codes and profiles against the
package data, so an edited copy would lie.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import orjson
from sqlalchemy import Engine

from samhandling.definitions.operation_definitions import operation_definitions
from samhandling.store.database import lock_key, write_connection
from samhandling.store.reader import read_many_current
from samhandling.store.version_writer import VersionWriter

Key = tuple[str, str]  # (resource type, id)
SHIPPED_TYPES = frozenset({"StructureDefinition", "CodeSystem", "ValueSet", "OperationDefinition"})
_FOLDERS = (
    ("samhandling.profiles", "definitions"),
    ("samhandling.terminology", "code_systems"),
    ("samhandling.terminology", "value_sets"),
)


@functools.cache
def shipped() -> dict[Key, dict[str, Any]]:
    """Every shipped definition by (type, id) (loaded once; callers must not change them)."""
    found: dict[Key, dict[str, Any]] = {}
    for package, folder in _FOLDERS:
        directory = resources.files(package).joinpath(folder)
        for item in sorted(directory.iterdir(), key=lambda entry: entry.name):
            if item.name.endswith(".json"):
                definition = orjson.loads(item.read_bytes())
                key = (definition["resourceType"], definition["id"])
                if key in found:
                    raise ValueError(f"two shipped definitions are {key[0]}/{key[1]}")
                found[key] = definition
    for definition in operation_definitions():
        found[(definition["resourceType"], definition["id"])] = definition
    return found


@functools.cache
def shipped_urls() -> frozenset[tuple[str, str]]:
    """(type, canonical url) of every shipped definition."""
    return frozenset((rtype, d["url"]) for (rtype, _), d in shipped().items())


def publish(engine: Engine) -> int:
    """Store the shipped definitions whose stored copy is missing, deleted or different;
    returns how many were written. Servers starting together take turns (a lock)."""
    written = 0
    with write_connection(engine) as connection:
        lock_key(connection, "publish-definitions")
        stored = read_many_current(connection, list(shipped()))
        writer = VersionWriter(connection)
        for key, definition in shipped().items():
            current = stored.get(key)
            if current is not None and _same(current.resource(), definition):
                continue
            previous = writer.current(*key)
            method = "update" if previous is not None else "create"
            writer.write(*key, copy.deepcopy(definition), method=method, previous=previous)
            written += 1
    return written


def _same(stored: dict[str, Any], definition: dict[str, Any]) -> bool:
    """Equal but for what the store adds (`meta.versionId`, `meta.lastUpdated`)."""
    meta = {k: v for k, v in stored.pop("meta", {}).items() if k not in _STORE_META}
    if meta:
        stored["meta"] = meta
    return stored == definition


_STORE_META = frozenset({"versionId", "lastUpdated"})
