"""Whether a resource is marked "entered in error" (R4: a record that should not exist).

R4 spreads the mark over two shapes: a `status` code (Procedure, Flag, DeviceUseStatement,
Observation, …) or a `verificationStatus` CodeableConcept (AllergyIntolerance, Condition).
"""

from __future__ import annotations

from typing import Any

ENTERED_IN_ERROR = "entered-in-error"
#: what `is_entered_in_error` reads of a resource
STATUS_READS = frozenset({"status", "verificationStatus"})


def is_entered_in_error(resource: dict[str, Any] | None) -> bool:
    """True when the resource's status or verification status is entered-in-error."""
    if not resource:
        return False
    if resource.get("status") == ENTERED_IN_ERROR:
        return True
    verification = resource.get("verificationStatus")
    codings = verification.get("coding") if isinstance(verification, dict) else None
    return any(
        isinstance(c, dict) and c.get("code") == ENTERED_IN_ERROR
        for c in (codings if isinstance(codings, list) else [])
    )
