"""Evaluating the bundled value sets: membership of a code, and expansion.

A value set's `compose` is read as FHIR R4 defines it (§4.9.5): a code is in the set when
some `include` takes it and no `exclude` does. An include (or exclude) takes a code when
its `system` matches and, if it lists `concept`s, the code is listed, and the code is in
every value set its `valueSet` names. Includes of a whole system take any code of it; the
code must then also be valid in that system (`codes.validate_code`), so a wholesale SNOMED
CT include accepts any well-formed concept id. `filter`s are not supported: a value set
that needs one cannot be evaluated and says so.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from samhandling.terminology.codes import check_display, display_matches, lookup, validate_code
from samhandling.terminology.content import (
    ConceptSet,
    ValueSetEntry,
    code_systems,
    label_of,
    value_sets,
)
from samhandling.terminology.model import CodeCheck, Concept

MAX_NESTING = 8


class ValueSetError(Exception):
    """A value set that cannot be evaluated or expanded; `code` is an IssueType code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def value_set(url: str) -> dict[str, Any] | None:
    """A copy of the bundled ValueSet resource with this url, or None."""
    entry = value_sets().get(url)
    return copy.deepcopy(entry.resource) if entry is not None else None


def validate_in_value_set(
    url: str, system: str, code: str, display: str | None = None
) -> CodeCheck:
    """Whether `code` of `system` (and `display`, when given) is in the value set `url`."""
    entry = value_sets().get(url)
    if entry is None:
        return CodeCheck(False, f"The value set {url!r} is not known to this server")
    try:
        listed = _member(entry, system, code, 0)
    except ValueSetError as exc:
        return CodeCheck(False, exc.message)
    check = validate_code(system, code, display) if system in code_systems() else None
    if listed is None:
        if check is not None and not check.valid and system in _whole_systems(entry):
            return check
        what = f"{label_of(system)} code {code!r}" if system else f"code {code!r}"
        return CodeCheck(False, f"{what} is not in the value set {entry.name} ({url})")
    if check is None:  # a system the server does not bundle: the set's own list is all it has
        return check_display(label_of(system), listed, display)
    if check.warning is None or display is None or listed.display is None:
        return check
    concept = lookup(system, code)  # the display the value set gives counts as well
    if concept is not None and display_matches([listed.display], display):
        return CodeCheck(True, None, concept.display)
    return check


def _whole_systems(entry: ValueSetEntry) -> set[str]:
    return {s.system for s in entry.includes if s.system and s.codes is None}


def _member(entry: ValueSetEntry, system: str, code: str, depth: int) -> Concept | None:
    """The concept as the value set lists it (display from the value set where it gives one),
    or None when the code is not in the set."""
    if depth > MAX_NESTING:
        raise ValueSetError("too-costly", f"The value set {entry.url} nests too deeply")
    for part in entry.excludes:
        if _takes(part, system, code, depth):
            return None
    for part in entry.includes:
        if _takes(part, system, code, depth):
            listed = part.codes.get(code) if part.codes is not None else None
            return Concept(system, code, listed)
    return None


def _takes(part: ConceptSet, system: str, code: str, depth: int) -> bool:
    if part.filters:
        raise ValueSetError("not-supported", f"Value set filters are not supported ({system})")
    if part.system is not None and (
        part.system != system or (part.codes is not None and code not in part.codes)
    ):
        return False
    for url in part.value_sets:
        if _member(_entry(url), system, code, depth + 1) is None:
            return False
    return part.system is not None or bool(part.value_sets)


def _entry(url: str) -> ValueSetEntry:
    entry = value_sets().get(url)
    if entry is None:
        raise ValueSetError("not-found", f"The value set {url!r} is not known to this server")
    return entry


@dataclass(frozen=True)
class Expansion:
    """The codes of a value set; `closed` is False when codes outside the list are valid
    too (an ATC or SNOMED CT include narrowed by a text filter to the bundled concepts)."""

    url: str
    concepts: list[Concept]
    closed: bool


def expand(url: str, text: str | None = None) -> Expansion:
    """The codes of the value set `url`, optionally only those whose code, display or
    designation contains `text` (ignoring case). Raises ValueSetError when the set is not
    known, cannot be enumerated (ATC or SNOMED CT wholesale without `text`), or uses filters.
    """
    entry = _entry(url)
    wanted = text.strip().casefold() if text and text.strip() else None
    concepts, closed = _enumerate(entry, wanted is not None, 0)
    if wanted is not None:
        concepts = [c for c in concepts if _matches(c, wanted)]
    return Expansion(url, concepts, closed)


def _enumerate(entry: ValueSetEntry, filtered: bool, depth: int) -> tuple[list[Concept], bool]:
    if depth > MAX_NESTING:
        raise ValueSetError("too-costly", f"The value set {entry.url} nests too deeply")
    found: dict[tuple[str, str], Concept] = {}
    closed = True
    for part in entry.includes:
        concepts, part_closed = _enumerate_part(part, filtered, depth)
        closed &= part_closed
        for concept in concepts:
            found.setdefault((concept.system, concept.code), concept)
    kept = [
        c
        for c in found.values()
        if not any(_takes(p, c.system, c.code, depth) for p in entry.excludes)
    ]
    return kept, closed


def _enumerate_part(part: ConceptSet, filtered: bool, depth: int) -> tuple[list[Concept], bool]:
    if part.filters:
        raise ValueSetError("not-supported", "Value set filters are not supported")
    if part.system is None:
        first, *others = part.value_sets
        concepts, closed = _enumerate(_entry(first), filtered, depth + 1)
        others_sets = [_entry(url) for url in others]
        return [c for c in concepts if _in_all(others_sets, c, depth)], closed
    concepts, closed = _system_concepts(part, filtered)
    sets = [_entry(url) for url in part.value_sets]
    return [c for c in concepts if _in_all(sets, c, depth)], closed


def _in_all(entries: Iterable[ValueSetEntry], concept: Concept, depth: int) -> bool:
    return all(_member(e, concept.system, concept.code, depth + 1) for e in entries)


def _system_concepts(part: ConceptSet, filtered: bool) -> tuple[list[Concept], bool]:
    assert part.system is not None
    system = code_systems().get(part.system)
    if part.codes is not None:
        return [_listed(part.system, code, display) for code, display in part.codes.items()], True
    if system is None:
        message = f"The code system {part.system!r} is not known, so it cannot be enumerated"
        raise ValueSetError("not-supported", message)
    if system.structure is not None and not filtered:
        message = (
            f"{system.label} is included as a whole and is too large to expand; "
            "give a filter to expand the bundled concepts that match it"
        )
        raise ValueSetError("too-costly", message)
    return list(system.concepts.values()), system.structure is None


def _listed(system: str, code: str, display: str | None) -> Concept:
    known = code_systems().get(system)
    concept = known.concepts.get(code) if known is not None else None
    if concept is None:
        return Concept(system, code, display)
    return concept if display is None else Concept(system, code, display, concept.version)


def _matches(concept: Concept, wanted: str) -> bool:
    if wanted in concept.code.casefold():
        return True
    return any(wanted in text.casefold() for text in concept.texts())


__all__ = [
    "Expansion",
    "ValueSetError",
    "expand",
    "validate_in_value_set",
    "value_set",
]
