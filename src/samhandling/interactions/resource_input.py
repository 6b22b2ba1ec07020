"""Checking what a client sends before anything is written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from samhandling.fhir import json_codec
from samhandling.fhir.invariants import invariant_issues
from samhandling.fhir.outcome import FhirError, Issue, error
from samhandling.fhir.request_limits import check_json_depth, check_no_nul_in_json
from samhandling.fhir.validation import is_resource_type, validate_resource
from samhandling.identifiers.person_number_consistency import demographic_contradictions
from samhandling.identifiers.resource_identifiers import identifier_issues
from samhandling.profiles import profile_issues
from samhandling.search.custom_parameters import check_search_parameter

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def parse_json(raw: bytes) -> Any:
    """Parse a request body; malformed JSON, nesting beyond MAX_JSON_DEPTH and NUL
    characters in strings are a 400."""
    check_no_nul_in_json(raw)
    try:
        # the depth is checked before json_codec prints the body again (orjson writes at
        # most 254 levels)
        return json_codec.parse(raw, check=check_json_depth)
    except json_codec.JSONDecodeError as exc:
        raise FhirError(400, error("structure", f"Malformed JSON: {exc}")) from exc


def check_resource_type(resource_type: str) -> None:
    """404-free check of a type named in a URL: unknown types are a 400 (R4 §3.1.0.1)."""
    if not is_resource_type(resource_type):
        raise FhirError(400, error("not-supported", f"Unknown resource type '{resource_type}'"))


def check_id(resource_id: str) -> None:
    if not ID_PATTERN.match(resource_id):
        raise FhirError(400, error("value", f"Invalid resource id '{resource_id}'"))


def require_resource(body: Any, expected_type: str | None = None) -> dict[str, Any]:
    """The body as a valid R4 resource of `expected_type`, or a FhirError saying what is wrong
    (see `checked_resource`)."""
    return checked_resource(body, expected_type)[0]


def checked_resource(
    body: Any, expected_type: str | None = None
) -> tuple[dict[str, Any], list[Issue]]:
    """The body as a valid R4 resource of `expected_type` with the warnings it gets, or a
    FhirError saying what is wrong.

    Structural errors are 400 (R4 §3.1.0.4: "failed basic FHIR validation rules"); invalid
    Norwegian identifiers, breaches of a shipped profile claimed in `meta.profile` and a
    narrative that breaks txt-1/txt-2 (e.g. a `<script>`) are 422. Warnings (e.g. a display
    that is not the code's) leave the resource valid; the write reports them to the client.
    """
    if not isinstance(body, dict):
        raise FhirError(400, error("structure", "The body must be a JSON object (a FHIR resource)"))
    resource_type = body.get("resourceType")
    if not isinstance(resource_type, str) or not is_resource_type(resource_type):
        raise FhirError(
            400,
            error(
                "structure", f"Unknown or missing resourceType {resource_type!r}", "resourceType"
            ),
        )
    if expected_type is not None and resource_type != expected_type:
        message = f"resourceType {resource_type} does not match the URL ({expected_type})"
        raise FhirError(400, error("invalid", message, "resourceType"))
    structural, warnings = _by_severity(validate_resource(body))
    if structural:  # an unsafe narrative alone (txt-1, txt-2: code invariant) is a 422
        unsafe_narrative_only = all(issue.code == "invariant" for issue in structural)
        raise FhirError(422 if unsafe_narrative_only else 400, structural)
    identifier_problems = identifier_issues(body)
    if identifier_problems:
        raise FhirError(422, identifier_problems)
    nonconformance, profile_warnings = _by_severity(profile_issues(body))
    if nonconformance:  # R4 §3.1.0.4: 422 "violated applicable profiles"
        raise FhirError(422, nonconformance)
    if resource_type == "SearchParameter":
        check_search_parameter(body)  # a custom parameter must be usable for search (422)
    # A person number whose birth date or sex contradicts the Patient's is a warning here;
    # the services that must have it right refuse it (critical information).
    return body, warnings + profile_warnings + demographic_contradictions(body)


def validation_issues(resource: dict[str, Any], profiles: Sequence[str] = ()) -> list[Issue]:
    """Everything the checks of a write find in `resource` (a dict with a known
    resourceType), errors and warnings together and without stopping at the first stage:
    structure, Norwegian identifiers, claimed shipped profiles (and the shipped `profiles`
    asked for besides), the FHIRPath invariants of the base specification and of those
    profiles, and the demographic check (`$validate`, and the summaries received from
    abroad). A write refuses on the errors (`checked_resource`), without the invariants."""
    issues = validate_resource(resource) + identifier_issues(resource)
    if not any(i.severity in ("error", "fatal") for i in issues):
        # profiles and invariants assume a structurally valid resource
        issues += invariant_issues(resource)
        issues += profile_issues(resource, profiles, invariants=True)
    return issues + demographic_contradictions(resource)


def _by_severity(issues: list[Issue]) -> tuple[list[Issue], list[Issue]]:
    """The errors (error, fatal) and the rest (warning, information)."""
    errors = [i for i in issues if i.severity in ("error", "fatal")]
    return errors, [i for i in issues if i.severity not in ("error", "fatal")]
