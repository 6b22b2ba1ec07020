"""Summaries from abroad: checked against IPS, stored as the patient's DocumentReference,
found by the document search, refused with one issue per problem and nothing written."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.fhir_app import FHIR_JSON
from fixtures.shared_data import shared_data_dir
from samhandling.services.patient_summary.received import SOURCE_COUNTRY

URL = f"/fhir/Patient/{CITIZEN}/$receive-summary"
SEARCH = {"patient": CITIZEN, "type": "http://loinc.org|60591-5"}
BORN = "1985-05-05"  # the citizen's birth date: the contact point matched the person


def foreign(name: str = "Bundle-IPS-examples-Bundle-01.json") -> dict[str, Any]:
    """An official IPS example as if received for the citizen."""
    bundle = json.loads((shared_data_dir() / "ips" / name).read_text())
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["birthDate"] = BORN
    return dict(bundle)


def _receive(world: World, bundle: dict[str, Any], persona: str = "gp", **params: str) -> Any:
    headers = {**FHIR_JSON, **world.as_(persona)}
    return world.client.post(URL, json=bundle, params=params, headers=headers)


def _found(world: World, persona: str = "gp") -> list[dict[str, Any]]:
    answer = world.client.get("/fhir/DocumentReference", params=SEARCH, headers=world.as_(persona))
    assert answer.status_code == 200, answer.text
    return [e["resource"] for e in answer.json().get("entry", [])]


def test_a_summary_from_abroad_is_stored_and_found(world: World) -> None:
    bundle = foreign()
    stored = _receive(world, bundle)
    assert stored.status_code == 201, stored.text
    document = stored.json()
    assert document["resourceType"] == "DocumentReference"
    assert document["subject"] == {"reference": f"Patient/{CITIZEN}"}
    assert document["type"]["coding"][0]["code"] == "60591-5"
    [country] = [e for e in document["extension"] if e["url"] == SOURCE_COUNTRY]
    assert country["valueCodeableConcept"]["coding"][0]["code"] == "NL"  # the custodian's
    assert document["masterIdentifier"] == bundle["identifier"]
    [found] = _found(world)
    assert found["id"] == document["id"]
    attached = base64.b64decode(found["content"][0]["attachment"]["data"])
    assert json.loads(attached) == bundle
    assert [d["id"] for d in _found(world, "citizen")] == [document["id"]]  # their own
    again = _receive(world, bundle)
    assert again.status_code == 200 and again.json()["id"] == document["id"]  # kept once


def test_the_country_can_be_named_and_must_be_known(world: World) -> None:
    bundle = foreign("Bundle-bundle-no-info-required-sections.json")  # no custodian address
    refused = _receive(world, bundle)
    assert refused.status_code == 422, refused.text
    assert [i["expression"] for i in refused.json()["issue"]] == [["country"]]
    stored = _receive(world, bundle, country="nz")
    assert stored.status_code == 201, stored.text
    assert stored.json()["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "NZ"


def test_a_broken_summary_is_refused_with_each_problem_named(world: World) -> None:
    bundle = foreign()
    composition = bundle["entry"][0]["resource"]
    composition["section"] = [s for s in composition["section"]
                              if s["code"]["coding"][0]["code"] != "48765-2"]  # fmt: skip
    del bundle["entry"][1]["resource"]["birthDate"]  # the Patient
    refused = _receive(world, bundle)
    assert refused.status_code == 422, refused.text
    where = sorted(i["expression"][0] for i in refused.json()["issue"])
    assert where == [
        "Bundle.entry[0].resource.ofType(Composition).section:sectionAllergies",
        "Bundle.entry[1].resource.ofType(Patient).birthDate",
    ]
    assert _found(world) == []  # nothing written
    not_a_document = copy.deepcopy(foreign())
    not_a_document["type"] = "collection"
    answer = _receive(world, not_a_document)
    assert answer.status_code == 422
    assert "Bundle.type" in [i["expression"][0] for i in answer.json()["issue"]]


def test_a_summary_of_another_person_is_refused(world: World) -> None:
    bundle = foreign()
    patient = bundle["entry"][1]["resource"]
    patient["birthDate"] = "1972-05-01"
    patient["identifier"].append(
        {"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "13116900216"}
    )
    refused = _receive(world, bundle)
    assert refused.status_code == 422, refused.text
    where = sorted(i["expression"][0] for i in refused.json()["issue"])
    assert where == [
        "Bundle.entry[1].resource.ofType(Patient).birthDate",
        "Bundle.entry[1].resource.ofType(Patient).identifier[1].value",
    ]
    assert _found(world) == []


def test_the_same_access_rules_apply(world: World) -> None:
    document = _receive(world, foreign()).json()
    other = world.client.post(
        "/fhir/Patient/persona-parent/$receive-summary",
        json=foreign(), headers={**FHIR_JSON, **world.as_("citizen")},
    )  # fmt: skip
    assert other.status_code == 404, other.text  # a citizen, for somebody else
    stranger = world.as_("parent")  # another citizen (and the parent of a child)
    read = world.client.get(f"/fhir/DocumentReference/{document['id']}", headers=stranger)
    assert read.status_code == 404, read.text
    searched = world.client.get("/fhir/DocumentReference", params=SEARCH, headers=stranger)
    assert searched.status_code in (403, 404) or not searched.json().get("entry")
    assert _receive(world, {"resourceType": "Patient"}).status_code == 400


def test_a_hostile_narrative_is_refused_and_the_refusal_audited(world: World) -> None:
    bundle = foreign()
    bundle["entry"][0]["resource"]["section"][0]["text"]["div"] = (
        '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>'
    )
    refused = _receive(world, bundle)
    assert refused.status_code == 422, refused.text
    [issue] = refused.json()["issue"]
    assert issue["expression"] == [
        "Bundle.entry[0].resource.ofType(Composition).section[0].text.div"
    ]
    assert _found(world) == []
    events = world.client.get(
        "/fhir/AuditEvent", params={"patient": CITIZEN}, headers=world.as_("security-officer")
    ).json()
    outcomes = [
        e["resource"]["outcome"] for e in events.get("entry", [])
        if {"system": "urn:samhandling:operation", "code": "receive-summary"}
        in e["resource"].get("subtype", [])
    ]  # fmt: skip
    assert outcomes == ["4"]  # one record, of a failure, naming the patient
