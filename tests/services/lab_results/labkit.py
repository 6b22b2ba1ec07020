"""Lab results for the tests: a report with its results in the national (NILAR) shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

EXPERTISE = "http://ehelse.no/fhir/CodeSystem/no-kodeverk-8202"
LOINC = "http://loinc.org"
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
LAB_ORGNR = "991000046"  # Helse Fjordbyen HF, a valid organisation number
HGB = ("718-7", "Hemoglobin", "g/dL")
CRP = ("1988-5", "C-reaktivt protein", "mg/L")


def concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def common(patient: str, issued: datetime) -> dict[str, Any]:
    return {
        "status": "final",
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": issued.isoformat(timespec="seconds"),
        "issued": issued.isoformat(timespec="seconds"),
        "performer": [{"identifier": {"system": ORGNR, "value": LAB_ORGNR}}],
    }


def observation(
    patient: str,
    issued: datetime,
    value: float = 13.5,
    analysis: tuple[str, str, str] = HGB,
    expertise: str = "CLIN",
) -> dict[str, Any]:
    code, display, unit = analysis
    return {
        "resourceType": "Observation",
        "category": [concept(EXPERTISE, expertise)],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        **common(patient, issued),
        "valueQuantity": {"value": value, "unit": unit},
    }


def report(patient: str, issued: datetime, expertise: str = "LAB", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "category": [concept(EXPERTISE, expertise)],
        "code": {"text": "Blodprøver"},
        **common(patient, issued),
        **extra,
    }


def submission(
    patient: str, issued: datetime, expertise: str = "LAB", results: int = 1
) -> dict[str, Any]:
    """A transaction: the report, its results and a specimen, as a lab sends them."""
    observation_expertise = "PAT" if expertise == "PAT" else "CLIN"
    parts = [
        observation(patient, issued, 13.0 + n, expertise=observation_expertise)
        for n in range(results)
    ]
    specimen = {
        "resourceType": "Specimen",
        "subject": {"reference": f"Patient/{patient}"},
        "accessionIdentifier": {"value": "S-1"},
        "collection": {"collectedDateTime": issued.isoformat(timespec="seconds")},
    }
    entries = [
        {"fullUrl": f"urn:uuid:obs-{n}", "resource": r, "request": _post(r)}
        for n, r in enumerate(parts)
    ]
    entries.append({"fullUrl": "urn:uuid:spec", "resource": specimen, "request": _post(specimen)})
    dr = report(
        patient,
        issued,
        expertise,
        result=[{"reference": f"urn:uuid:obs-{n}"} for n in range(results)],
        specimen=[{"reference": "urn:uuid:spec"}],
    )
    entries.append({"fullUrl": "urn:uuid:report", "resource": dr, "request": _post(dr)})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _post(resource: dict[str, Any]) -> dict[str, str]:
    return {"method": "POST", "url": resource["resourceType"]}


def created_ids(response_bundle: dict[str, Any]) -> dict[str, list[str]]:
    """The ids a transaction created, by resource type."""
    found: dict[str, list[str]] = {}
    for entry in response_bundle["entry"]:
        rtype, rid = entry["response"]["location"].split("/")[:2]
        found.setdefault(rtype, []).append(rid)
    return found
