"""The demo register as FHIR resources: Organization, Practitioner, PractitionerRole.

Organisations carry their organisation number and/or RESH id and a HER-id, `partOf` the
organisation above them (legal entity → point of care → department) and an address with
the kommune number. Practitioners carry their HPR number and synthetic national ID, and
their authorisation (code system 9060) as a qualification; a PractitionerRole places each
at one organisation.
"""

from __future__ import annotations

from typing import Any

from samhandling.demo.places import address
from samhandling.demo.register_model import (
    AUTHORIZATIONS,
    ROLE_OF_AUTHORIZATION,
    Clinician,
    Org,
    Register,
)
from samhandling.identifiers import (
    FNR_SYSTEM,
    HER_ID_SYSTEM,
    HPR_SYSTEM,
    ORGANISATION_NUMBER_SYSTEM,
    RESH_SYSTEM,
)

AUTHORIZATION_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.9060"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
KIND_TYPE = {"kommune": "govt", "avdeling": "dept", "leverandor": "bus", "integrasjon": "bus"}
KIND_TEXT = {
    "kommune": "Kommune",
    "sykehjem": "Sykehjem",
    "hjemmetjeneste": "Hjemmetjeneste",
    "legevakt": "Legevakt",
    "legekontor": "Legekontor (fastlege)",
    "apotek": "Apotek",
    "hf": "Helseforetak",
    "sykehus": "Sykehus",
    "avdeling": "Avdeling",
    "leverandor": "Leverandør av journalsystem",
    "integrasjon": "Integrasjonstjeneste",
}


def register_resources(register: Register) -> list[dict[str, Any]]:
    """Every register resource, organisations first."""
    resources = [organization(o) for o in register.organisations]
    for clinician in register.clinicians:
        resources.append(practitioner(clinician))
        resources.append(practitioner_role(clinician, register.org(clinician.org_id)))
    return resources


def organization(org: Org) -> dict[str, Any]:
    """The Organization of one register entry."""
    identifiers = []
    if org.orgnr:
        identifiers.append({"system": ORGANISATION_NUMBER_SYSTEM, "value": org.orgnr})
    if org.resh:
        identifiers.append({"system": RESH_SYSTEM, "value": org.resh})
    identifiers.append({"system": HER_ID_SYSTEM, "value": org.her_id})
    code = KIND_TYPE.get(org.kind, "prov")
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": org.id,
        "identifier": identifiers,
        "active": True,
        "type": [
            {"coding": [{"system": ORGANIZATION_TYPE, "code": code}], "text": KIND_TEXT[org.kind]}
        ],
        "name": org.name,
        "address": [address(org.kommune, org.street, use="work")],
    }
    if org.part_of:
        resource["partOf"] = {"reference": f"Organization/{org.part_of}"}
    return resource


def practitioner(clinician: Clinician) -> dict[str, Any]:
    """The Practitioner of one clinician, with the authorisation as a qualification."""
    code = clinician.authorization
    return {
        "resourceType": "Practitioner",
        "id": clinician.id,
        "identifier": [
            {"system": HPR_SYSTEM, "value": clinician.hpr},
            {"system": FNR_SYSTEM, "value": clinician.fnr},
        ],
        "active": True,
        "name": [{"use": "official", "family": clinician.family, "given": [clinician.given]}],
        "gender": clinician.gender,
        "qualification": [
            {
                "identifier": [{"system": HPR_SYSTEM, "value": clinician.hpr}],
                "code": {
                    "coding": [
                        {
                            "system": AUTHORIZATION_SYSTEM,
                            "code": code,
                            "display": AUTHORIZATIONS[code],
                        }
                    ]
                },
            }
        ],
    }


def practitioner_role(clinician: Clinician, org: Org) -> dict[str, Any]:
    """Where the clinician works, and as what."""
    role = ROLE_OF_AUTHORIZATION[clinician.authorization]
    return {
        "resourceType": "PractitionerRole",
        "id": clinician.role_id,
        "active": True,
        "practitioner": {
            "reference": f"Practitioner/{clinician.id}",
            "display": f"{clinician.given} {clinician.family}",
        },
        "organization": {"reference": f"Organization/{org.id}", "display": org.name},
        "code": [{"coding": [{"system": PRACTITIONER_ROLE, "code": role}]}],
    }


def transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A transaction Bundle that PUTs every resource at its id (re-loading is harmless)."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }
