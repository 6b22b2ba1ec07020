"""Implants: the DeviceUseStatement refers to its contained Device, typed from 7518 or SNOMED CT."""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.terminology import validate_in_value_set

IMPLANT_VALUE_SET = "https://samhandling.no/fhir/ValueSet/kj-implant"


def implant_issues(statement: dict[str, Any]) -> list[Issue]:
    """What is wrong with an implant entry's device (empty when nothing)."""
    devices = {
        f"#{c.get('id')}": c
        for c in statement.get("contained", [])
        if c.get("resourceType") == "Device"
    }
    reference = (statement.get("device") or {}).get("reference")
    device = devices.get(reference or "")
    if device is None:
        message = "DeviceUseStatement.device must refer to the contained Device (#id)"
        return [Issue("error", "business-rule", message, ("DeviceUseStatement.device",))]
    codings = (device.get("type") or {}).get("coding", [])
    for coding in codings:
        check = validate_in_value_set(
            IMPLANT_VALUE_SET,
            coding.get("system", ""),
            coding.get("code", ""),
            coding.get("display"),
        )
        if check.valid:
            return []
    message = f"The implanted Device needs a type from {IMPLANT_VALUE_SET} (7518 or SNOMED CT)"
    return [Issue("error", "code-invalid", message, ("DeviceUseStatement.contained.type",))]
