"""Vital-sign Observations and batch Bundles as a home-monitoring system sends them."""

from __future__ import annotations

from typing import Any

from fixtures.critical_information import CITIZEN

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
DEVICE_IDS = "urn:example:home-monitoring:measurement"

# key → (LOINC code, display, UCUM unit)
CODES = {
    "respiration": ("9279-1", "Respiratory rate", "/min"),
    "spo2": ("59408-5", "Oxygen saturation by pulse oximetry", "%"),
    "pulse": ("8867-4", "Heart rate", "/min"),
    "temperature": ("8310-5", "Body temperature", "Cel"),
    "weight": ("29463-7", "Body weight", "kg"),
    "oxygen-flow": ("3151-8", "Inhaled oxygen flow rate", "L/min"),
}


def vital(
    key: str, value: float, at: str, patient: str = CITIZEN, device: str = "meter-1"
) -> dict[str, Any]:
    """One vital-signs Observation; its identifier names device, code and time."""
    code, display, unit = CODES[key]
    return {
        "resourceType": "Observation",
        "identifier": [{"system": DEVICE_IDS, "value": f"{device}/{code}/{at}"}],
        "status": "final",
        "category": [_category()],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": at,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def blood_pressure(systolic: float, diastolic: float, at: str) -> dict[str, Any]:
    found = vital("pulse", 0, at)
    found.pop("valueQuantity")
    found["identifier"][0]["value"] = f"meter-1/85354-9/{at}"
    found["code"] = {"coding": [{"system": LOINC, "code": "85354-9"}]}
    found["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
        }
        for code, value in (("8480-6", systolic), ("8462-4", diastolic))
    ]
    return found


def consciousness(letter: str, at: str) -> dict[str, Any]:
    found = vital("pulse", 0, at)
    found.pop("valueQuantity")
    found["identifier"][0]["value"] = f"meter-1/acvpu/{at}"
    found["code"] = {"coding": [{"system": SCT, "code": "1104441000000107"}]}
    found["valueCodeableConcept"] = {"text": letter, "coding": [{"system": SCT, "code": {
        "A": "248234008", "C": "130987000", "V": "300202002", "P": "450847001",
        "U": "422768004"}[letter]}]}  # fmt: skip
    return found


def vital_set(
    at: str, rr: float, spo2: float, systolic: float, pulse: float, acvpu: str, temp: float
) -> list[dict[str, Any]]:
    """A full NEWS2 set taken at `at` (on air unless an oxygen flow is added)."""
    return [
        vital("respiration", rr, at),
        vital("spo2", spo2, at),
        blood_pressure(systolic, 80, at),
        vital("pulse", pulse, at),
        consciousness(acvpu, at),
        vital("temperature", temp, at),
    ]


def batch(observations: list[dict[str, Any]], conditional: bool = True) -> dict[str, Any]:
    """A batch Bundle of creates, each conditional on its identifier (If-None-Exist)."""
    entries = []
    for observation in observations:
        request: dict[str, Any] = {"method": "POST", "url": "Observation"}
        if conditional:
            identifier = observation["identifier"][0]
            request["ifNoneExist"] = f"identifier={identifier['system']}|{identifier['value']}"
        entries.append({"resource": observation, "request": request})
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


def _category() -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/observation-category"
    return {"coding": [{"system": system, "code": "vital-signs"}]}
