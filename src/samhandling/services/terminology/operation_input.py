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


def refuse_resource_parameter(context: OperationContext, name: str) -> None:
    """400 when the caller sends a resource parameter the server does not evaluate."""
    if context.parameter(name) is not None:
        message = f"Parameter {name} is not supported: only the bundled resources, by url"
        raise FhirError(400, error("not-supported", message, name))


def codings(context: OperationContext, system_names: tuple[str, ...]) -> list[CodingInput]:
    """The coded values of a request: `coding`, `codeableConcept`, or `code` with the first
    of `system_names` present (e.g. `system`, or `url` for CodeSystem/$validate-code).
    400 when none is given, or `code` comes without a system."""
    system = next((s for s in (context.text(n) for n in system_names) if s), None)
    code, display = context.text("code"), context.text("display")
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
