"""Which searches the gateway passes on to its peers, and for whom (deny by default)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from samhandling.auth import ActingFor, Attestation, PatientRef, Principal, parse_scopes
from samhandling.auth.principal import Organisation
from samhandling.fhir.outcome import FhirError
from samhandling.interactions.policy_guard import PolicyGuard
from samhandling.services.document_federation.asking import (
    Asking,
    NotAsked,
    asking,
    visible_to,
)
from samhandling.services.document_federation.peer_tokens import consumer_attestation
from samhandling.services.search_federation import FEDERATION_HEADER, FederatedQuery

FNR = "05858540072"
BY_PATIENT = ("patient.identifier", f"urn:oid:2.16.578.1.12.4.1.4.1|{FNR}")
LABELS = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


def clinician(
    scopes: str = "user/*.crus", purpose: str = "TREAT", patients: tuple[str, ...] = ()
) -> Principal:
    attestation = Attestation(
        purpose_of_use=purpose,
        reason="akutt" if purpose in ("ETREAT", "BTG") else None,
        authorization_code="LE",
        attested_at=datetime.now(UTC),
        patients=tuple(PatientRef(pid, patient_id=f"p-{pid}") for pid in patients),
        healthcare_service="S03",
    )
    return Principal(
        kind="clinician",
        issuer="https://helseid.test",
        subject="s",
        pid="12837510110",
        hpr_number="9100001",
        security_level=4,
        attestation=attestation,
        organisation=Organisation(legal_entity="991000011", point_of_care="991000011"),
        scopes=parse_scopes(scopes),
    )


def citizen() -> Principal:
    return Principal(
        kind="citizen",
        issuer="https://idporten.test",
        subject="c",
        pid=FNR,
        security_level=4,
        scopes=parse_scopes("patient/*.rs"),
        acts_for=(ActingFor(FNR, "self", None, "p1"),),
    )


def system() -> Principal:
    return Principal(
        kind="system",
        issuer="https://helseid.test",
        subject=None,
        scopes=parse_scopes("system/*.rs"),
    )


def query(
    principal: Principal,
    *items: tuple[str, str],
    rtype: str = "DocumentReference",
    headers: dict[str, str] | None = None,
    compartment: tuple[str, str] | None = None,
) -> FederatedQuery:
    return FederatedQuery(
        rtype, list(items), PolicyGuard(principal), headers or {}, compartment=compartment
    )


def test_a_clinicians_search_by_national_id_is_passed_on_without_paging() -> None:
    plan = asking(query(clinician(), BY_PATIENT, ("status", "current"), ("_format", "json")))
    assert isinstance(plan, Asking)
    assert plan.params == [BY_PATIENT, ("status", "current")]


def test_find_document_lists_is_passed_on_but_no_other_list_search() -> None:
    mhd = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
    for code in ("submissionset", "folder"):
        plan = asking(query(clinician(), BY_PATIENT, ("code", f"{mhd}|{code}"), rtype="List"))
        assert isinstance(plan, Asking) and plan.resource_type == "List"
    for items in ([BY_PATIENT], [BY_PATIENT, ("code", "http://loinc.org|10160-0")]):
        plan = asking(query(clinician(), *items, rtype="List"))
        assert isinstance(plan, NotAsked) and plan.reason is None


def test_a_system_is_federated_too() -> None:
    assert isinstance(asking(query(system(), BY_PATIENT)), Asking)


@pytest.mark.parametrize(
    "items,rtype,headers,compartment",
    [
        ([BY_PATIENT], "Observation", None, None),  # another type
        ([BY_PATIENT], "DocumentReference", {FEDERATION_HEADER.lower(): "1"}, None),  # a peer's
        ([BY_PATIENT, ("_snapshot", "7")], "DocumentReference", None, None),  # a later page
        ([BY_PATIENT], "DocumentReference", None, ("Patient", "p1")),  # a compartment search
    ],
)
def test_silently_local(
    items: list[tuple[str, str]],
    rtype: str,
    headers: dict[str, str] | None,
    compartment: tuple[str, str] | None,
) -> None:
    plan = asking(query(clinician(), *items, rtype=rtype, headers=headers, compartment=compartment))
    assert isinstance(plan, NotAsked) and plan.reason is None


@pytest.mark.parametrize(
    "items",
    [
        [("patient", "Patient/1")],
        [("patient.identifier", "urn:oid:2.16.578.1.12.4.1.4.1|123")],
        [("patient.identifier", f"urn:oid:other|{FNR}")],
        [BY_PATIENT, BY_PATIENT],
        [("patient.identifier", f"urn:oid:2.16.578.1.12.4.1.4.1|{FNR},{FNR}")],
    ],
)
def test_not_asked_without_one_national_id_and_the_answer_says_so(
    items: list[tuple[str, str]],
) -> None:
    plan = asking(query(clinician(), *items))
    assert isinstance(plan, NotAsked) and plan.reason and "patient.identifier" in plan.reason
    bundle = asyncio.run(plan.merged({"resourceType": "Bundle", "entry": []}))
    issue = bundle["entry"][0]["resource"]["issue"][0]
    assert bundle["entry"][0]["search"] == {"mode": "outcome"}
    assert issue["diagnostics"].startswith("Other areas were not asked")


def test_citizens_are_not_federated_and_are_told() -> None:
    plan = asking(query(citizen(), BY_PATIENT))
    assert isinstance(plan, NotAsked) and plan.reason and "citizens" in plan.reason


def test_a_clinician_attested_for_another_patient_is_not_federated() -> None:
    plan = asking(query(clinician(patients=("12837510110",)), BY_PATIENT))
    assert isinstance(plan, NotAsked) and plan.reason and "attestation" in plan.reason
    assert isinstance(asking(query(clinician(patients=(FNR,)), BY_PATIENT)), Asking)


def test_a_consumer_the_policy_refuses_hears_403_before_any_peer_is_asked() -> None:
    with pytest.raises(FhirError) as refused:
        asking(query(clinician(scopes="user/Observation.rs"), BY_PATIENT))
    assert refused.value.status == 403


def test_the_consumers_purpose_of_use_travels_as_a_trust_framework_attestation() -> None:
    details: dict[str, Any] | None = consumer_attestation(clinician(purpose="ETREAT"))
    assert details is not None
    assert details["type"] == "nhn:tillitsrammeverk:parameters"
    assert details["care_relationship"]["purpose_of_use"]["code"] == "ETREAT"
    assert details["care_relationship"]["purpose_of_use_details"] == {"text": "akutt"}
    assert details["practitioner"]["legal_entity"]["id"] == "991000011"
    assert "12837510110" not in repr(details)  # the clinician's national ID stays home
    assert consumer_attestation(system()) is None


def test_the_gateway_judges_remote_labels_for_the_consumer() -> None:
    restricted = {"resourceType": "DocumentReference", "id": "1"}
    restricted["meta"] = {"security": [{"system": LABELS, "code": "R"}]}
    very = {"resourceType": "DocumentReference", "id": "2"}
    very["meta"] = {"security": [{"system": LABELS, "code": "V"}]}
    assert visible_to(clinician(purpose="TREAT"), restricted)
    assert not visible_to(clinician(purpose="COC"), restricted)
    assert not visible_to(clinician(purpose="TREAT"), very)
    assert visible_to(clinician(purpose="BTG"), very)
    assert not visible_to(system(), very)
