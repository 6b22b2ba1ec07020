"""Checking the Norwegian identifiers of Patient, Practitioner and Organization on write.

Every identifier whose `system` is one of the national OIDs must hold a valid number for
that system; legacy organisation OIDs are normalised to the correct ones in place.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import Issue, error
from samhandling.identifiers.identifier_systems import check_identifier, normalise_system

CHECKED_TYPES = frozenset(
    {"Patient", "Practitioner", "Organization", "PractitionerRole", "RelatedPerson", "Person"}
)


def identifier_issues(resource: dict[str, Any]) -> list[Issue]:
    """Issues for invalid national identifiers (normalising legacy systems as it goes)."""
    resource_type = resource.get("resourceType")
    if resource_type not in CHECKED_TYPES:
        return []
    issues = []
    for index, identifier in enumerate(resource.get("identifier") or []):
        if not isinstance(identifier, dict) or not isinstance(identifier.get("system"), str):
            continue
        identifier["system"] = normalise_system(identifier["system"])
        reason = check_identifier(identifier["system"], identifier.get("value"))
        if reason:
            where = f"{resource_type}.identifier[{index}].value"
            issues.append(
                error("value", f"Invalid identifier for {identifier['system']}: {reason}", where)
            )
    return issues
