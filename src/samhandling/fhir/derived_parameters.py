"""Search parameters answered from other parameters' index rows, recognised by expression.

Two shapes, found per resource type from the parameters' FHIRPath expressions (the part of
a multi-base expression rooted at that type), never from a list of codes:

* **Union**: the parameter's expression is exactly the union of other parameters'
  expressions of the same search type — Observation ``combo-code`` is
  ``Observation.code | Observation.component.code`` = ``code`` ∪ ``component-code``. Its
  rows would be theirs with another ``param``: it is answered from
  ``param IN (code, component-code)``. Tokens must read bare codes in the same code system;
  composites must have the same components (type, expression, code system) in order.
* **Restriction**: the parameter's expression is another reference parameter's expression
  followed by ``.where(resolve() is T)`` — Observation ``patient`` is
  ``Observation.subject.where(resolve() is Patient)``. Its reference rows are the other's
  rows with ``target_type = T``. Its ``:identifier`` rows (``Reference.identifier``) are
  still written: a token row does not say which reference it came from.

A parameter whose rows are derived is a *source* of none: every source is written. Custom
SearchParameters take part like any other: redefining ``patient`` as ``Observation.subject``
makes it a written parameter again, redefining ``subject`` ends ``patient``'s derivation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from samhandling.fhir.indexing.fhirpath import split_union

if TYPE_CHECKING:
    from samhandling.fhir.search_parameters import SearchParameter

__all__ = ["Derivation", "derivations", "row_answers"]

_ROOT = re.compile(r"^\(*([A-Za-z_]\w*)")
_RESTRICTION = re.compile(r"^(.+)\.where\(\s*resolve\(\)\s+is\s+([A-Z]\w*)\s*\)$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Derivation:
    """Where a parameter's rows are found: the rows of ``sources`` (codes), of those only
    the references to ``target_type`` when it is set."""

    sources: tuple[str, ...]
    target_type: str | None = None

    def params(self, suffix: str = "") -> tuple[str, ...]:
        """The stored ``param`` values answering ``<code><suffix>`` (``:of-type``, …)."""
        return tuple(source + suffix for source in self.sources)

    def covers(self, suffix: str) -> bool:
        """Whether rows of ``<code><suffix>`` are derived (a restriction's ``:identifier``
        rows are not)."""
        return self.target_type is None or not suffix


def row_answers(
    code: str, derivation: Derivation | None, param: str, target_type: str | None = None
) -> bool:
    """Whether an extracted row (its ``param``, and ``target_type`` for references) is a
    row of parameter ``code``, whose derivation (or None) is given."""
    if derivation is None:
        return param == code
    if param not in derivation.sources:
        return False
    return derivation.target_type is None or target_type == derivation.target_type


def derivations(
    parameters: Mapping[str, SearchParameter],
    resource_type: str,
    by_url: Callable[[str], SearchParameter | None],
) -> dict[str, Derivation]:
    """Code -> Derivation for the parameters of ``resource_type`` whose rows are derived."""
    parts = {code: _own_parts(p, resource_type) for code, p in parameters.items()}
    usable = {code: found for code, found in parts.items() if found}
    found: dict[str, Derivation] = {}
    for code, own in usable.items():
        restriction = _restriction(parameters, usable, code, own)
        if restriction is not None:
            found[code] = restriction
    # fewest parts first: a union's sources are never derived themselves
    for code, own in sorted(usable.items(), key=lambda item: len(item[1])):
        if len(own) < 2 or code in found:
            continue
        union = _union(parameters, usable, found, code, resource_type, by_url)
        if union is not None:
            found[code] = union
    return found


def _own_parts(parameter: SearchParameter, resource_type: str) -> frozenset[str] | None:
    """The union parts of the expression rooted at ``resource_type``; None when a part is
    rooted elsewhere in a way not understood (``Resource``, a bare path)."""
    if not parameter.expression or parameter.type == "special":
        return None
    own = set()
    for part in split_union(parameter.expression):
        root = _ROOT.match(part)
        if root is None or not root[1][0].isupper() or root[1] in ("Resource", "DomainResource"):
            return None
        if root[1] == resource_type:
            own.add(_SPACE.sub(" ", part))
    return frozenset(own) or None


def _restriction(
    parameters: Mapping[str, SearchParameter],
    usable: Mapping[str, frozenset[str]],
    code: str,
    own: frozenset[str],
) -> Derivation | None:
    if parameters[code].type != "reference" or len(own) != 1:
        return None
    match = _RESTRICTION.match(next(iter(own)))
    if match is None:
        return None
    base = frozenset({match[1]})
    for other, parts in usable.items():
        if other != code and parts == base and parameters[other].type == "reference":
            return Derivation((other,), match[2])
    return None


def _union(
    parameters: Mapping[str, SearchParameter],
    usable: Mapping[str, frozenset[str]],
    found: Mapping[str, Derivation],
    code: str,
    resource_type: str,
    by_url: Callable[[str], SearchParameter | None],
) -> Derivation | None:
    parameter, own = parameters[code], usable[code]
    sources = [
        other
        for other, parts in usable.items()
        if other != code
        and other not in found
        and parts < own
        and _same_kind(parameter, parameters[other], resource_type, by_url)
    ]
    covered = frozenset().union(*(usable[s] for s in sources))
    if covered != own:
        return None
    return Derivation(tuple(sorted(sources)))


def _same_kind(
    one: SearchParameter,
    other: SearchParameter,
    resource_type: str,
    by_url: Callable[[str], SearchParameter | None],
) -> bool:
    """Whether equal expressions give equal rows (but for ``param``) under both."""
    if one.type != other.type:
        return False
    if one.code_system_for(resource_type) != other.code_system_for(resource_type):
        return False
    if one.type != "composite":
        return True
    if len(one.components) != len(other.components):
        return False
    for (url_a, expr_a), (url_b, expr_b) in zip(one.components, other.components, strict=True):
        a, b = by_url(url_a), by_url(url_b)
        if a is None or b is None or _SPACE.sub(" ", expr_a) != _SPACE.sub(" ", expr_b):
            return False
        if a.type != b.type or a.code_system_for(resource_type) != b.code_system_for(resource_type):
            return False
    return True
