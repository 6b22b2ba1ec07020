"""The compiled R4 structure model: loaded once per process from the generated JSON.

`definitions/r4-structure.json.gz` is written by `tools/build_r4_definitions.py`. Here it is
turned into linked `StructDef`/`ElementDef` objects so that validation is a plain dict walk:
every element already knows its JSON name, kind, cardinality, primitive checker, value set,
allowed reference targets and its post-check.
"""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Any

from samhandling.fhir.validation import checks
from samhandling.fhir.validation.primitives import Checker, make_checker

MODEL_FILE = "r4-structure.json.gz"

# ElementDef.kind
PRIMITIVE = 0
COMPLEX = 1
RESOURCE = 2
FORBIDDEN = 3  # max 0 (SimpleQuantity.comparator)
RESOURCE_TYPE_KEY = 4  # the `resourceType` property of a resource (not an element)


class ValueSet:
    """An expanded value set: codes per system, and all codes (for `code` elements)."""

    __slots__ = ("codes", "systems", "url")

    def __init__(self, url: str, systems: dict[str, list[str]]) -> None:
        self.url = url
        self.systems = {system: frozenset(codes) for system, codes in systems.items()}
        self.codes: frozenset[str] = frozenset().union(*self.systems.values())


class ElementDef:
    """One JSON property of a structure (a choice type has one ElementDef per type)."""

    __slots__ = (
        "attr",
        "check",
        "choice",
        "dotted",
        "kind",
        "many",
        "max",
        "min",
        "name",
        "plain",
        "post",
        "segment",
        "struct",
        "targets",
        "type",
        "valueset",
    )

    def __init__(self, name: str, spec: dict[str, Any], kind: int) -> None:
        self.name = name
        self.type: str = spec["t"]
        self.kind = FORBIDDEN if spec["max"] == 0 else kind
        self.min: int = spec["min"]
        self.max: int = spec["max"]
        self.many = self.max > 1 or self.max == -1
        self.choice: str | None = spec.get("choice")
        self.attr: bool = spec.get("attr", False)
        self.segment = name
        if self.choice is not None:
            of_type = self.type if kind == PRIMITIVE else name[len(self.choice) :]
            self.segment = f"{self.choice}.ofType({of_type})"
        self.dotted = "." + self.segment
        self.check: Checker | None = None
        self.struct: StructDef | None = None
        self.valueset: ValueSet | None = None
        self.targets: frozenset[str] | None = frozenset(spec["ref"]) if "ref" in spec else None
        self.post: checks.PostCheck | None = None
        self.plain = False  # single primitive, not a choice, no value set (set by Model)


class StructDef:
    """A resource, complex datatype or backbone element: its properties by JSON name."""

    __slots__ = ("elements", "name", "required_choices", "required_names")

    def __init__(self, name: str) -> None:
        self.name = name
        self.elements: dict[str, ElementDef] = {}
        self.required_names: tuple[str, ...] = ()
        self.required_choices: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def unknown_message(self, key: str) -> str:
        """Diagnostics for a property that is not an element here (e.g. a bad choice type)."""
        for stem in {e.choice for e in self.elements.values() if e.choice is not None}:
            suffix = key[len(stem) :]
            if key.startswith(stem) and suffix[:1].isupper():
                allowed = sorted(
                    n[len(stem) :] for n, e in self.elements.items() if e.choice == stem
                )
                return (
                    f"{key}: {suffix} is not an allowed type for {self.name}.{stem}[x] "
                    f"(allowed: {', '.join(allowed)})"
                )
        return f"unknown element {key!r} in {self.name}"

    def finish(self) -> None:
        """Precompute the required elements; a required choice is (label, variant names)."""
        required = [e for e in self.elements.values() if e.min > 0]
        self.required_names = tuple(e.name for e in required if e.choice is None)
        groups: dict[str, list[str]] = {}
        for element in required:
            if element.choice is not None:
                groups.setdefault(element.choice + "[x]", []).append(element.name)
        self.required_choices = tuple((label, tuple(names)) for label, names in groups.items())


class Model:
    """Everything validation needs, compiled from the generated definitions."""

    __slots__ = ("fhir_version", "resources", "skipped_valuesets", "structs", "valuesets")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.fhir_version: str = raw["fhirVersion"]
        self.valuesets = {url: ValueSet(url, s) for url, s in raw["valuesets"].items()}
        self.skipped_valuesets: dict[str, str] = raw["skippedValueSets"]
        self.structs = {name: StructDef(name) for name in raw["structs"]}
        checkers = {name: make_checker(name, spec) for name, spec in raw["primitives"].items()}
        for name, elements in raw["structs"].items():
            self._fill(self.structs[name], elements, checkers)
        self.resources = {name: self.structs[name] for name in raw["resources"]}
        marker = ElementDef("resourceType", {"t": "code", "min": 0, "max": 1}, RESOURCE_TYPE_KEY)
        for struct in self.resources.values():
            struct.elements["resourceType"] = marker

    def _fill(
        self, struct: StructDef, elements: dict[str, Any], checkers: dict[str, Checker]
    ) -> None:
        """Create the ElementDefs of one structure and link them to types and value sets."""
        for name, spec in elements.items():
            fhir_type = spec["t"]
            if fhir_type in checkers:
                element = ElementDef(name, spec, PRIMITIVE)
                element.check = checkers[fhir_type]
            elif fhir_type == "Resource":
                element = ElementDef(name, spec, RESOURCE)
            else:
                element = ElementDef(name, spec, COMPLEX)
                element.struct = self.structs[fhir_type]
            if "vs" in spec:
                element.valueset = self.valuesets[spec["vs"]]
            element.post = checks.post_check_for(element.type, element.valueset is not None)
            element.plain = (
                element.kind == PRIMITIVE
                and not element.many
                and element.choice is None
                and element.valueset is None
            )
            struct.elements[name] = element
        struct.finish()


@functools.cache
def load_model() -> Model:
    """The R4 model, read from the package data on first use."""
    data = resources.files("samhandling.fhir.definitions").joinpath(MODEL_FILE).read_bytes()
    return Model(json.loads(gzip.decompress(data)))
