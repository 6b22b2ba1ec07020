"""Citizens as FHIR resources: a Patient each, for every child a RelatedPerson per parent
(relationship MTH/FTH from HL7 v3 RoleCode, with the parent's national ID), and for a
person who gave someone a power of attorney a RelatedPerson naming the attorney (POWATT)."""

from __future__ import annotations

from typing import Any

from samhandling.demo.people import Person
from samhandling.demo.places import address
from samhandling.identifiers import FNR_SYSTEM

ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARENT_CODES = {"female": ("MTH", "mother"), "male": ("FTH", "father")}


def household_resources(members: list[Person]) -> list[dict[str, Any]]:
    """The Patients of a household, the parent relations of its children and the powers
    of attorney its people gave each other."""
    by_id = {p.id: p for p in members}
    resources = [patient(p) for p in members]
    for person in members:
        for index, parent_id in enumerate(person.parents):
            if parent_id in by_id:
                resources.append(related_person(person, by_id[parent_id], index + 1))
        for index, attorney_id in enumerate(person.attorneys):
            if attorney_id in by_id:
                resources.append(power_of_attorney(person, by_id[attorney_id], index + 1))
    return resources


def patient(person: Person) -> dict[str, Any]:
    """The Patient of one citizen."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": person.id,
        "identifier": [{"use": "official", "system": FNR_SYSTEM, "value": person.fnr}],
        "active": True,
        "name": [{"use": "official", "family": person.family, "given": [person.given]}],
        "gender": person.gender,
        "birthDate": person.birth.isoformat(),
        "address": [address(person.home.kommune, person.home.street)],
    }
    if person.home.gp_role:
        resource["generalPractitioner"] = [{"reference": f"PractitionerRole/{person.home.gp_role}"}]
    if person.nursing_home:
        resource["managingOrganization"] = {"reference": f"Organization/{person.nursing_home}"}
    return resource


def related_person(child: Person, parent: Person, number: int) -> dict[str, Any]:
    """The parent of `child`, as a RelatedPerson in the child's record."""
    code, display = PARENT_CODES[parent.gender]
    return {
        "resourceType": "RelatedPerson",
        "id": f"{child.id}-parent-{number}",
        "identifier": [{"system": FNR_SYSTEM, "value": parent.fnr}],
        "active": True,
        "patient": {"reference": f"Patient/{child.id}"},
        "relationship": [
            {"coding": [{"system": ROLE_CODE, "code": code, "display": display}]},
            {"coding": [{"system": ROLE_CODE, "code": "PRN", "display": "parent"}]},
        ],
        "name": [{"use": "official", "family": parent.family, "given": [parent.given]}],
        "gender": parent.gender,
        "birthDate": parent.birth.isoformat(),
        "address": [address(parent.home.kommune, parent.home.street)],
    }


def power_of_attorney(grantor: Person, attorney: Person, number: int) -> dict[str, Any]:
    """The person `grantor` gave a power of attorney, as a RelatedPerson in the grantor's
    record (v3 RoleCode POWATT): the register the development issuer reads."""
    return {
        "resourceType": "RelatedPerson",
        "id": f"{grantor.id}-attorney-{number}",
        "identifier": [{"system": FNR_SYSTEM, "value": attorney.fnr}],
        "active": True,
        "patient": {"reference": f"Patient/{grantor.id}"},
        "relationship": [
            {"coding": [{"system": ROLE_CODE, "code": "POWATT", "display": "power of attorney"}]}
        ],
        "name": [{"use": "official", "family": attorney.family, "given": [attorney.given]}],
        "gender": attorney.gender,
        "birthDate": attorney.birth.isoformat(),
        "address": [address(attorney.home.kommune, attorney.home.street)],
    }
