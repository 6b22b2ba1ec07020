"""The stored shape of a NEWS2 score: an Observation as the national VKP NEWS2 profile
(SNOMED CT 1104051000000101, one component per parameter with the chart's band as text),
`derivedFrom` the vital signs it was computed from, and the clinical risk as its
interpretation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from samhandling.services.measurements.news2 import News2, Risk

SCT = "http://snomed.info/sct"
NEWS2_CODE = "1104051000000101"
NEWS2_DISPLAY = "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score"
RISK_SYSTEM = "https://samhandling.no/fhir/CodeSystem/news2-clinical-risk"
#: the identifier of a score is the hash of its inputs (versions included) and scale, so
#: computing the same score twice finds the first (a conditional create)
INPUTS_SYSTEM = "https://samhandling.no/fhir/sid/news2-inputs"
RISK_TEXT: dict[Risk, str] = {
    "low": "Low clinical risk: ward-based response",
    "low-medium": "Low-medium clinical risk (3 in one parameter): urgent ward-based response",
    "medium": "Medium clinical risk: key threshold for urgent response",
    "high": "High clinical risk: urgent or emergency response",
}


def inputs_key(references: Sequence[str], scale: int) -> str:
    """A stable key of a set of versioned input references and the SpO2 scale."""
    text = "\n".join([f"scale {scale}", *sorted(references)])
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def score_observation(
    patient_id: str, result: News2, effective: str, derived_from: Sequence[str], scale: int
) -> dict[str, Any]:
    """The NEWS2 Observation of `result` for the patient, effective when its inputs were."""
    risk = result.risk
    return {
        "resourceType": "Observation",
        "identifier": [{"system": INPUTS_SYSTEM, "value": inputs_key(derived_from, scale)}],
        "status": "final",
        "category": [_concept("http://terminology.hl7.org/CodeSystem/observation-category",
                              "survey", "Survey")],
        "code": _concept(SCT, NEWS2_CODE, NEWS2_DISPLAY),
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": effective,
        "valueQuantity": {"value": result.total, "system": "http://unitsofmeasure.org",
                          "code": "{score}"},
        "interpretation": [{**_concept(RISK_SYSTEM, risk, risk), "text": RISK_TEXT[risk]}],
        "derivedFrom": [{"reference": reference} for reference in sorted(derived_from)],
        "component": [
            {
                "code": _concept(SCT, part.parameter.score_code, part.parameter.title),
                "valueQuantity": {"value": part.score},
                "interpretation": [{"text": part.band.label}],
            }
            for part in result.parts
        ],
        "note": [{"text": f"SpO2 scale {scale}"}],
    }  # fmt: skip


def risk_of(score: dict[str, Any]) -> Risk | None:
    """The clinical risk a stored NEWS2 Observation records (None if none)."""
    for concept in score.get("interpretation", []):
        for coding in concept.get("coding", []):
            if coding.get("system") == RISK_SYSTEM and coding.get("code") in RISK_TEXT:
                code: Risk = coding["code"]
                return code
    return None


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}
