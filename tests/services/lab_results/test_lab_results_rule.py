"""The lab-results access rule, pure, with a fixed clock (`decide` with the service's rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from fixtures.lab_results import EXPERTISE, observation, report
from samhandling.auth import ActingFor, Attestation, Principal, ServiceRules, decide, parse_scopes
from samhandling.services.lab_results import load_release_delays, release_delays_from
from samhandling.services.lab_results.access import LabResultAccess
from samhandling.services.lab_results.labels import (
    ACT_REASON,
    BLOCKED,
    QUALITY_ASSURANCE,
    access_coding,
    with_block_labels,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RULES = ServiceRules(access_rules=(LabResultAccess(),))
ME = "self"


def citizen() -> Principal:
    return Principal(
        kind="citizen",
        issuer="https://idporten.test",
        subject="c",
        pid="21908345182",
        security_level=4,
        scopes=parse_scopes("patient/*.rs"),
        acts_for=(ActingFor("21908345182", "self", date(1983, 10, 21), ME),),
    )


def clinician() -> Principal:
    attestation = Attestation(
        purpose_of_use="TREAT", authorization_code="LE", attested_at=NOW - timedelta(minutes=5)
    )
    return Principal(
        kind="clinician",
        issuer="https://helseid.test",
        subject="s",
        pid="12837510110",
        hpr_number="9100001",
        security_level=4,
        attestation=attestation,
        scopes=parse_scopes("user/*.crus"),
    )


def system() -> Principal:
    return Principal(
        kind="system", issuer="https://h.test", subject=None, scopes=parse_scopes("system/*.rs")
    )


def sees(
    principal: Principal, resource: dict, now: datetime = NOW, rules: ServiceRules = RULES
) -> bool:
    found = {**resource, "id": "x"}
    return decide(
        principal, "read", found["resourceType"], resource=found, service_rules=rules, now=now
    ).allowed


def test_routine_chemistry_is_released_to_the_citizen_at_once() -> None:
    assert sees(citizen(), observation(ME, NOW - timedelta(minutes=1)))
    assert sees(citizen(), report(ME, NOW - timedelta(minutes=1)))


def test_pathology_waits_fourteen_days_for_the_citizen_not_for_the_clinician() -> None:
    issued = NOW - timedelta(days=13, hours=23)
    pathology = report(ME, issued, "PAT")
    assert not sees(citizen(), pathology)
    assert sees(clinician(), pathology) and sees(system(), pathology)
    assert sees(citizen(), pathology, now=issued + timedelta(days=14))
    decision = decide(
        citizen(),
        "read",
        "DiagnosticReport",
        resource={**pathology, "id": "x"},
        service_rules=RULES,
        now=NOW,
    )
    assert decision.rule == "lab-results.delay" and decision.conceal  # told 404


def test_the_longest_delay_of_the_categories_and_code_systems_wins() -> None:
    mixed = observation(ME, NOW - timedelta(days=8), expertise="MBIO")
    mixed["category"].append(
        {"coding": [{"system": "http://ehelse.no/fhir/CodeSystem/no-kodeverk-8202", "code": "PAT"}]}
    )
    assert not sees(citizen(), mixed)
    mixed["code"]["coding"] = [
        {"system": "http://ehelse.no/fhir/CodeSystem/no-kodeverk-7010-norpat", "code": "M80003"}
    ]
    mixed["category"] = []
    assert not sees(citizen(), mixed)  # NORPAT codes are pathology: 14 days


def test_a_result_without_a_zoned_issued_time_is_never_released() -> None:
    result = observation(ME, NOW - timedelta(days=400), expertise="PAT")
    del result["issued"]
    assert not sees(citizen(), result)
    result["issued"] = "2020-01-01T10:00:00"  # no time zone
    assert not sees(citizen(), result)


def test_the_delays_are_data() -> None:
    table = {
        "categories": [
            {
                "system": "http://ehelse.no/fhir/CodeSystem/no-kodeverk-8202",
                "code": "CLIN",
                "days": 3,
            }
        ]
    }
    rules = ServiceRules(access_rules=(LabResultAccess(release_delays_from(table)),))
    result = observation(ME, NOW - timedelta(days=2))
    assert sees(citizen(), result) and not sees(citizen(), result, rules=rules)
    with pytest.raises(ValueError):
        release_delays_from({"categories": [{"system": "s", "code": "c", "days": -1}]})


def test_a_blocked_result_is_never_shown_to_the_citizen_but_to_clinicians() -> None:
    coding = access_coding(BLOCKED, "wants to tell in person", "9100001", "2026-05-01T10:00:00Z")
    blocked = with_block_labels(report(ME, NOW - timedelta(days=3000)), [coding])
    assert not sees(citizen(), blocked)
    assert not sees(citizen(), blocked, now=NOW + timedelta(days=10_000))
    assert sees(clinician(), blocked)
    specimen = with_block_labels(
        {"resourceType": "Specimen", "subject": {"reference": f"Patient/{ME}"}}, [coding]
    )
    assert not sees(citizen(), specimen)


def test_quality_assurance_results_are_never_returned_for_care() -> None:
    shared = observation(ME, NOW - timedelta(days=30))
    shared["meta"] = {"security": [{"system": ACT_REASON, "code": QUALITY_ASSURANCE}]}
    assert not sees(clinician(), shared)
    assert sees(system(), shared)  # a quality register's system, acting for no care purpose


def test_other_observations_are_not_lab_results() -> None:
    vital = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{ME}"},
    }
    assert sees(citizen(), vital)  # no issued time needed


def test_the_shipped_table_delays_pathology_fourteen_days_and_chemistry_none() -> None:
    delays = load_release_delays()
    assert delays.categories[(EXPERTISE, "PAT")] == 14
    assert delays.categories[(EXPERTISE, "CLIN")] == 0
    assert delays.code_systems["http://ehelse.no/fhir/CodeSystem/no-kodeverk-7010-norpat"] == 14
