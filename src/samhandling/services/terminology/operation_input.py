"""Reading the input parameters of the terminology operations (query or Parameters body)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.operations import OperationContext


@dataclass(frozen=True)
class CodingInput:
    """One coded value to look up or check."""

    system: str
    code: str
    display: str | None = None


def text(context: OperationContext, name: str) -> str | None:
    """A string parameter, stripped; None when absent or blank."""
    value = context.parameter(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FhirError(400, error("invalid", f"Parameter {name} must be a string", name))
    return value.strip() or None


def integer(context: OperationContext, name: str, low: int, high: int) -> int | None:
    """An integer parameter within [low, high], or None when absent."""
    value = context.parameter(name)
    if value is None:
        return None
    if isinstance(value, str) and (value.strip().isascii() and value.strip().isdigit()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        message = f"Parameter {name} must be an integer from {low} to {high}"
        raise FhirError(400, error("invalid", message, name))
    return value


def refuse_resource_parameter(context: OperationContext, name: str) -> None:
    """400 when the caller sends a resource parameter the server does not evaluate."""
    if context.parameter(name) is not None:
        message = f"Parameter {name} is not supported: only the bundled resources, by url"
        raise FhirError(400, error("not-supported", message, name))


def codings(context: OperationContext, system_names: tuple[str, ...]) -> list[CodingInput]:
    """The coded values of a request: `coding`, `codeableConcept`, or `code` with the first
    of `system_names` present (e.g. `system`, or `url` for CodeSystem/$validate-code).
    400 when none is given, or `code` comes without a system."""
    system = next((s for s in (text(context, n) for n in system_names) if s), None)
    code, display = text(context, "code"), text(context, "display")
    coding, concept = context.parameter("coding"), context.parameter("codeableConcept")
    if coding is not None:
        return [_coding(coding, "coding", display, system)]
    if concept is not None:
        return _codeable_concept(concept, system)
    if code is None:
        what = "code (with " + " or ".join(system_names) + "), coding or codeableConcept"
        raise FhirError(400, error("required", f"Parameter {what} is required"))
    if system is None:
        names = " or ".join(system_names)
        raise FhirError(400, error("required", f"Parameter {names} is required with code"))
    return [CodingInput(system, code, display)]


def _coding(value: Any, name: str, display: str | None, system: str | None) -> CodingInput:
    if not isinstance(value, dict):
        raise FhirError(400, error("invalid", f"Parameter {name} must be a Coding", name))
    found_system, code = value.get("system"), value.get("code")
    if not isinstance(code, str) or not code:
        raise FhirError(400, error("required", f"The {name} has no code", name))
    if found_system is None:
        found_system = system
    if not isinstance(found_system, str) or not found_system:
        raise FhirError(400, error("required", f"The {name} has no system", name))
    shown = value.get("display")
    return CodingInput(found_system, code, shown if isinstance(shown, str) else display)


def _codeable_concept(value: Any, system: str | None) -> list[CodingInput]:
    items = value.get("coding") if isinstance(value, dict) else None
    if not isinstance(items, list) or not items:
        message = "Parameter codeableConcept must be a CodeableConcept with at least one coding"
        raise FhirError(400, error("invalid", message, "codeableConcept"))
    return [_coding(item, "codeableConcept.coding", None, system) for item in items]
