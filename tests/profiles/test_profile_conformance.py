"""The profile checker against the shipped Kj StructureDefinitions, without a database."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from samhandling.profiles import PROFILE_BASE, profile_issues, shipped_profiles
from samhandling.profiles.conformance import contains

ATC = "http://www.whocc.no/atc"
SOURCE = {
    "url": PROFILE_BASE + "kj-information-source",
    "valueCodeableConcept": {
        "coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7498", "code": "3"}]
    },
}


def reaction() -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "meta": {"profile": [PROFILE_BASE + "kj-allergy-intolerance"]},
        "extension": [copy.deepcopy(SOURCE)],
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "category": ["medication"],
        "code": {"coding": [{"system": ATC, "code": "J01CE02"}]},
        "patient": {"reference": "Patient/p"},
        "reaction": [
            {
                "manifestation": [
                    {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7497", "code": "1"}]}
                ]
            }
        ],
    }


def messages(resource: dict[str, Any]) -> list[str]:
    return [issue.diagnostics for issue in profile_issues(resource)]


def test_every_shipped_definition_loads_and_kj_profiles_cover_five_types() -> None:
    profiles = shipped_profiles()
    kj = {p.type for p in profiles.values() if p.kind == "resource" and "/kj-" in p.url}
    assert kj == {"AllergyIntolerance", "Condition", "Procedure", "DeviceUseStatement", "Flag"}
    pll = {p.type for p in profiles.values() if p.kind == "resource" and "/pll-" in p.url}
    assert pll == {"List", "MedicationStatement"}  # the medication list's
    assert all(p.definition["fhirVersion"] == "4.0.1" for p in profiles.values())


def test_a_conformant_entry_has_no_issues() -> None:
    assert messages(reaction()) == []


def test_profiles_of_others_are_claims_left_alone_but_unknown_own_ones_are_errors() -> None:
    us_core = {
        "resourceType": "Patient",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
    }
    assert messages(us_core) == []
    unknown = {"resourceType": "Patient", "meta": {"profile": [PROFILE_BASE + "kj-nothing"]}}
    assert "Unknown profile" in messages(unknown)[0]
    wrong_type = {"resourceType": "Patient", "meta": {"profile": [PROFILE_BASE + "kj-flag"]}}
    assert "constrains Flag" in messages(wrong_type)[0]


def test_required_extension_slice_by_url() -> None:
    entry = reaction()
    entry["extension"][0]["url"] = PROFILE_BASE + "kj-valid-until"
    found = messages(entry)
    assert any("source of the information" in m for m in found)  # the slice is missing
    assert any("must be of type dateTime" in m for m in found)  # and valid-until is mistyped


def test_binding_needs_one_coding_in_the_value_set_and_no_wrong_one() -> None:
    entry = reaction()
    entry["code"]["coding"] = [{"system": "http://example.org/local", "code": "PEN"}]
    assert any("has no coding from" in m for m in messages(entry))
    entry["code"]["coding"].append({"system": ATC, "code": "J01CE02"})
    assert messages(entry) == []  # a local coding beside a national one is fine
    entry["code"]["coding"].append({"system": ATC, "code": "J1"})
    assert len(messages(entry)) == 1  # a malformed ATC code never is


def test_nested_complex_extension_parts_are_checked() -> None:
    entry = reaction()
    entry["extension"].append(
        {
            "url": PROFILE_BASE + "kj-registered",
            "extension": [{"url": "practitionerName", "valueString": "X"}],
        }
    )
    assert any("time" in m for m in messages(entry))  # time is 1..1 in the stamp


def test_pattern_matching_is_containment() -> None:
    pattern = {"coding": [{"system": "s", "code": "5"}]}
    assert contains(
        {
            "coding": [{"system": "x", "code": "1"}, {"system": "s", "code": "5", "display": "d"}],
            "text": "t",
        },
        pattern,
    )
    assert not contains({"coding": [{"system": "s", "code": "6"}]}, pattern)
    assert not contains("5", pattern)


@pytest.mark.parametrize("count", [0, 2])
def test_cardinality_of_category(count: int) -> None:
    entry = reaction()
    entry["category"] = ["medication", "food"][:count]
    if not entry["category"]:
        del entry["category"]
    assert len(messages(entry)) == 1
