"""The audit trail records ITI-65, -66, -67 and -68 in IHE MHD's AuditEvent shapes (read
back through the API), on both databases."""

from __future__ import annotations

import base64
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.document_sharing import created, provide_bundle
from fixtures.fhir_app import FHIR_JSON

IHE = "urn:ihe:event-type-code"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
MHD_LISTS = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"


def trail_of(world: World, transaction: str) -> list[dict[str, Any]]:
    """The citizen's AuditEvents with `transaction` as a subtype, newest first."""
    officer = {**FHIR_JSON, **world.as_("security-officer")}
    query = f"/fhir/AuditEvent?patient=Patient/{CITIZEN}&_count=500"
    answer = world.client.get(query, headers=officer)
    assert answer.status_code == 200, answer.text
    events = [e["resource"] for e in answer.json().get("entry", [])]
    return [e for e in events if {"system": IHE, "code": transaction} in _codes(e["subtype"])]


def _codes(codings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"system": c.get("system"), "code": c.get("code")} for c in codings]


def roles(event: dict[str, Any]) -> set[str]:
    return {
        coding["code"]
        for agent in event["agent"]
        for coding in (agent.get("type") or {}).get("coding", [])
        if coding.get("system") == DCM
    }


def entity(event: dict[str, Any], role: str) -> dict[str, Any]:
    return next(e for e in event["entity"] if e["role"]["code"] == role)


def test_provide_find_and_retrieve_are_audited_in_the_mhd_shapes(world: World) -> None:
    bundle, data = provide_bundle(CITIZEN)
    unique_id = bundle["entry"][0]["resource"]["identifier"][0]["value"]
    answer = world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("system")})
    assert answer.status_code == 200, answer.text
    submission = created(answer.json(), "List")[0]
    binary = created(answer.json(), "Binary")[0]

    provide = next(e for e in trail_of(world, "ITI-65"))
    assert provide["type"]["code"] == "110107" and provide["type"]["system"] == DCM
    assert provide["action"] == "C"
    assert {"110153", "110152"} <= roles(provide)
    job = entity(provide, "20")
    assert job["what"]["reference"].startswith(f"List/{submission}")
    assert job["what"]["identifier"]["value"] == unique_id
    assert entity(provide, "1")["what"]["reference"] == f"Patient/{CITIZEN}"
    assert entity(provide, "1")["type"]["code"] == "1"

    gp = {**FHIR_JSON, **world.as_("gp")}
    search = f"/fhir/DocumentReference?patient={CITIZEN}&status=current"
    assert world.client.get(search, headers=gp).status_code == 200
    find = trail_of(world, "ITI-67")[0]
    assert find["type"]["code"] == "rest" and find["action"] == "E"
    assert {"system": "http://hl7.org/fhir/restful-interaction", "code": "search"} in _codes(
        find["subtype"]
    )
    assert {"110153", "110152"} <= roles(find)
    query = entity(find, "24")
    assert query["type"]["code"] == "2"
    decoded = base64.b64decode(query["query"]).decode()
    assert decoded == query["description"]
    assert f"DocumentReference?patient={CITIZEN}&status=current" in decoded

    lists = f"/fhir/List?code={MHD_LISTS}|submissionset&patient={CITIZEN}"
    assert world.client.get(lists, headers=gp).status_code == 200
    assert (
        "submissionset"
        in base64.b64decode(entity(trail_of(world, "ITI-66")[0], "24")["query"]).decode()
    )

    raw = {"Accept": "application/pdf", **world.as_("gp")}
    retrieved = world.client.get(f"/fhir/Binary/{binary}", headers=raw)
    assert retrieved.status_code == 200 and retrieved.content == data
    retrieve = trail_of(world, "ITI-68")[0]
    assert retrieve["action"] == "R"
    report = entity(retrieve, "3")
    assert report["what"]["reference"].startswith(f"Binary/{binary}")
    assert entity(retrieve, "1")["what"]["reference"] == f"Patient/{CITIZEN}"


def test_other_requests_keep_the_plain_balp_shape(world: World) -> None:
    gp = {**FHIR_JSON, **world.as_("gp")}
    plain = f"/fhir/List?patient={CITIZEN}"
    assert world.client.get(plain, headers=gp).status_code == 200
    officer = {**FHIR_JSON, **world.as_("security-officer")}
    answer = world.client.get("/fhir/AuditEvent?_count=20&_sort=-date", headers=officer)
    events = [e["resource"] for e in answer.json().get("entry", [])]
    list_searches = [
        e for e in events if any("List?" in x.get("description", "") for x in e.get("entity", []))
    ]
    assert list_searches
    assert all(IHE not in str(e["subtype"]) for e in list_searches)
