"""The document metadata the registry requires, as data (docs/DOCUMENT_SHARING.md).

IHE MHD 4.2 "Comprehensive Metadata" DocumentReference (`IHE.MHD.Comprehensive.
DocumentReference`) and the Norwegian code systems of "Pasientens journaldokumenter":

| element | XDS name | required | code system |
|---|---|---|---|
| masterIdentifier | uniqueId | yes | |
| status | availabilityStatus | yes | current/superseded |
| subject | patientId | yes | a Patient of this server |
| type | typeCode | yes | 9602 (after the producer's ConceptMap) |
| category | classCode | yes | 9602 (derived from the type when absent) |
| date | (submission time) | yes | |
| author | author institution | yes | an Organization with a valid organisation number |
| securityLabel | confidentialityCode | yes | 9603 or HL7 v3 Confidentiality |
| content.attachment.contentType | mimeType | yes | |
| content.attachment.url or data | URI | yes | |
| content.format | formatCode | no | |
| context.facilityType | healthcareFacilityTypeCode | yes | 1303 |
| context.practiceSetting | practiceSettingCode | yes | 8653 |
| context.event | eventCodeList | no | 7210 (not bundled: any code accepted) |
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from samhandling.auth.labels import NO_9603, V3_CONFIDENTIALITY
from samhandling.terminology.content import volven_system

VOLVEN_9602 = volven_system(9602)
VOLVEN_1303 = volven_system(1303)
VOLVEN_8653 = volven_system(8653)
VOLVEN_7210 = volven_system(7210)
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
SUBMISSION_SET = "submissionset"
DOCUMENT_STATUSES = frozenset({"current", "superseded"})
#: small code systems the terminology does not bundle, checked here (HL7 v3
#: Confidentiality: unrestricted, low, moderate, normal, restricted, very restricted)
FIXED_CODES: dict[str, frozenset[str]] = {V3_CONFIDENTIALITY: frozenset("ULMNRV")}


@dataclass(frozen=True)
class CodedElement:
    """A coded element of the DocumentReference and the code systems it is checked in."""

    path: str  # FHIRPath, as the OperationOutcome names it
    concepts: Callable[[dict[str, Any]], list[Any]]
    systems: tuple[str, ...]  # a coding in one of these is required (and checked)
    required: bool
    checked: bool = True  # False: the system is not bundled, any code is accepted


def _at(*keys: str) -> Callable[[dict[str, Any]], list[Any]]:
    """The values at `keys` (lists flattened), for one path of the resource."""

    def get(resource: dict[str, Any]) -> list[Any]:
        values: list[Any] = [resource]
        for key in keys:
            found: list[Any] = []
            for value in values:
                item = value.get(key) if isinstance(value, dict) else None
                found.extend(item if isinstance(item, list) else [] if item is None else [item])
            values = found
        return values

    return get


CODED_ELEMENTS: tuple[CodedElement, ...] = (
    CodedElement("DocumentReference.type", _at("type"), (VOLVEN_9602,), True),
    CodedElement("DocumentReference.category", _at("category"), (VOLVEN_9602,), True),
    CodedElement(
        "DocumentReference.securityLabel",
        _at("securityLabel"),
        (NO_9603, V3_CONFIDENTIALITY),
        True,
    ),
    CodedElement(
        "DocumentReference.context.facilityType",
        _at("context", "facilityType"),
        (VOLVEN_1303,),
        True,
    ),
    CodedElement(
        "DocumentReference.context.practiceSetting",
        _at("context", "practiceSetting"),
        (VOLVEN_8653,),
        True,
    ),
    CodedElement(
        "DocumentReference.context.event", _at("context", "event"), (VOLVEN_7210,), False, False
    ),
)

#: (FHIRPath, getter) of the plain elements MHD Comprehensive requires
REQUIRED_ELEMENTS: tuple[tuple[str, Callable[[dict[str, Any]], list[Any]]], ...] = (
    ("DocumentReference.masterIdentifier", _at("masterIdentifier", "value")),
    ("DocumentReference.subject", _at("subject", "reference")),
    ("DocumentReference.date", _at("date")),
    ("DocumentReference.author", _at("author")),
    ("DocumentReference.content", _at("content", "attachment")),
)


def codings(concept: Any) -> Iterator[tuple[str, str]]:
    """(system, code) of each coding of a CodeableConcept."""
    for coding in (concept.get("coding") if isinstance(concept, dict) else None) or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            yield str(coding.get("system", "")), coding["code"]


def is_submission_set(resource: dict[str, Any] | None) -> bool:
    """Whether a List is an MHD SubmissionSet (`code` = MHDlistTypes#submissionset)."""
    if not resource or resource.get("resourceType") != "List":
        return False
    return (MHD_LIST_TYPES, SUBMISSION_SET) in set(codings(resource.get("code")))


def is_registry_document(resource: dict[str, Any] | None) -> bool:
    """Whether a DocumentReference is held to the registry's metadata rules: every
    DocumentReference written with a 9602 type (or a producer's local type) and a patient.
    DocumentReferences of other services (the patient summary's) are left alone."""
    if not resource or resource.get("resourceType") != "DocumentReference":
        return False
    return not _is_patient_summary(resource)


def _is_patient_summary(resource: dict[str, Any]) -> bool:
    loinc = {code for system, code in codings(resource.get("type")) if system.endswith("loinc.org")}
    return "60591-5" in loinc  # the patient summary's own DocumentReference (IPS)
