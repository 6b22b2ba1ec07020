"""Summaries from abroad: an IPS document Bundle received for a patient, checked and kept.

`POST Patient/{id}/$receive-summary` with the Bundle as the body (or a Parameters body with
`resource` and `country`). An operation on the patient, not `POST /Bundle`: the receiver
names which local patient the summary is of (the national contact point identified them),
the policy judges that as a write for that patient, and what is stored is a
DocumentReference (searchable as a document for the patient), not a loose Bundle.

Checked before anything is written, every problem reported at once (422, one issue each,
with its location): the Bundle's structure and the IPS 1.1.0 Bundle profile (and through
it the Composition's and every entry's IPS profile); that it is about the same person (a
Norwegian national ID in it must be the patient's, its birth date must be the patient's);
and where it comes from (`country`, ISO 3166-1 alpha-2 or -3, or the country in the
custodian Organization's address). Stored through `interactions.crud` (the policy, write
rules and audit apply) as a DocumentReference of type LOINC 60591-5 with the Bundle as its
attachment and the source country as an extension; the same Bundle (its identifier) sent
twice for a patient is stored once (200 with the stored one).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from samhandling.fhir.outcome import FhirError, Issue, error
from samhandling.interactions import crud
from samhandling.interactions.operations import OperationContext, OperationResult
from samhandling.interactions.read import read
from samhandling.interactions.resource_input import validation_issues
from samhandling.services.patient_summary import archive
from samhandling.services.patient_summary.ips_shape import IPS
from samhandling.services.patient_summary.rendering import resolve

BUNDLE_PROFILE = IPS + "Bundle-uv-ips"
#: where the summary came from (DocumentReference has no element for it)
SOURCE_COUNTRY = "https://samhandling.no/fhir/StructureDefinition/source-country"
ISO_3166 = "urn:iso:std:iso:3166"
FNR_SYSTEMS = frozenset({"urn:oid:2.16.578.1.12.4.1.4.1", "urn:oid:2.16.578.1.12.4.1.4.2"})
_COUNTRY = re.compile(r"^[A-Z]{2,3}$")


def receive(context: OperationContext, now: datetime) -> OperationResult:
    """Check the received summary and store it as a DocumentReference of the patient."""
    patient_id = str(context.resource_id)
    patient = read(context.connection, "Patient", patient_id, context.guard).resource()
    bundle = context.parameter("resource")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        message = "Send the IPS document Bundle (the body, or the parameter resource)"
        raise FhirError(400, error("required", message, "resource"))
    issues = [i for i in validation_issues(bundle, [BUNDLE_PROFILE]) if _is_error(i)]
    if not issues:  # who it is about needs a well-formed document to read
        issues = same_person(bundle, patient)
    country = source_country(bundle, context.text("country"))
    if country is None:
        message = "Name the country the summary comes from (country, ISO 3166-1)"
        issues.append(error("required", message, "country"))
    if issues:
        raise FhirError(422, issues)
    assert country is not None
    written = crud.create(
        context.writer,
        document_reference(bundle, patient_id, country, now),
        resource_type="DocumentReference",
        if_none_exist=_same_document(bundle, patient_id),
    )
    location = f"{context.base_url}/DocumentReference/{written.version.resource_id}"
    return OperationResult(written.version.resource(), written.status, {"Location": location})


def _is_error(issue: Issue) -> bool:
    return issue.severity in ("error", "fatal")


def same_person(bundle: dict[str, Any], patient: dict[str, Any]) -> list[Issue]:
    """Issues where the summary's Patient cannot be the local patient."""
    composition = bundle["entry"][0]["resource"]
    found = resolve(bundle, composition.get("subject"))
    at = next((i for i, e in enumerate(bundle["entry"]) if e.get("resource") == found), None)
    if not found or at is None:
        return [error("not-found", "The Composition's subject is not in the Bundle",
                      "Bundle.entry[0].resource.ofType(Composition).subject")]  # fmt: skip
    where = f"Bundle.entry[{at}].resource.ofType(Patient)"
    issues = []
    born, ours = found.get("birthDate"), patient.get("birthDate")
    if born and ours and born != ours:
        message = f"The summary's patient was born {born}, this patient {ours}"
        issues.append(error("business-rule", message, f"{where}.birthDate"))
    for index, identifier in enumerate(found.get("identifier") or []):
        value = identifier.get("value")
        if identifier.get("system") in FNR_SYSTEMS and value not in _national_ids(patient):
            message = "The summary's patient has another Norwegian national ID than this patient"
            issues.append(error("business-rule", message, f"{where}.identifier[{index}].value"))
    return issues


def _national_ids(patient: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        str(i.get("value"))
        for i in patient.get("identifier") or []
        if i.get("system") in FNR_SYSTEMS
    )


def source_country(bundle: dict[str, Any], given: str | None) -> str | None:
    """The country the summary comes from: `given`, or the custodian's address country."""
    if given is not None:
        return given.upper() if _COUNTRY.match(given.upper()) else None
    composition = (bundle.get("entry") or [{}])[0].get("resource") or {}
    custodian = resolve(bundle, composition.get("custodian"))
    for address in custodian.get("address") or []:
        country = str(address.get("country") or "").upper()
        if _COUNTRY.match(country):
            return country
    return None


def document_reference(
    bundle: dict[str, Any], patient_id: str, country: str, received: datetime
) -> dict[str, Any]:
    """The DocumentReference that keeps a received summary for the patient."""
    composition = bundle["entry"][0]["resource"]
    custodian = resolve(bundle, composition.get("custodian"))
    found: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "extension": [{
            "url": SOURCE_COUNTRY,
            "valueCodeableConcept": {"coding": [{"system": ISO_3166, "code": country}]},
        }],
        "masterIdentifier": bundle["identifier"],
        "status": "current",
        "docStatus": "final" if composition.get("status") == "final" else "preliminary",
        "type": {"coding": [{"system": "http://loinc.org", "code": "60591-5",
                             "display": "Patient summary Document"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": received.isoformat(timespec="seconds"),
        "description": composition.get("title"),
        "content": [archive.content(bundle, composition.get("date"))],
    }  # fmt: skip
    if custodian.get("name"):
        found["custodian"] = {"display": str(custodian["name"])}
    return found


def _same_document(bundle: dict[str, Any], patient_id: str) -> str:
    identifier = bundle["identifier"]
    token = f"{identifier.get('system', '')}|{identifier.get('value', '')}"
    return urlencode({"identifier": token, "patient": patient_id})
