"""Writing critical information: profiles, stamps, versions, immutable identity, no deletes."""

from __future__ import annotations

import copy

import pytest

from fixtures.critical_information import (
    ALL_KINDS,
    CITIZEN,
    KJ,
    World,
    coding,
    critical_condition,
    drug_reaction,
    entered_in_error,
    implant,
    information_source,
    volven,
)
from fixtures.fhir_app import FHIR_JSON


def _stamp(entry: dict, name: str) -> dict[str, object]:
    (found,) = [e for e in entry["extension"] if e["url"] == KJ + name]
    return {
        part["url"]: next(v for k, v in part.items() if k != "url") for part in found["extension"]
    }


@pytest.mark.parametrize("make", ALL_KINDS, ids=lambda f: f.__name__)
def test_each_kind_is_registered_with_server_stamps(world: World, make) -> None:
    response = world.create("gp", make(CITIZEN))
    assert response.status_code == 201, response.text
    stored = response.json()
    registered = _stamp(stored, "kj-registered")
    assert registered["practitioner"] == {
        "system": "urn:oid:2.16.578.1.12.4.1.4.4",
        "value": "9100001",
    }
    assert registered["organization"]["value"] == "991000011"
    assert registered["system"] == "Fjordbyen EPJ"
    assert registered["authorization"]["code"] == "LE"
    assert _stamp(stored, "kj-last-updated")["time"] == registered["time"]


def test_forged_stamps_are_replaced_by_the_token_s_caller(world: World) -> None:
    entry = drug_reaction(CITIZEN)
    forged = {"url": KJ + "kj-registered", "extension": [
        {"url": "practitionerName", "valueString": "Dr. Forged"},
        {"url": "time", "valueDateTime": "2001-01-01T00:00:00Z"},
    ]}  # fmt: skip
    entry["extension"].append(forged)
    stored = world.create("gp", entry).json()
    registered = _stamp(stored, "kj-registered")
    assert registered["practitionerName"] == "Gro Fastlege"
    assert registered["time"] != "2001-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e.pop("extension"), "informationSource"),
        (lambda e: e["code"]["coding"][0].__setitem__("code", "J01X9"), "ATC"),
        (
            lambda e: e["reaction"][0]["manifestation"][0]["coding"][0].__setitem__("code", "99"),
            "7497",
        ),
        (lambda e: e.__setitem__("category", ["medication", "food"]), "at most 1"),
        (lambda e: e["extension"].__setitem__(0, information_source("42")), "7498"),
    ],
    ids=["no-source", "bad-atc", "bad-reaction", "two-categories", "bad-source"],
)
def test_profile_violations_are_422(world: World, change, expected: str) -> None:
    entry = drug_reaction(CITIZEN)
    change(entry)
    response = world.create("gp", entry)
    assert response.status_code == 422, response.text
    diagnostics = " ".join(i["diagnostics"] for i in response.json()["issue"])
    assert expected in diagnostics
    assert world.client.get("/fhir/AllergyIntolerance").json().get("total", 0) == 0


def test_snomed_check_digit_and_condition_category_are_checked(world: World) -> None:
    bad_digit = world.create("gp", critical_condition(CITIZEN, snomed="84757008"))
    assert bad_digit.status_code == 422
    assert "Verhoeff" in bad_digit.text
    wrong_category = critical_condition(CITIZEN)
    wrong_category["category"] = [{"coding": [coding(volven(7651), "6")]}]
    assert world.create("gp", wrong_category).status_code == 422


def test_implant_must_refer_to_its_contained_device_with_an_implant_type(world: World) -> None:
    elsewhere = implant(CITIZEN)
    elsewhere["device"] = {"reference": "Device/somewhere"}
    assert world.create("gp", elsewhere).status_code == 422
    unknown_type = implant(CITIZEN, device_type="99")
    response = world.create("gp", unknown_type)
    assert response.status_code == 422
    assert "kj-implant" in response.text


def test_update_must_name_the_current_version(world: World) -> None:
    stored = world.create("gp", drug_reaction(CITIZEN)).json()
    change = copy.deepcopy(stored)
    change["criticality"] = "low"
    del change["meta"]["versionId"]
    unnamed = world.update("hospital-physician", change)
    assert unnamed.status_code == 412
    assert unnamed.headers["ETag"] == 'W/"1"'
    assert "current version is 1" in unnamed.json()["issue"][0]["diagnostics"]
    stale = world.update("hospital-physician", change, **{"If-Match": 'W/"7"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == 'W/"1"'
    change["meta"]["versionId"] = "1"
    accepted = world.update("hospital-physician", change)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["meta"]["versionId"] == "2"
    assert _stamp(body, "kj-registered")["practitionerName"] == "Gro Fastlege"
    assert _stamp(body, "kj-last-updated")["practitionerName"] == "Henrik Sykehuslege"
    again = world.update("gp", {**change, "criticality": "high"}, **{"If-Match": 'W/"1"'})
    assert again.status_code == 412  # version 1 is no longer current


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.__setitem__("code", {"coding": [coding("http://www.whocc.no/atc", "J01CA04")]}),
        lambda e: e.__setitem__("category", ["food"]),
        lambda e: e["meta"].pop("profile"),
    ],
    ids=["code", "category", "profile"],
)
def test_what_an_entry_is_cannot_change(world: World, change) -> None:
    stored = world.create("gp", drug_reaction(CITIZEN)).json()
    change(stored)
    response = world.update("gp", stored)
    assert response.status_code == 422, response.text
    current = world.client.get(f"/fhir/AllergyIntolerance/{stored['id']}").json()
    assert current["meta"]["versionId"] == "1"


def test_delete_is_refused_and_entered_in_error_needs_a_reason(world: World) -> None:
    stored = world.create("gp", drug_reaction(CITIZEN)).json()
    url = f"/fhir/AllergyIntolerance/{stored['id']}"
    refused = world.client.delete(url, headers=world.as_("gp"))
    assert refused.status_code == 405
    assert "entered-in-error" in refused.text
    assert world.client.get(url).status_code == 200
    removal = copy.deepcopy(stored)
    entered_in_error(removal)
    without_reason = copy.deepcopy(removal)
    without_reason["extension"] = [
        e for e in removal["extension"] if "error-reason" not in e["url"]
    ]
    assert world.update("gp", without_reason).status_code == 422
    assert world.update("gp", removal).status_code == 200
    removal["meta"]["versionId"] = "2"
    removal["criticality"] = "low"
    final = world.update("gp", removal)
    assert final.status_code == 422 and "cannot be changed" in final.text
    history = world.client.get(f"{url}/_history").json()
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]


@pytest.mark.parametrize(
    ("persona", "claims"),
    [
        ("system", {}),
        ("citizen", {}),
        ("gp", {"purpose": "BTG", "reason": "bevisstløs pasient"}),
        ("pharmacist", {}),
    ],
    ids=["system", "citizen", "btg", "pharmacist"],
)
def test_only_treating_clinicians_write(world: World, persona: str, claims: dict) -> None:
    response = world.create(persona, drug_reaction(CITIZEN), **claims)
    assert response.status_code == 403, response.text
    assert world.client.get("/fhir/AllergyIntolerance").json().get("total", 0) == 0


def test_a_transaction_entry_obeys_the_same_rules(world: World) -> None:
    stored = world.create("gp", drug_reaction(CITIZEN)).json()
    del stored["meta"]
    stored["meta"] = {"profile": [KJ + "kj-allergy-intolerance"]}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": critical_condition(CITIZEN),
                "request": {"method": "POST", "url": "Condition"},
            },
            {
                "resource": stored,
                "request": {"method": "PUT", "url": f"AllergyIntolerance/{stored['id']}"},
            },
        ],
    }
    response = world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("gp")})
    assert response.status_code == 412, response.text
    assert world.client.get("/fhir/Condition").json().get("total", 0) == 0


def test_patch_needs_if_match(world: World) -> None:
    stored = world.create("gp", drug_reaction(CITIZEN)).json()
    url = f"/fhir/AllergyIntolerance/{stored['id']}"
    operations = [{"op": "replace", "path": "/criticality", "value": "low"}]
    headers = {"Content-Type": "application/json-patch+json", **world.as_("gp")}
    blind = world.client.patch(url, json=operations, headers=headers)
    assert blind.status_code == 412, blind.text  # the body's versionId is the server's own
    named = world.client.patch(url, json=operations, headers={**headers, "If-Match": 'W/"1"'})
    assert named.status_code == 200, named.text
    assert named.json()["criticality"] == "low"
    forbidden = [{"op": "replace", "path": "/code/coding/0/code", "value": "J01CA04"}]
    changed = world.client.patch(url, json=forbidden, headers={**headers, "If-Match": 'W/"2"'})
    assert changed.status_code == 422


def test_the_authorisation_must_be_the_registered_one(world: World) -> None:
    from fixtures.fhir_app import app_settings
    from samhandling.auth import DevIssuer
    from samhandling.auth.dev.personas import persona

    issuer = DevIssuer(world.data_dir, app_settings("", world.data_dir).dev_issuer_url)
    claims = issuer.claims_for(
        persona("gp"), patient_fnr=None, purpose=None, dpop_jkt=None, lifetime=600,
        reason=None, scopes=None, authorization_details=None, client_id=None,
    )  # fmt: skip
    attestation = dict(claims["nhn:tillitsrammeverk:parameters"])
    attestation["practitioner"] = {
        **attestation["practitioner"],
        "authorization": {**attestation["practitioner"]["authorization"], "code": "SP"},
    }
    response = world.create("gp", drug_reaction(CITIZEN), authorization_details=attestation)
    assert response.status_code == 403, response.text
    assert "does not hold the authorisation SP" in response.json()["issue"][0]["diagnostics"]
