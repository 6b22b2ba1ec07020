"""The vital signs NEWS2 is computed from, as data: which Observation codes carry which
parameter, and how its value is read (docs/MEASUREMENTS.md, "NEWS2").

Codes are those of the FHIR R4 vital-signs profiles and the national VKP profiles (LOINC,
SNOMED CT); consciousness is the VKP ACVPU observable (SNOMED CT 1104441000000107) or LOINC
67775-7, valued by an ACVPU letter or one of the SNOMED CT findings in `ACVPU_CODES`.
Supplemental oxygen is an inhaled-oxygen flow above 0 or a concentration above 21 %, as an
Observation of its own or a component of the SpO2 Observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.fhir.outcome import FhirError, error

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"


@dataclass(frozen=True)
class Sign:
    """One input of NEWS2: its key and the codings that name it."""

    key: str
    title: str
    codes: frozenset[tuple[str, str]]


SIGNS: tuple[Sign, ...] = (
    Sign("respiration", "respiratory rate", frozenset({(LOINC, "9279-1"), (SCT, "86290005")})),
    Sign(
        "spo2",
        "oxygen saturation",
        frozenset({(LOINC, "59408-5"), (LOINC, "2708-6"), (SCT, "431314004")}),
    ),
    Sign("systolic", "systolic blood pressure", frozenset({(LOINC, "8480-6"), (SCT, "271649006")})),
    Sign("pulse", "heart rate", frozenset({(LOINC, "8867-4"), (SCT, "364075005")})),
    Sign("temperature", "body temperature", frozenset({(LOINC, "8310-5"), (SCT, "386725007")})),
    Sign(
        "consciousness",
        "level of consciousness (ACVPU)",
        frozenset({(SCT, "1104441000000107"), (LOINC, "67775-7")}),
    ),
    Sign("oxygen-flow", "inhaled oxygen flow", frozenset({(LOINC, "3151-8")})),
    Sign("oxygen-concentration", "inhaled oxygen concentration", frozenset({(LOINC, "3150-0")})),
)
BLOOD_PRESSURE_PANEL = frozenset({(LOINC, "85354-9"), (LOINC, "55284-4")})
#: the signs NEWS2 cannot do without (oxygen may also come from a parameter)
REQUIRED = ("respiration", "spo2", "systolic", "pulse", "temperature", "consciousness")
LETTERS = ("A", "C", "V", "P", "U")
#: SNOMED CT findings of the ACVPU scale, by letter
ACVPU_CODES = {
    "248234008": "A",  # mentally alert
    "130987000": "C",  # acute confusion
    "300202002": "V",  # responds to voice
    "450847001": "P",  # responds to pain
    "422768004": "U",  # unresponsive
}


def codings(concept: Any) -> set[tuple[str, str]]:
    """The (system, code) pairs of a CodeableConcept."""
    if not isinstance(concept, dict):
        return set()
    return {
        (str(c.get("system")), str(c.get("code")))
        for c in concept.get("coding", [])
        if isinstance(c, dict)
    }


def signs_of(observation: dict[str, Any]) -> dict[str, Any]:
    """sign key → value for every NEWS2 input the Observation carries (its value, or
    its components: the systolic of a blood-pressure panel, the oxygen of an SpO2)."""
    found: dict[str, Any] = {}
    for concept, holder in [(observation.get("code"), observation)] + [
        (component.get("code"), component) for component in observation.get("component", [])
    ]:
        names = codings(concept)
        for sign in SIGNS:
            if names & sign.codes:
                found[sign.key] = _value(sign, holder)
    return found


def _value(sign: Sign, holder: dict[str, Any]) -> Any:
    if sign.key == "consciousness":
        return _acvpu(holder)
    quantity = holder.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FhirError(422, error("invalid", f"The {sign.title} has no valueQuantity.value"))
    return float(value)


def _acvpu(holder: dict[str, Any]) -> str:
    text = holder.get("valueString")
    if isinstance(text, str) and text.strip()[:1].upper() in LETTERS:
        return text.strip()[:1].upper()
    for _, code in sorted(codings(holder.get("valueCodeableConcept"))):
        letter = ACVPU_CODES.get(code) or (code.upper() if code.upper() in LETTERS else None)
        if letter:
            return letter
    message = "The level of consciousness must be an ACVPU letter or SNOMED CT finding"
    raise FhirError(422, error("invalid", message))


def on_oxygen(found: dict[str, Any]) -> bool | None:
    """Whether the set says the patient breathes supplemental oxygen (None: it does not say)."""
    flow, concentration = found.get("oxygen-flow"), found.get("oxygen-concentration")
    if flow is None and concentration is None:
        return None
    return (flow or 0) > 0 or (concentration or 0) > 21
