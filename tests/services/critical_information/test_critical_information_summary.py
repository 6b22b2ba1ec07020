"""The grouped summary, the indicator, $confirm, and what each caller is shown."""

from __future__ import annotations

import copy
from typing import Any

from fixtures.critical_information import (
    ALL_KINDS,
    CITIZEN,
    KJ,
    World,
    drug_reaction,
    entered_in_error,
    food_allergy,
)
from fixtures.fhir_app import FHIR_JSON

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"


def _groups(parameters: dict[str, Any]) -> dict[str, dict[str, Any]]:
    groups = {}
    for parameter in parameters["parameter"]:
        if parameter["name"] == "group":
            parts = parameter["part"]
            kind = next(p["valueCode"] for p in parts if p["name"] == "kind")
            groups[kind] = {
                "count": next(p["valueInteger"] for p in parts if p["name"] == "count"),
                "lastChanged": next(
                    (p["valueInstant"] for p in parts if p["name"] == "lastChanged"), None
                ),
                "entries": [p["resource"] for p in parts if p["name"] == "entry"],
            }
    return groups


def _value(parameters: dict[str, Any], name: str) -> Any:
    found = [p for p in parameters["parameter"] if p["name"] == name]
    return [next(v for k, v in p.items() if k.startswith("value")) for p in found]


def _without_confirmation(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry without its meta and its last-confirmed stamp."""
    kept = [e for e in entry["extension"] if e["url"] != KJ + "kj-last-confirmed"]
    return {k: v for k, v in entry.items() if k != "meta"} | {"extension": kept}


def _register_all(world: World) -> list[dict[str, Any]]:
    created = [world.create("gp", make(CITIZEN)) for make in ALL_KINDS]
    assert all(r.status_code == 201 for r in created), [r.text for r in created]
    return [r.json() for r in created]


def test_summary_groups_every_kind_with_its_last_change(world: World) -> None:
    entries = _register_all(world)
    response = world.client.get(
        f"/fhir/Patient/{CITIZEN}/$critical-information", headers=world.as_("hospital-physician")
    )
    assert response.status_code == 200, response.text
    groups = _groups(response.json())
    assert set(groups) == {
        "allergy",
        "critical-condition",
        "ongoing-treatment",
        "implant",
        "procedural-change",
    }
    for entry in entries:
        (group,) = [
            g for g in groups.values() if g["entries"] and g["entries"][0]["id"] == entry["id"]
        ]
        assert group["count"] == 1 and group["lastChanged"] == entry["meta"]["lastUpdated"]
    assert _value(response.json(), "lastChanged") == [
        max(e["meta"]["lastUpdated"] for e in entries)
    ]
    assert _value(response.json(), "present") == [True]


def test_indicator_counts_without_entries_and_sees_removals(world: World) -> None:
    reaction = world.create("gp", drug_reaction(CITIZEN)).json()
    world.create("gp", food_allergy(CITIZEN))
    url = f"/fhir/Patient/{CITIZEN}/$critical-information-indicator"
    before = world.client.get(url, headers=world.as_("gp")).json()
    assert _groups(before)["allergy"] == {
        "count": 2,
        "lastChanged": _value(before, "lastChanged")[0],
        "entries": [],
    }
    removal = copy.deepcopy(reaction)
    entered_in_error(removal)
    assert world.update("gp", removal).status_code == 200
    after = world.client.get(url, headers=world.as_("gp")).json()
    assert _groups(after)["allergy"]["count"] == 1
    assert _value(after, "lastChanged")[0] > _value(before, "lastChanged")[0]


def test_patient_without_critical_information(world: World) -> None:
    response = world.client.get(
        "/fhir/Patient/persona-parent/$critical-information-indicator", headers=world.as_("gp")
    )
    assert _value(response.json(), "present") == [False]
    assert _value(response.json(), "lastChanged") == []
    assert all(g["count"] == 0 for g in _groups(response.json()).values())


def test_summary_by_national_identifier(world: World) -> None:
    world.create("gp", drug_reaction(CITIZEN))
    response = world.client.get(
        "/fhir/Patient/$critical-information",
        params={"identifier": f"{FNR}|05858540072"},
        headers=world.as_("gp"),
    )
    assert response.status_code == 200, response.text
    assert _groups(response.json())["allergy"]["count"] == 1
    unknown = world.client.get(
        "/fhir/Patient/$critical-information",
        params={"identifier": f"{FNR}|01010112345"},
        headers=world.as_("gp"),
    )
    assert unknown.status_code == 404


def test_pharmacist_sees_drug_reactions_only(world: World) -> None:
    _register_all(world)
    food = world.create("gp", food_allergy(CITIZEN)).json()
    response = world.client.get(
        f"/fhir/Patient/{CITIZEN}/$critical-information", headers=world.as_("pharmacist")
    )
    assert response.status_code == 200, response.text
    groups = _groups(response.json())
    assert list(groups) == ["allergy"]
    assert [e["category"] for e in groups["allergy"]["entries"]] == [["medication"]]
    assert sorted(_value(response.json(), "withheld")) == [
        "critical-condition", "implant", "ongoing-treatment", "procedural-change",
    ]  # fmt: skip
    pharmacist = world.as_("pharmacist")
    assert (
        world.client.get(f"/fhir/AllergyIntolerance/{food['id']}", headers=pharmacist).status_code
        == 403
    )
    assert world.client.get("/fhir/Condition", headers=pharmacist).status_code == 403


def test_citizen_sees_own_entries_but_not_those_entered_in_error(world: World) -> None:
    reaction = world.create("gp", drug_reaction(CITIZEN)).json()
    world.create("gp", food_allergy(CITIZEN))
    citizen = world.as_("citizen")
    url = f"/fhir/Patient/{CITIZEN}/$critical-information"
    assert _groups(world.client.get(url, headers=citizen).json())["allergy"]["count"] == 2
    removal = copy.deepcopy(reaction)
    entered_in_error(removal)
    assert world.update("gp", removal).status_code == 200
    shown = _groups(world.client.get(url, headers=citizen).json())["allergy"]["entries"]
    assert [e["category"] for e in shown] == [["food"]]
    entry_url = f"/fhir/AllergyIntolerance/{reaction['id']}"
    assert world.client.get(entry_url, headers=citizen).status_code == 404
    search = world.client.get("/fhir/AllergyIntolerance", headers=citizen).json()
    assert reaction["id"] not in {e["resource"]["id"] for e in search.get("entry", [])}
    clinician_history = world.client.get(f"{entry_url}/_history", headers=world.as_("gp")).json()
    assert len(clinician_history["entry"]) == 2
    other = world.client.get("/fhir/Patient/persona-parent/$critical-information", headers=citizen)
    assert other.status_code == 404


def test_citizen_cannot_reach_the_earlier_versions_of_an_entry_entered_in_error(
    world: World,
) -> None:
    """Version 1 was correct when written, but the entry is entered in error now: its past
    is hidden from the citizen too (vread, instance, type and system history)."""
    reaction = world.create("gp", drug_reaction(CITIZEN)).json()
    kept = world.create("gp", food_allergy(CITIZEN)).json()
    citizen = world.as_("citizen")
    first = f"/fhir/AllergyIntolerance/{reaction['id']}/_history/1"
    assert world.client.get(first, headers=citizen).status_code == 200
    removal = copy.deepcopy(reaction)
    entered_in_error(removal)
    assert world.update("gp", removal).status_code == 200
    assert world.client.get(first, headers=citizen).status_code == 404
    instance = f"/fhir/AllergyIntolerance/{reaction['id']}/_history"
    assert world.client.get(instance, headers=citizen).status_code == 404
    for url in ("/fhir/AllergyIntolerance/_history", "/fhir/_history"):
        history = world.client.get(url, headers=citizen)
        assert history.status_code == 200, history.text
        ids = {e["resource"]["id"] for e in history.json()["entry"] if "resource" in e}
        assert kept["id"] in ids and reaction["id"] not in ids
    gp = world.as_("gp")
    assert world.client.get(first, headers=gp).status_code == 200  # clinicians keep it
    type_history = world.client.get("/fhir/AllergyIntolerance/_history", headers=gp).json()
    versions = [e["resource"]["meta"]["versionId"] for e in type_history["entry"]
                if e["resource"]["id"] == reaction["id"]]  # fmt: skip
    assert sorted(versions) == ["1", "2"]


def test_confirm_moves_only_the_confirmation(world: World) -> None:
    reaction = world.create("gp", drug_reaction(CITIZEN)).json()
    url = f"/fhir/AllergyIntolerance/{reaction['id']}/$confirm"
    response = world.client.post(url, headers={**FHIR_JSON, **world.as_("hospital-physician")})
    assert response.status_code == 200, response.text
    confirmed = response.json()
    assert confirmed["meta"]["versionId"] == "2" and response.headers["ETag"] == 'W/"2"'
    (stamp,) = [e for e in confirmed["extension"] if e["url"] == KJ + "kj-last-confirmed"]
    assert {"url": "practitionerName", "valueString": "Henrik Sykehuslege"} in stamp["extension"]
    assert _without_confirmation(confirmed) == _without_confirmation(reaction)
    refused = world.client.post(url, headers={**FHIR_JSON, **world.as_("pharmacist")})
    assert refused.status_code == 403


def test_a_parent_reads_the_young_child_s_critical_information(world: World) -> None:
    world.create("gp", drug_reaction("persona-child"))
    response = world.client.get(
        "/fhir/Patient/persona-child/$critical-information", headers=world.as_("parent")
    )
    assert response.status_code == 200, response.text
    assert _groups(response.json())["allergy"]["count"] == 1
