"""The invariants (FHIRPath constraints) of the R4 StructureDefinitions, and how one is run.

`definitions/r4-invariants.json.gz` (written by `tools/build_r4_invariants.py`) lists, per
element path (`Reference`, `DomainResource`, `Patient.contact`, `Narrative.div`), the
constraints the core definitions declare. Each expression is parsed once (fhirpathpy) and
kept; evaluating it on a node costs ~20-100 µs, so nothing here runs on ordinary writes.

A few are evaluated in an equivalent form fhirpathpy can run (`REWRITTEN`). Some invariants
are not evaluated, each for a reason listed in `SKIPPED` (data, tested so
that the list cannot grow unnoticed): checked natively elsewhere, or using functions
fhirpathpy does not have (`htmlChecks`, `conformsTo`, `memberOf`, `resolve()` outside a
Bundle).
"""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from fhirpathpy import apply_parsed_path
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.parser import parse

from samhandling.fhir.r4_model import MODEL

CATALOGUE_FILE = "r4-invariants.json.gz"

#: invariant key → why it is not evaluated by FHIRPath here
SKIPPED: dict[str, str] = {
    "ele-1": "checked natively by the structural validator (every element has a value or "
    "children, in its JSON form); as FHIRPath it would cost one evaluation per element",
    "ext-1": "checked natively by the structural validator (fhir/validation/checks.py)",
    "txt-1": "htmlChecks() is not a FHIRPath function fhirpathpy has; the narrative's XHTML "
    "is checked natively (fhir/validation/narrative.py)",
    "txt-2": "htmlChecks() (as txt-1); checked natively (fhir/validation/narrative.py)",
    "pat-cnt-2or3-char": "memberOf() needs a terminology service (IPS Patient.address.country "
    "in ISO 3166 alpha-2 or -3; a warning in IPS)",
}

#: invariant key → (text, replacement, why): expressions evaluated in an equivalent form
REWRITTEN: dict[str, tuple[str, str, str]] = {
    "dom-3": (
        "as(",
        "ofType(",
        "fhirpathpy's as() refuses a collection of more than one item, and "
        "`%resource.descendants().as(canonical)` is one; ofType() filters the same values",
    ),
    "rng-2": (
        "(low <= high)",
        "(low.code != high.code or low.value <= high.value)",
        "fhirpathpy cannot order two Quantity values (`low <= high` raises a TypeError); the "
        "values are compared where the units agree (other units would need UCUM conversion: "
        "such a Range passes, as an unresolvable comparison would)",
    ),
    "ctm-1": (
        "member.resolve().iif(empty(), true, ofType(Practitioner).exists())",
        "member.reference.empty() or member.reference.startsWith('#') "
        "or member.reference.matches('(^|/)Practitioner/[^/]+(/_history/[^/]+)?$')",
        "resolve() reaches outside the resource; the reference's type says whether the member "
        "is a Practitioner (a contained or unresolvable member passes, as resolve()'s empty "
        "result does in the original)",
    ),
}


@dataclass(frozen=True)
class Invariant:
    """One constraint: its key, severity (error or warning), human text and expression."""

    key: str
    severity: str
    human: str
    expression: str


@dataclass(frozen=True)
class Outcome:
    """What evaluating an invariant on a node gave: held, or failed, or could not run."""

    held: bool
    problem: str | None = None  # why it could not be evaluated (then `held` is True)


def invariant(key: str, severity: str, human: str, expression: str) -> Invariant:
    """An invariant as evaluated here (its expression rewritten when `REWRITTEN` says so)."""
    if key in REWRITTEN:
        text, replacement, _ = REWRITTEN[key]
        expression = expression.replace(text, replacement)
    return Invariant(key, severity, human, expression)


@functools.cache
def base_invariants() -> dict[str, tuple[Invariant, ...]]:
    """Element path → the R4 invariants declared there that are evaluated (not SKIPPED)."""
    package = resources.files("samhandling.fhir.definitions")
    raw = json.loads(gzip.decompress(package.joinpath(CATALOGUE_FILE).read_bytes()))
    found: dict[str, tuple[Invariant, ...]] = {}
    for path, listed in raw["invariants"].items():
        kept = tuple(invariant(*entry) for entry in listed if entry[0] not in SKIPPED)
        if kept:
            found[path] = kept
    return found


def _has_value(inputs: list[Any]) -> bool:
    """FHIRPath `hasValue()` (R4 §2.24.0.3, a FHIR addition fhirpathpy lacks): a single
    primitive with a value (not only extensions)."""
    return len(inputs) == 1 and isinstance(inputs[0], str | int | float | Decimal | bool)


#: evaluation options: the FHIR functions fhirpathpy lacks, and `trace()` kept quiet
OPTIONS: dict[str, Any] = {
    "userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}}},
    "traceFn": lambda label, value: None,
}


@functools.cache
def compiled(expression: str) -> dict[str, Any]:
    """fhirpathpy's parse of `expression`, made once per process."""
    return dict(parse(expression))


def evaluate(invariant: Invariant, node: Any, type_path: str, resource: Any, root: Any) -> Outcome:
    """Run `invariant` on `node` (of the model type or element path `type_path`), with
    `%resource` and `%rootResource` bound (R4 §2.24.0.3: a Bundle entry's resource is its
    own `%resource`; a contained resource's `%rootResource` is its container)."""
    variables = {"resource": resource, "rootResource": root}
    context = ResourceNode.create_node(node, type_path)
    try:
        result = apply_parsed_path(
            context, compiled(invariant.expression), variables, MODEL, OPTIONS
        )
    except Exception as exc:  # fhirpathpy raises plain exceptions; reported, never hidden
        return Outcome(True, f"{type(exc).__name__}: {exc}")
    return Outcome(result != [False])
