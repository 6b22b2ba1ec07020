"""The bundled terminology content: CodeSystems and ValueSets shipped as package data.

Everything is read once, on first use, from `code_systems/*.json` and `value_sets/*.json`
beside this module (through `importlib.resources`, so it works from a wheel too) and kept
in dictionaries: after that a look-up is a dictionary access.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

from samhandling.terminology.model import Concept, Designation, Property
from samhandling.terminology.structure import atc_problem, nlk_problem, snomed_problem

ATC_SYSTEM = "http://www.whocc.no/atc"
SNOMED_SYSTEM = "http://snomed.info/sct"
NLK_SYSTEM = "http://ehelse.no/fhir/CodeSystem/no-kodeverk-7280-nlk"
VOLVEN_PREFIX = "urn:oid:2.16.578.1.12.4.1.1."
VALUE_SET_BASE = "https://samhandling.no/fhir/ValueSet/"

StructureRule = Callable[[str], "str | None"]

#: Systems far larger than what is bundled: a well-formed code outside the bundle is accepted.
STRUCTURE_RULES: dict[str, StructureRule] = {
    ATC_SYSTEM: atc_problem,
    SNOMED_SYSTEM: snomed_problem,
    NLK_SYSTEM: nlk_problem,
}
LABELS = {ATC_SYSTEM: "ATC", SNOMED_SYSTEM: "SNOMED CT", NLK_SYSTEM: "NLK"}


def volven_system(number: int | str) -> str:
    """The system URI of a Volven code system: 7497 → `urn:oid:2.16.578.1.12.4.1.1.7497`."""
    return f"{VOLVEN_PREFIX}{int(number)}"


@dataclass(frozen=True)
class CodeSystemEntry:
    """A bundled code system, ready for look-ups."""

    url: str
    version: str | None
    name: str
    label: str  # how messages name it: "ATC", "SNOMED CT", "7497", or the title
    content: str  # complete | fragment | ...
    concepts: Mapping[str, Concept]
    structure: StructureRule | None
    resource: dict[str, Any]


@dataclass(frozen=True)
class ConceptSet:
    """One include or exclude of a ValueSet's compose, prepared for evaluation."""

    system: str | None
    codes: Mapping[str, str | None] | None  # code → display, when concepts are listed
    value_sets: tuple[str, ...]
    filters: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ValueSetEntry:
    """A bundled value set, ready for evaluation."""

    url: str
    name: str
    includes: tuple[ConceptSet, ...]
    excludes: tuple[ConceptSet, ...]
    resource: dict[str, Any]


def _json_files(folder: str) -> Iterator[dict[str, Any]]:
    directory = resources.files("samhandling.terminology").joinpath(folder)
    for item in sorted(directory.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".json"):
            yield orjson.loads(item.read_bytes())


@functools.cache
def code_systems() -> dict[str, CodeSystemEntry]:
    """Every bundled code system by url (loaded on first use)."""
    found: dict[str, CodeSystemEntry] = {}
    for resource in _json_files("code_systems"):
        entry = _code_system_entry(resource)
        if entry.url in found:
            raise ValueError(f"two bundled code systems have the url {entry.url}")
        found[entry.url] = entry
    return found


@functools.cache
def value_sets() -> dict[str, ValueSetEntry]:
    """Every bundled value set by url (loaded on first use)."""
    found: dict[str, ValueSetEntry] = {}
    for resource in _json_files("value_sets"):
        entry = value_set_entry(resource)
        if entry.url in found:
            raise ValueError(f"two bundled value sets have the url {entry.url}")
        found[entry.url] = entry
    return found


def value_set_entry(resource: dict[str, Any]) -> ValueSetEntry:
    """A ValueSet resource (FHIR JSON with `compose`) prepared for evaluation."""
    compose = resource.get("compose") or {}
    return ValueSetEntry(
        url=resource["url"],
        name=resource.get("name") or resource["url"],
        includes=tuple(_concept_set(part) for part in compose.get("include", [])),
        excludes=tuple(_concept_set(part) for part in compose.get("exclude", [])),
        resource=resource,
    )


def label_of(url: str, resource: dict[str, Any] | None = None) -> str:
    """How messages name a code system."""
    if url in LABELS:
        return LABELS[url]
    if url.startswith(VOLVEN_PREFIX):
        return url.removeprefix(VOLVEN_PREFIX)
    return str((resource or {}).get("title") or (resource or {}).get("name") or url)


def _code_system_entry(resource: dict[str, Any]) -> CodeSystemEntry:
    url, version = resource["url"], resource.get("version")
    concepts: dict[str, Concept] = {}
    for concept, nested_in in _flatten(resource.get("concept", []), None):
        item = _concept(url, version, concept, nested_in)
        concepts[item.code] = item
    return CodeSystemEntry(
        url=url,
        version=version,
        name=resource.get("name") or url,
        label=label_of(url, resource),
        content=resource.get("content", "complete"),
        concepts=concepts,
        structure=STRUCTURE_RULES.get(url),
        resource=resource,
    )


def _flatten(
    concepts: list[dict[str, Any]], parent: str | None
) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Nested concepts in document order, each with the code it is nested in."""
    for concept in concepts:
        yield concept, parent
        yield from _flatten(concept.get("concept", []), concept["code"])


def _concept(
    url: str, version: str | None, concept: dict[str, Any], nested_in: str | None
) -> Concept:
    properties = [_property(p) for p in concept.get("property", [])]
    if nested_in is not None and not any(p.code == "parent" for p in properties):
        properties.insert(0, Property("parent", "Code", nested_in))
    designations = tuple(
        Designation(d["value"], d.get("language"), d.get("use"))
        for d in concept.get("designation", [])
    )
    return Concept(
        system=url,
        code=concept["code"],
        display=concept.get("display"),
        version=version,
        definition=concept.get("definition"),
        designations=designations,
        properties=tuple(properties),
    )


def _property(item: dict[str, Any]) -> Property:
    for key, value in item.items():
        if key.startswith("value"):
            return Property(item["code"], key.removeprefix("value"), value)
    raise ValueError(f"concept property {item.get('code')} has no value")


def _concept_set(part: dict[str, Any]) -> ConceptSet:
    concepts = part.get("concept")
    return ConceptSet(
        system=part.get("system"),
        codes={c["code"]: c.get("display") for c in concepts} if concepts else None,
        value_sets=tuple(part.get("valueSet", [])),
        filters=tuple(part.get("filter", [])),
    )
