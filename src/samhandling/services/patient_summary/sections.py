"""The IPS sections the summary fills, as data, and the explicit "no information" entries.

Section codes are the LOINC codes of the IPS 1.1.0 Composition profile (Composition-uv-ips);
allergies, medications and problems are required and always present: with the platform's
entries, or with one entry coded from the IPS absent-unknown CodeSystem when it knows none.

Alerts (LOINC 104605-1) is the section IPS 2.0 added for Flags; IPS 1.1.0 has none, and its
`Composition.section` slicing is open, so the section is an extra 1.1.0 allows. It comes
first: an alert, in IPS 2.0's words (Flag-alert-uv-ips), "brings information to the fore".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOINC = "http://loinc.org"
ABSENT_UNKNOWN = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


@dataclass(frozen=True)
class Section:
    """One section of the summary: its LOINC code, titles and what fills it."""

    key: str
    code: str
    display: str
    title_nb: str
    title_en: str
    required: bool
    #: the absent-unknown code of its "no information" entry (required sections only)
    no_info: str | None = None

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_nb

    def code_concept(self) -> dict[str, Any]:
        return {"coding": [{"system": LOINC, "code": self.code, "display": self.display}]}


SECTIONS: tuple[Section, ...] = (
    Section("alerts", "104605-1", "Alert", "Varsler", "Alerts", False),
    Section(
        "allergies", "48765-2", "Allergies and adverse reactions Document",
        "Allergier og intoleranser", "Allergies and intolerances", True, "no-allergy-info",
    ),
    Section(
        "medications", "10160-0", "History of Medication use Narrative",
        "Legemidler", "Medication summary", True, "no-medication-info",
    ),
    Section(
        "problems", "11450-4", "Problem list - Reported",
        "Problemer og tilstander", "Problem list", True, "no-problem-info",
    ),
    Section(
        "procedures", "47519-4", "History of Procedures Document",
        "Prosedyrer og behandling", "History of procedures", False,
    ),
    Section(
        "immunizations", "11369-6", "History of Immunization Narrative",
        "Vaksinasjoner", "Immunizations", False,
    ),
    Section(
        "devices", "46264-8", "History of medical device use",
        "Medisinsk utstyr og implantater", "Medical devices and implants", False,
    ),
    Section(
        "results", "30954-2", "Relevant diagnostic tests/laboratory data Narrative",
        "Prøvesvar", "Results", False,
    ),
)  # fmt: skip
SECTION_BY_KEY = {section.key: section for section in SECTIONS}

_NO_INFO_DISPLAY = {
    "no-allergy-info": "No information about allergies",
    "no-medication-info": "No information about medications",
    "no-problem-info": "No information about problems",
}


def no_info_entry(section: Section, patient_ref: str, entry_id: str) -> dict[str, Any]:
    """The resource saying the platform knows nothing for a required section."""
    code = str(section.no_info)
    concept = {
        "coding": [{"system": ABSENT_UNKNOWN, "code": code, "display": _NO_INFO_DISPLAY[code]}]
    }
    text = {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{_NO_INFO_DISPLAY[code]}</div>',
    }
    subject = {"reference": patient_ref}
    if section.key == "allergies":
        clinical = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
        return {
            "resourceType": "AllergyIntolerance", "id": entry_id, "text": text,
            "clinicalStatus": {"coding": [{"system": clinical, "code": "active"}]},
            "code": concept, "patient": subject,
        }  # fmt: skip
    if section.key == "problems":
        clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
        return {
            "resourceType": "Condition", "id": entry_id, "text": text,
            "clinicalStatus": {"coding": [{"system": clinical, "code": "active"}]},
            "code": concept, "subject": subject,
        }  # fmt: skip
    return {
        "resourceType": "MedicationStatement", "id": entry_id, "text": text,
        "status": "unknown", "medicationCodeableConcept": concept, "subject": subject,
        "effectivePeriod": {"extension": [{"url": DATA_ABSENT, "valueCode": "not-applicable"}]},
    }  # fmt: skip


def is_no_info(resource: dict[str, Any]) -> bool:
    """Whether `resource` is a "no information" entry (coded from absent-unknown)."""
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return any(c.get("system") == ABSENT_UNKNOWN for c in concept.get("coding") or [])
