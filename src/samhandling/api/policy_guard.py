"""The access guard of an HTTP request: the caller's principal judged by the policy."""

from __future__ import annotations

from typing import Any

from samhandling.auth import Decision, Principal, decide
from samhandling.fhir.outcome import FhirError, error

# Batch and transaction Bundles are judged entry by entry, not as a whole.
ENTRY_BY_ENTRY = frozenset({"transaction", "batch"})


class PolicyGuard:
    """Implements `access_guard.AccessGuard` with `auth.decide`; keeps every decision."""

    inspects_resources = True

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.decisions: list[Decision] = []

    def _decide(self, interaction: str, resource_type: str | None, resource: Any) -> Decision:
        decision = decide(self.principal, interaction, resource_type, resource=resource)
        self.decisions.append(decision)
        return decision

    def check_request(self, interaction: str, resource_type: str | None) -> None:
        if interaction in ENTRY_BY_ENTRY:
            return
        decision = self._decide(interaction, resource_type, None)
        if not decision.allowed:
            raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))

    def check_read(self, interaction: str, resource: dict[str, Any]) -> None:
        decision = self._decide(interaction, resource.get("resourceType"), resource)
        if decision.allowed:
            return
        if self.principal.kind == "citizen":
            # A citizen is not told that somebody else's resource exists.
            raise FhirError(
                404, error("not-found", f"{_location(interaction, resource)} is not known")
            )
        raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))

    def visible(self, interaction: str, resource: dict[str, Any]) -> bool:
        return self._decide(interaction, resource.get("resourceType"), resource).allowed

    def check_write(
        self, interaction: str, previous: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        for resource in (previous, new):
            if resource is None:
                continue
            decision = self._decide(interaction, resource.get("resourceType"), resource)
            if not decision.allowed:
                raise FhirError(403, error("forbidden", f"Access denied: {decision.reason}"))


def _location(interaction: str, resource: dict[str, Any]) -> str:
    """What the not-found message of `interaction` names (the same words as a real miss)."""
    location = f"{resource.get('resourceType')}/{resource.get('id')}"
    if interaction == "vread":
        location += f"/_history/{resource.get('meta', {}).get('versionId')}"
    return location
