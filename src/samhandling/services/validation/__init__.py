"""`$validate` (R4 §2.42 Resource-validate): the checks a write makes, without writing.

`POST [type]/$validate` with the resource as the body, or a Parameters body with `resource`
(and optionally `mode`: create or update; `profile`: a shipped profile to check besides
those the resource claims in `meta.profile` — e.g. the IPS Bundle profile for a summary
from abroad, whose entries claim nothing; a profile the server does not ship is refused
with 400 rather than ignored). The answer is an OperationOutcome with one issue per problem and its
location (FHIRPath `expression`), errors and warnings together, 200 whatever it finds (the
operation succeeded; the resource may not be valid). Nothing is stored and no patient data
is read, so it needs no scope. Deviations: `mode=delete` and `GET [type]/[id]/$validate`
are not supported (400 / 404).
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import FhirError, Issue, error, operation_outcome
from samhandling.fhir.validation import is_resource_type
from samhandling.interactions.operations import (
    ANY_TYPE,
    Operation,
    OperationContext,
    OperationResult,
)
from samhandling.interactions.resource_input import validation_issues
from samhandling.profiles import shipped_profile
from samhandling.services.service import Service

MODES = frozenset({"create", "update"})


def validate(context: OperationContext) -> OperationResult:
    """The issues a write of the resource would meet."""
    profiles = _profiles(context)
    resource = _resource_of(context)
    rtype = context.resource_type
    if resource.get("resourceType") != rtype:
        message = f"resourceType {resource.get('resourceType')!r} does not match the URL ({rtype})"
        raise FhirError(400, error("invalid", message, "resourceType"))
    issues: list[Issue] = validation_issues(resource, profiles)
    if context.text("mode") == "update" and not resource.get("id"):
        issues.append(error("required", "An update needs the resource's id", f"{rtype}.id"))
    return OperationResult(operation_outcome(issues))


def _resource_of(context: OperationContext) -> dict[str, Any]:
    mode = context.text("mode")
    if mode is not None and mode not in MODES:
        message = f"mode {mode!r} is not supported (create or update)"
        raise FhirError(400, error("not-supported", message, "mode"))
    body = context.parameter("resource")
    if not isinstance(body, dict) or not is_resource_type(str(body.get("resourceType"))):
        raise FhirError(400, error("required", "Send the resource to validate", "resource"))
    return body


def _profiles(context: OperationContext) -> list[str]:
    """The `profile` parameters: each must be a StructureDefinition the platform ships."""
    wanted = [str(url) for url in context.parameters.get("profile", [])]
    for url in wanted:
        if shipped_profile(url) is None:
            message = f"profile {url} is not one the server ships (it cannot check it)"
            raise FhirError(400, error("not-supported", message, "profile"))
    return wanted


SERVICE = Service(
    name="validation",
    operations=(
        Operation(
            "validate",
            "type",
            ANY_TYPE,
            validate,
            permission="",
            resource_body=True,
            description="The issues a create or update of the resource would meet, "
            "one per problem with its location; nothing is stored.",
            parameters=(
                ("resource", "in", 0, "1", "Resource"),
                ("mode", "in", 0, "1", "code"),
                ("profile", "in", 0, "*", "uri"),
                ("return", "out", 1, "1", "OperationOutcome"),
            ),
        ),
    ),
)
