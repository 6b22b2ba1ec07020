"""Walking a resource and evaluating the R4 invariants of every element on its way.

The element types come from the structural model (`fhir/validation/model.py`); the
invariants of a node are those declared on its element path and on its type and the
type's ancestors (fhirpathpy's R4 `type2Parent`; backbone elements are `BackboneElement`s).
Locations are written as the structural validator writes them (`Bundle.entry[0].resource
.ofType(Patient).contact[0]`, `Observation.value.ofType(Quantity)`).
"""

from __future__ import annotations

import functools
from typing import Any

from samhandling.fhir.invariants.catalogue import Invariant, base_invariants, evaluate
from samhandling.fhir.outcome import Issue
from samhandling.fhir.r4_model import PARENTS
from samhandling.fhir.validation.model import COMPLEX, PRIMITIVE, RESOURCE, StructDef, load_model


def invariant_issues(resource: dict[str, Any]) -> list[Issue]:
    """One issue per failing R4 invariant anywhere in `resource` (structurally valid)."""
    issues: list[Issue] = []
    _resource(resource, str(resource.get("resourceType")), resource, issues)
    return issues


def issue_for(invariant: Invariant, where: str, problem: str | None = None) -> Issue:
    """The OperationOutcome issue of a failing invariant (or one that could not run)."""
    if problem is not None:
        message = f"{invariant.key} could not be evaluated ({problem}): {invariant.expression}"
        return Issue("warning", "not-supported", message, (where,))
    severity = "error" if invariant.severity == "error" else "warning"
    return Issue(severity, "invariant", f"{invariant.key}: {invariant.human}", (where,))


def _resource(value: dict[str, Any], where: str, root: dict[str, Any], out: list[Issue]) -> None:
    rtype = value.get("resourceType")
    struct = load_model().resources.get(rtype) if isinstance(rtype, str) else None
    if struct is not None:
        _node(value, struct, where, (value, root), out)


def _node(
    value: dict[str, Any],
    struct: StructDef,
    where: str,
    scope: tuple[dict[str, Any], dict[str, Any]],
    out: list[Issue],
) -> None:
    _check(value, struct.name, type_invariants(struct.name), where, scope, out)
    for key, item in value.items():
        element = struct.elements.get(key)
        if element is None or element.kind not in (PRIMITIVE, COMPLEX, RESOURCE):
            continue
        declared = (
            f"{struct.name}.{element.choice}[x]" if element.choice else f"{struct.name}.{key}"
        )
        own = base_invariants().get(declared, ()) if declared not in load_model().structs else ()
        items = item if isinstance(item, list) else [item]
        for index, child in enumerate(items):
            at = f"{where}{element.dotted}[{index}]" if element.many else f"{where}{element.dotted}"
            if own:
                _check(child, declared, own, at, scope, out)
            if element.kind == COMPLEX and isinstance(child, dict) and element.struct:
                _node(child, element.struct, at, scope, out)
            elif element.kind == RESOURCE and isinstance(child, dict):
                contained = key == "contained"
                nested = f"{at}.ofType({child.get('resourceType')})"
                _resource(child, nested, scope[1] if contained else child, out)


def _check(
    value: Any,
    type_path: str,
    invariants: tuple[Invariant, ...],
    where: str,
    scope: tuple[dict[str, Any], dict[str, Any]],
    out: list[Issue],
) -> None:
    for invariant in invariants:
        outcome = evaluate(invariant, value, type_path, scope[0], scope[1])
        if not outcome.held or outcome.problem is not None:
            out.append(issue_for(invariant, where, outcome.problem))


@functools.cache
def type_invariants(name: str) -> tuple[Invariant, ...]:
    """The invariants of a type and its ancestors (a backbone element path: its own and
    BackboneElement's)."""
    found: list[Invariant] = []
    current: str | None = name
    while current:
        found += base_invariants().get(current, ())
        current = PARENTS.get(current) or ("BackboneElement" if "." in current else None)
    return tuple(found)
