"""Small helpers the identity operations share: the caller, parameters and Patient look-up."""

from __future__ import annotations

from typing import Any

from samhandling.access_guard import AccessGuard
from samhandling.fhir.outcome import FhirError, error
from samhandling.fhir.references import parse_relative_reference
from samhandling.identifiers.identifier_systems import normalise_system
from samhandling.interactions.operations import OperationContext


def requester(guard: AccessGuard) -> dict[str, Any]:
    """Who asks, for a ledger or an audit record: never a token, never a full national ID."""
    principal = guard.principal
    if principal is None:
        return {"kind": "internal", "name": "trusted internal caller"}
    return {k: v for k, v in principal.audit_agent().items() if v is not None}


def text_parameter(context: OperationContext, name: str) -> str | None:
    """A string parameter, stripped; None when absent or blank."""
    value = context.parameter(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FhirError(400, error("invalid", f"Parameter {name} must be a string", name))
    return value.strip() or None


def boolean_parameter(context: OperationContext, name: str, default: bool = False) -> bool:
    """A boolean parameter (valueBoolean, or "true"/"false" in the query)."""
    value = context.parameter(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FhirError(400, error("invalid", f"Parameter {name} must be a boolean", name))


def integer_parameter(context: OperationContext, name: str, low: int, high: int) -> int | None:
    """A positive integer parameter within [low, high], or None when absent."""
    value = context.parameter(name)
    if value is None:
        return None
    if isinstance(value, str) and (value.isascii() and value.isdigit()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        message = f"Parameter {name} must be an integer from {low} to {high}"
        raise FhirError(400, error("invalid", message, name))
    return value


def resource_parameter(context: OperationContext, name: str, resource_type: str) -> Any:
    """A resource parameter of the given type, or None when absent."""
    value = context.parameter(name)
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("resourceType") != resource_type:
        message = f"Parameter {name} must hold a {resource_type} resource"
        raise FhirError(400, error("invalid", message, name))
    return value


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
