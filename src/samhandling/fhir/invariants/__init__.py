"""The invariants of FHIR R4 evaluated with FHIRPath: `$validate`'s deeper check.

    from samhandling.fhir.invariants import invariant_issues
    issues = invariant_issues(resource)  # one issue per failing invariant, with its location

Every constraint the core StructureDefinitions declare (`dom-3`, `ref-1`, `pat-1`, `bdl-7`,
`cmp-2`, …) is evaluated on every element it applies to: those of the element's path and of
its type and the type's ancestors (`Age` → `Quantity`, `Patient` → `DomainResource` →
`Resource`), through nested resources (Bundle entries, contained). A failing invariant of
severity error is an error, of severity warning a warning (code `invariant`); its location
is the FHIRPath of the element (`Patient.contact[0]`). The invariants in
`catalogue.SKIPPED` are not evaluated, for the reason given there. Only for a resource that
is structurally valid (the structural validator first).
"""

from __future__ import annotations

from samhandling.fhir.invariants.catalogue import (
    SKIPPED,
    Invariant,
    Outcome,
    base_invariants,
    evaluate,
    invariant,
)
from samhandling.fhir.invariants.walk import invariant_issues, issue_for

__all__ = [
    "SKIPPED",
    "Invariant",
    "Outcome",
    "base_invariants",
    "evaluate",
    "invariant",
    "invariant_issues",
    "issue_for",
]
