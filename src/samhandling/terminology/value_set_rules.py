"""A bundled value set as rules over (system, code) pairs, for searching stored codes.

The token search modifiers `:in` and `:not-in` (FHIR R4 §3.1.1.5.5) test stored codings
against a value set. Enumerating a set is not always possible (an include of all of SNOMED
CT), but its `compose` (R4 §4.9.5) reads directly as a condition: a coding is in the set
when some include takes it and no exclude does; an include takes the codings of its system
(only the listed codes, when it lists concepts) that are also in every value set it names.
A stored coding is matched by system and code only: whether a code that is not bundled is
valid in its system is the write path's question, not the search's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from samhandling.terminology.content import ConceptSet, ValueSetEntry, value_sets
from samhandling.terminology.value_sets import MAX_NESTING, ValueSetError


@dataclass(frozen=True)
class CodeRule:
    """The codings one include or exclude takes: of `system` (any, when None), only the
    listed `codes` (when not None), and only those in every set of `within`."""

    system: str | None
    codes: frozenset[str] | None
    within: tuple[Membership, ...]


@dataclass(frozen=True)
class Membership:
    """A value set as rules: in it when some include takes a coding and no exclude does."""

    url: str
    includes: tuple[CodeRule, ...]
    excludes: tuple[CodeRule, ...]


def membership(url: str) -> Membership:
    """The rules of the bundled value set `url`; ValueSetError when it is not known or
    uses filters (which are not supported)."""
    return _membership(url, 0)


@functools.lru_cache(maxsize=256)
def _membership(url: str, depth: int) -> Membership:
    if depth > MAX_NESTING:
        raise ValueSetError("too-costly", f"The value set {url} nests too deeply")
    entry = _entry(url)
    return Membership(
        url=url,
        includes=tuple(_rule(entry, part, depth) for part in entry.includes),
        excludes=tuple(_rule(entry, part, depth) for part in entry.excludes),
    )


def _rule(entry: ValueSetEntry, part: ConceptSet, depth: int) -> CodeRule:
    if part.filters:
        message = f"The value set {entry.url} uses filters, which are not supported"
        raise ValueSetError("not-supported", message)
    codes = frozenset(part.codes) if part.codes is not None else None
    within = tuple(_membership(url, depth + 1) for url in part.value_sets)
    return CodeRule(part.system, codes, within)


def _entry(url: str) -> ValueSetEntry:
    entry = value_sets().get(url)
    if entry is None:
        raise ValueSetError("not-found", f"The value set {url!r} is not known to this server")
    return entry
