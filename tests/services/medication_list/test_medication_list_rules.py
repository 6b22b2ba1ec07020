"""The access rules as the policy applies them (pure), and the write rule's shape checks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from medlistkit import PATIENT, statement, uuid_of

from fixtures.critical_information import World
from fixtures.fhir_app import FHIR_JSON
from fixtures.policykit import NOW, clinician
from samhandling.auth import ServiceRules, decide
from samhandling.auth.principal import Organisation, Principal
from samhandling.services.medication_list.listing import PAUSED, empty_list, stamp
from samhandling.services.medication_list.rules import PausedList, PharmacistsReadOnly

RULES = ServiceRules(access_rules=(PausedList(), PharmacistsReadOnly()))
HOSPITAL, GP_OFFICE = "991000046", "991000011"


def _at(orgnr: str, authorisation: str = "LE") -> Principal:
    doctor = clinician()
    assert doctor.attestation is not None
    return replace(
        doctor,
        organisation=Organisation(legal_entity=orgnr),
        attestation=replace(doctor.attestation, authorization_code=authorisation),
    )


def _paused_list() -> dict[str, Any]:
    listing = empty_list("p1")
    hospital = _at(HOSPITAL)
    listing["extension"] = [stamp(PAUSED, hospital, "2026-01-01", reason="Innlagt")]
    return listing


def test_a_paused_list_is_written_only_by_the_pausing_organisation() -> None:
    listing = _paused_list()
    for orgnr, allowed in ((HOSPITAL, True), (GP_OFFICE, False)):
        decision = decide(
            _at(orgnr), "update", "List", resource=listing, service_rules=RULES, now=NOW
        )
        assert decision.allowed is allowed
    refused = decide(
        _at(GP_OFFICE), "update", "List", resource=listing, service_rules=RULES, now=NOW
    )
    assert "paused" in refused.reason and "Innlagt" in refused.reason
    read = decide(_at(GP_OFFICE), "read", "List", resource=listing, service_rules=RULES, now=NOW)
    assert read.allowed  # reads show the pause


def test_pharmacists_never_write_the_list_whatever_their_scopes() -> None:
    pharmacist = _at("991000062", "FA1")
    listing = empty_list("p1")
    entry = {**statement(), "meta": {"profile": [
        "https://samhandling.no/fhir/StructureDefinition/pll-medication-statement"]}}  # fmt: skip
    for rtype, resource in (("List", listing), ("MedicationStatement", entry)):
        write = decide(pharmacist, "update", rtype, resource=resource, service_rules=RULES, now=NOW)
        assert not write.allowed and "pharmacists" in write.reason
        read = decide(pharmacist, "read", rtype, resource=resource, service_rules=RULES, now=NOW)
        assert read.allowed


def test_a_system_may_migrate_a_list_only_at_the_patient_s_own_id(world: World) -> None:
    entry = statement()
    entry["id"] = uuid_of(entry)
    entry["meta"] = {"profile": [
        "https://samhandling.no/fhir/StructureDefinition/pll-medication-statement"]}  # fmt: skip
    migrated = world.client.put(
        f"/fhir/MedicationStatement/{entry['id']}", json=entry, headers=FHIR_JSON
    )
    assert migrated.status_code == 201, migrated.text
    second = {**empty_list(PATIENT), "id": "another-list"}
    refused = world.client.put("/fhir/List/another-list", json=second, headers=FHIR_JSON)
    assert refused.status_code == 422
    assert f"List/pll-{PATIENT}" in refused.json()["issue"][0]["diagnostics"]
