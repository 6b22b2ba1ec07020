"""Which codes a code subsumes, and which subsume it, in the bundled code systems.

Used by the token search modifiers `:below` and `:above` (FHIR R4 §3.1.1.5.5). What the
platform knows of each system's hierarchy (docs/TERMINOLOGY.md, "Subsumption"):

- ATC: the hierarchy is in the code itself (`J01CA04` is under `J01CA`, `J01C`, `J01`, `J`),
  so it is known for every well-formed code, bundled or not; `:below` is a prefix match.
- Other bundled systems with a `parent` property or nested concepts (e.g. HL7 purpose of
  use: ETREAT is under TREAT): the closure of the bundled parents.
- Bundled systems without any hierarchy that are `complete`: each code subsumes only itself.
- SNOMED CT and the other fragments: the hierarchy is not bundled; asking is an error.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from samhandling.terminology.content import ATC_SYSTEM, CodeSystemEntry, code_systems, label_of
from samhandling.terminology.structure import atc_parent, atc_problem

MAX_DEPTH = 32  # a deeper chain of parents is a cycle in the bundled data


class SubsumptionError(Exception):
    """Subsumption that the bundled terminology cannot answer; the message says why."""


@dataclass(frozen=True)
class Subsumed:
    """The codes subsumed by (or subsuming) a code: listed, or every code with `prefix`."""

    codes: frozenset[str] = frozenset()
    prefix: str | None = None


def below(system: str, code: str) -> Subsumed:
    """`code` and every code under it in `system`."""
    if system == ATC_SYSTEM:
        _check_atc(code)
        return Subsumed(prefix=code)
    _hierarchical(system, code)
    return Subsumed(frozenset({code, *_children(system).get(code, frozenset())}))


def above(system: str, code: str) -> Subsumed:
    """`code` and every code above it in `system`."""
    if system == ATC_SYSTEM:
        _check_atc(code)
        found = [code]
        while (parent := atc_parent(found[-1])) is not None:
            found.append(parent)
        return Subsumed(frozenset(found))
    entry = _hierarchical(system, code)
    return Subsumed(frozenset(_ancestors(entry, code)))


def _check_atc(code: str) -> None:
    problem = atc_problem(code)
    if problem is not None:
        raise SubsumptionError(problem)


def _hierarchical(system: str, code: str) -> CodeSystemEntry:
    entry = code_systems().get(system)
    if entry is None:
        raise SubsumptionError(f"The code system {system!r} is not known to this server")
    if not _children(system) and entry.content != "complete":
        raise SubsumptionError(
            f"The hierarchy of {label_of(system)} is not bundled with this server"
        )
    if code not in entry.concepts:
        raise SubsumptionError(f"{label_of(system)} has no code {code!r}")
    return entry


def _ancestors(entry: CodeSystemEntry, code: str) -> list[str]:
    found, frontier = [code], [code]
    for _ in range(MAX_DEPTH):
        concepts = [entry.concepts.get(c) for c in frontier]
        frontier = [p for c in concepts if c is not None for p in c.parents if p not in found]
        if not frontier:
            return found
        found.extend(dict.fromkeys(frontier))
    raise SubsumptionError(f"The hierarchy of {label_of(entry.url)} has a cycle at {code!r}")


@functools.cache
def _children(system: str) -> dict[str, frozenset[str]]:
    """Every code of `system` with all the codes under it (empty: no hierarchy bundled)."""
    entry = code_systems()[system]
    direct: dict[str, set[str]] = {}
    for concept in entry.concepts.values():
        for parent in concept.parents:
            direct.setdefault(parent, set()).add(concept.code)
    closure: dict[str, frozenset[str]] = {}
    for code in direct:
        seen: set[str] = set()
        frontier = set(direct[code])
        for _ in range(MAX_DEPTH):
            frontier -= seen
            if not frontier:
                break
            seen |= frontier
            frontier = {c for f in frontier for c in direct.get(f, ())}
        closure[code] = frozenset(seen)
    return closure
