"""Builders of principals and resources for the policy tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from samhandling.auth import (
    ActingFor,
    Attestation,
    GrantStanding,
    PatientRef,
    Principal,
    parse_scopes,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
# Represented persons' Patient ids and birth dates relative to NOW
SELF, CHILD11, CHILD13, CHILD16, POA, WARD, OTHER = (
    "self",
    "child11",
    "child13",
    "child16",
    "poa",
    "ward",
    "other",
)


#: the register of powers of attorney confirmed the grant for this request
CURRENT_GRANT = GrantStanding(None)


def clinician(
    scopes: str = "user/*.crus",
    purpose: str | None = "TREAT",
    minutes: int = 5,
    reason: str | None = None,
    *,
    attested: bool = True,
    level: int = 4,
    patients: tuple[PatientRef, ...] = (),
    launch: str | None = None,
) -> Principal:
    att = Attestation(
        purpose_of_use=purpose,
        reason=reason,
        authorization_code="LE",
        attested_at=NOW - timedelta(minutes=minutes),
        patients=patients,
    )
    return Principal(
        kind="clinician",
        issuer="https://helseid.test",
        subject="s",
        pid="12837510110",
        hpr_number="9100001",
        security_level=level,
        attestation=att if attested else None,
        scopes=parse_scopes(scopes),
        launch_patient=launch,
    )


PHARMACIST = clinician(
    "user/Patient.rs user/MedicationStatement.rs user/MedicationDispense.crus "
    "user/AllergyIntolerance.rs user/Medication.rs"
)


def citizen(scopes: str = "patient/*.rs", level: int = 4, *, resolved: bool = True) -> Principal:
    acts = (
        ActingFor("21908345182", "self", date(1983, 10, 21), SELF),
        ActingFor("07851950170", "parent", date(2014, 1, 1), CHILD11),
        ActingFor("14851252038", "parent", date(2012, 1, 1), CHILD13),
        ActingFor("03980954055", "parent", date(2009, 1, 1), CHILD16),
        ActingFor("22891056080", "power-of-attorney", date(1940, 2, 2), POA, CURRENT_GRANT),
        ActingFor("22891056081", "guardian", None, WARD),
    )
    if not resolved:
        acts = tuple(replace(a, patient_id=None) for a in acts)
    return Principal(
        kind="citizen",
        issuer="https://idporten.test",
        subject="c",
        pid="21908345182",
        security_level=level,
        scopes=parse_scopes(scopes),
        acts_for=acts,
    )


def teen(birth: date = date(2012, 1, 1)) -> Principal:
    """A young citizen acting for themselves."""
    return Principal(
        kind="citizen",
        issuer="https://idporten.test",
        subject="t",
        pid="14851252038",
        security_level=4,
        scopes=parse_scopes("patient/*.rs"),
        acts_for=(ActingFor("14851252038", "self", birth, CHILD13),),
    )


def system(scopes: str = "system/*.cruds") -> Principal:
    return Principal(
        kind="system", issuer="https://helseid.test", subject=None, scopes=parse_scopes(scopes)
    )


def res(
    rtype: str = "Observation", patient: str | None = SELF, *labels: tuple[str, str], **extra: Any
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": rtype, "id": "r1", **extra}
    if patient is not None:
        field_name = "patient" if rtype in ("AllergyIntolerance", "Consent") else "subject"
        resource[field_name] = {"reference": f"Patient/{patient}"}
    if labels:
        resource["meta"] = {"security": [{"system": s, "code": c} for s, c in labels]}
    return resource
