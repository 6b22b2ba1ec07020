"""The StructureDefinitions the platform ships, by canonical URL.

Profiles and extension definitions live as JSON files in `definitions/` (package data).
Only their `differential` is used: each element becomes an `ElementRule` the conformance
checker applies (see `conformance.py` for what is supported).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

from samhandling.fhir.invariants import SKIPPED, Invariant, invariant

PROFILE_BASE = "https://samhandling.no/fhir/StructureDefinition/"


@dataclass(frozen=True)
class ElementRule:
    """One differential element: where it applies and what it demands."""

    id: str
    path: str
    min: int | None
    max: str | None
    types: tuple[str, ...]
    type_profiles: tuple[str, ...]
    pattern: tuple[str, Any] | None  # (FHIR type of pattern[x]/fixed[x], value)
    fixed: bool
    value_set: str | None  # required binding only
    short: str | None
    #: the discriminators of a slicing defined on this element: (type, path)
    slicing: tuple[tuple[str, str], ...] = ()
    #: the profiles a Reference here must point at (`type.targetProfile`)
    target_profiles: tuple[str, ...] = ()
    #: the profile's own invariants on this element (ips-pat-1, bdl-ips-1, …)
    constraints: tuple[Invariant, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A shipped StructureDefinition: its URL, the type it constrains and its rules."""

    url: str
    name: str
    type: str
    kind: str
    rules: tuple[ElementRule, ...]
    definition: dict[str, Any]


def _element_rule(element: dict[str, Any]) -> ElementRule:
    pattern: tuple[str, Any] | None = None
    fixed = False
    for key, value in element.items():
        if key.startswith(("pattern", "fixed")) and key[0] in "pf":
            prefix = "pattern" if key.startswith("pattern") else "fixed"
            pattern, fixed = (key.removeprefix(prefix), value), prefix == "fixed"
    binding = element.get("binding") or {}
    types = element.get("type") or []
    return ElementRule(
        id=element.get("id") or element["path"],
        path=element["path"],
        min=element.get("min"),
        max=element.get("max"),
        types=tuple(t["code"] for t in types),
        type_profiles=tuple(p for t in types for p in t.get("profile", [])),
        pattern=pattern,
        fixed=fixed,
        value_set=binding.get("valueSet") if binding.get("strength") == "required" else None,
        short=element.get("short"),
        slicing=tuple(
            (str(d.get("type")), str(d.get("path")))
            for d in (element.get("slicing") or {}).get("discriminator") or []
        ),
        target_profiles=tuple(p for t in types for p in t.get("targetProfile", [])),
        constraints=tuple(
            invariant(c["key"], c["severity"], c.get("human", ""), c["expression"])
            for c in element.get("constraint") or []
            if c.get("expression") and c["key"] not in SKIPPED
        ),
    )


def _profile(definition: dict[str, Any]) -> Profile:
    elements = (definition.get("differential") or {}).get("element", [])
    return Profile(
        url=definition["url"],
        name=definition["name"],
        type=definition["type"],
        kind=definition.get("kind", "resource"),
        rules=tuple(_element_rule(e) for e in elements),
        definition=definition,
    )


#: the folders of shipped definitions: the platform's own, and the IPS 1.1.0 profiles the
#: patient summary claims (differentials of the official package, `tools/build_ips_profiles.py`)
FOLDERS = ("definitions", "definitions/ips")


@functools.cache
def shipped_profiles() -> dict[str, Profile]:
    """Every shipped StructureDefinition by its canonical URL (loaded once)."""
    found: dict[str, Profile] = {}
    for name in FOLDERS:
        folder = resources.files("samhandling.profiles").joinpath(name)
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                profile = _profile(orjson.loads(entry.read_bytes()))
                found[profile.url] = profile
    return found


def shipped_profile(url: str) -> Profile | None:
    """The shipped profile with this canonical URL (a `|version` suffix is ignored)."""
    return shipped_profiles().get(url.partition("|")[0])
