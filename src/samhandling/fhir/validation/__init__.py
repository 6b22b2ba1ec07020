"""Structural validation of FHIR R4 (4.0.1) resources in their JSON form.

    from samhandling.fhir.validation import validate_resource, is_resource_type, RESOURCE_TYPES
    issues = validate_resource(resource)  # [] when valid

The checks are generated from the official R4 StructureDefinitions (see
`tools/build_r4_definitions.py`): resourceType, unknown elements, JSON types and formats of
all primitives, `_` primitive-extension companions, cardinality, choice types, contained and
nested resources, Extension and Narrative structure, required bindings that can be expanded
from the bundled code systems, and the target types of relative literal references.

Not checked here: invariants (FHIRPath constraints such as dom-2..5 or ref-1, except ext-1
and the JSON form of ele-1; `$validate` evaluates them with `fhir/invariants`), profiles
(`meta.profile`), bindings weaker than required, bindings that need an external terminology
(mime types, currencies, UCUM, LOINC answer lists), whether local `#id` references resolve.
The XHTML of a narrative is parsed and held to txt-1 and txt-2 (the allowed elements and
attributes, no scripts, event handlers or `javascript:` URLs, some content; see
`narrative`). Issue codes: structure, required, value, code-invalid, invalid, and invariant
for a narrative's content. Only errors make a resource invalid; a CodeableConcept with a
required binding but no coding of its systems is a warning.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.fhir.validation.model import load_model
from samhandling.fhir.validation.resource_types import RESOURCE_TYPES
from samhandling.fhir.validation.walker import Walker

__all__ = ["RESOURCE_TYPES", "Issue", "is_resource_type", "validate_resource"]


def validate_resource(resource: dict[str, Any]) -> list[Issue]:
    """All structural issues of one resource (errors and warnings); [] when it is valid R4."""
    walker = Walker(load_model())
    try:
        walker.resource(resource, None)
    except RecursionError:
        where = resource.get("resourceType") if isinstance(resource, dict) else None
        message = "the resource is nested too deeply to be validated"
        walker.issues.append(Issue("error", "structure", message, (str(where or "Resource"),)))
    return walker.issues


def is_resource_type(name: str) -> bool:
    """Whether `name` is one of the 146 FHIR R4 resource types."""
    return name in RESOURCE_TYPES
