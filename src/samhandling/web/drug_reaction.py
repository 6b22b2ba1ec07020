"""The drug-reaction form of the clinician view: its choices as data, and the entry it makes.

The entry is a critical-information `AllergyIntolerance` (profile kj-allergy-intolerance):
the substance as ATC, the reaction from Volven 7497, criticality, who registered it is
stamped by the service's write rules (the same as for an EPJ's POST).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from samhandling.web.security import FormRefused

KJ = "https://samhandling.no/fhir/StructureDefinition/"
ATC = "http://www.whocc.no/atc"
REACTIONS_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.7497"
SOURCE_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.7498"
CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"

#: ATC code → the name shown (and stored as the code's text)
SUBSTANCES = {
    "J01CE02": "Fenoksymetylpenicillin",
    "J01CA04": "Amoksicillin",
    "J01FA09": "Klaritromycin",
    "M01AE01": "Ibuprofen",
    "B01AC06": "Acetylsalisylsyre",
    "N02AA01": "Morfin",
    "N02BE01": "Paracetamol",
}
#: Volven 7497 code → display
REACTIONS = {
    "1": "Anafylaktisk reaksjon",
    "4": "Larynxødem",
    "5": "Astma",
    "9": "Angioødem/alvorlig generalisert urticaria",
    "10": "Alvorlig hudreaksjon",
    "11": "Mindre alvorlig hudreaksjon",
    "20": "Ukjent reaksjon",
}
CRITICALITIES = ("high", "low")
MAX_NOTE = 1000
VALID_UNTIL = KJ + "kj-valid-until"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def valid_until(form: dict[str, str]) -> list[dict[str, Any]]:
    """The entry's `kj-valid-until` extension when the form gives a date (400 for a date
    that is none), else nothing."""
    text = form.get("valid_until", "").strip()
    if not text:
        return []
    try:
        date.fromisoformat(text if DATE.fullmatch(text) else "")
    except ValueError as exc:
        raise FormRefused(400, "valid until is a date, YYYY-MM-DD") from exc
    return [{"url": VALID_UNTIL, "valueDateTime": text}]


def drug_reaction(
    patient_id: str,
    form: dict[str, str],
    substances: dict[str, str] = SUBSTANCES,
    reactions: dict[str, str] = REACTIONS,
) -> dict[str, Any]:
    """The AllergyIntolerance the form describes (400 for a choice not offered; an edit
    offers the entry's own substance and reaction too)."""
    substance, reaction = form.get("substance", ""), form.get("reaction", "")
    criticality, note = form.get("criticality", ""), form.get("note", "").strip()
    if substance not in substances or reaction not in reactions:
        raise FormRefused(400, "choose a substance and a reaction from the lists")
    if criticality not in CRITICALITIES or len(note) > MAX_NOTE:
        raise FormRefused(400, "choose a criticality; a note has at most 1000 characters")
    entry: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "meta": {"profile": [KJ + "kj-allergy-intolerance"]},
        "extension": [_observed_by_clinician(), *valid_until(form)],
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "type": "allergy",
        "category": ["medication"],
        "criticality": criticality,
        "code": {"coding": [{"system": ATC, "code": substance}], "text": substances[substance]},
        "patient": {"reference": f"Patient/{patient_id}"},
        "reaction": [_reaction(reaction, reactions[reaction])],
    }
    if note:
        entry["note"] = [{"text": note}]
    return entry


def _observed_by_clinician() -> dict[str, Any]:
    """The `kj-information-source` extension: 7498 code 2, observed by the clinician."""
    return {
        "url": KJ + "kj-information-source",
        "valueCodeableConcept": {"coding": [{"system": SOURCE_SYSTEM, "code": "2"}]},
    }


def _reaction(code: str, display: str) -> dict[str, Any]:
    """The entry's one reaction: its manifestation, coded in Volven 7497."""
    coding = {"system": REACTIONS_SYSTEM, "code": code, "display": display}
    return {"manifestation": [{"coding": [coding]}]}
