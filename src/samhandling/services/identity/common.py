"""What the identity operations share: who asks, Patient references and identifier keys."""

from __future__ import annotations

from typing import Any

from samhandling.access_guard import AccessGuard
from samhandling.fhir.references import parse_relative_reference
from samhandling.identifiers.identifier_systems import normalise_system


def requester(guard: AccessGuard) -> dict[str, Any]:
    """Who asks, for a ledger or an audit record: never a token, never a full national ID."""
    principal = guard.principal
    if principal is None:
        return {"kind": "internal", "name": "trusted internal caller"}
    return {k: v for k, v in principal.audit_agent().items() if v is not None}


def patient_id_of_reference(reference: str, base_url: str) -> str | None:
    """The Patient id of `Patient/x`, `Patient/x/_history/n` or `<base>/Patient/x`; else None."""
    if reference.startswith(base_url.rstrip("/") + "/"):
        reference = reference[len(base_url.rstrip("/")) + 1 :]
    parsed = parse_relative_reference(reference)
    if parsed is None or parsed[0] != "Patient":
        return None
    return parsed[1]


def identifier_key(identifier: Any) -> tuple[str, str] | None:
    """(canonical system, value) of an Identifier with both, else None."""
    if not isinstance(identifier, dict):
        return None
    system, value = identifier.get("system"), identifier.get("value")
    if not isinstance(system, str) or not isinstance(value, str) or not system or not value:
        return None
    return normalise_system(system), value
