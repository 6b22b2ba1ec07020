"""IHE MHD Folders: provided in ITI-65 (new, and documents added to an existing one), found
by ITI-66; a wrong Folder refuses the whole Bundle. On both databases."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fixtures.critical_information import CITIZEN, World
from fixtures.document_sharing import MHD, created, provide_bundle
from fixtures.fhir_app import FHIR_JSON

LISTS = MHD + "CodeSystem/MHDlistTypes"
SCT = "http://snomed.info/sct"
OTHER_PATIENT = "persona-parent"


def folder(patient: str, items: list[str], code: str = "225728007") -> dict[str, Any]:
    return {
        "resourceType": "List",
        "meta": {"profile": [MHD + "StructureDefinition/IHE.MHD.Comprehensive.Folder"]},
        "extension": [
            {
                "url": MHD + "StructureDefinition/ihe-designationType",
                "valueCodeableConcept": {"coding": [{"system": SCT, "code": code}]},
            }
        ],
        "identifier": [
            {"use": "usual", "system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"}
        ],
        "status": "current",
        "mode": "working",
        "title": "Akuttinnleggelse november 2026",
        "code": {"coding": [{"system": LISTS, "code": "folder"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "date": "2026-11-20T10:05:00+01:00",
        "entry": [{"item": {"reference": item}} for item in items],
    }


def with_new_folder(patient: str = CITIZEN, **changes: Any) -> dict[str, Any]:
    """A Provide Document Bundle whose document is filed in a new Folder."""
    bundle, _ = provide_bundle(patient)
    document_url = bundle["entry"][1]["fullUrl"]
    new_folder = {**folder(patient, [document_url]), **changes}
    folder_url = f"urn:uuid:{uuid.uuid4()}"
    bundle["entry"].append(
        {
            "fullUrl": folder_url,
            "resource": new_folder,
            "request": {"method": "POST", "url": "List"},
        }
    )
    bundle["entry"][0]["resource"]["entry"].append({"item": {"reference": folder_url}})
    return bundle


def post(world: World, bundle: dict[str, Any]) -> Any:
    return world.client.post("/fhir", json=bundle, headers={**FHIR_JSON, **world.as_("system")})


def read(world: World, path: str) -> dict[str, Any]:
    answer = world.client.get(f"/fhir/{path}", headers={**FHIR_JSON, **world.as_("gp")})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def folders_of(world: World, query: str = "") -> set[str]:
    found = read(world, f"List?code={LISTS}|folder&patient={CITIZEN}{query}")
    return {e["resource"]["id"] for e in found.get("entry", []) if e["search"]["mode"] == "match"}


def test_a_folder_is_provided_found_and_added_to(world: World) -> None:
    answer = post(world, with_new_folder())
    assert answer.status_code == 200, answer.text
    first_document = created(answer.json(), "DocumentReference")[0]
    lists = created(answer.json(), "List")
    folder_id = next(i for i in lists if i in folders_of(world))
    stored = read(world, f"List/{folder_id}")
    assert stored["entry"] == [{"item": {"reference": f"DocumentReference/{first_document}"}}]
    assert folder_id in folders_of(world, f"&designationType={SCT}|225728007")
    assert folder_id not in folders_of(world, f"&designationType={SCT}|1")
    submissions = read(world, f"List?code={LISTS}|submissionset&patient={CITIZEN}")
    assert folder_id not in {e["resource"]["id"] for e in submissions.get("entry", [])}

    bundle, _ = provide_bundle(CITIZEN)  # a second document, added to the existing Folder
    grown = copy.deepcopy(stored)
    grown["entry"].append({"item": {"reference": bundle["entry"][1]["fullUrl"]}})
    bundle["entry"].append(
        {"resource": grown, "request": {"method": "PUT", "url": f"List/{folder_id}"}}
    )
    again = post(world, bundle)
    assert again.status_code == 200, again.text
    second_document = created(again.json(), "DocumentReference")[0]
    items = [e["item"]["reference"] for e in read(world, f"List/{folder_id}")["entry"]]
    assert items == [f"DocumentReference/{d}" for d in (first_document, second_document)]


def test_a_folder_only_grows_and_stays_with_its_patient(world: World) -> None:
    answer = post(world, with_new_folder())
    folder_id = next(i for i in created(answer.json(), "List") if i in folders_of(world))
    stored = read(world, f"List/{folder_id}")
    emptied = {k: v for k, v in stored.items() if k != "entry"}
    headers = {**FHIR_JSON, **world.as_("system")}
    refused = world.client.put(f"/fhir/List/{folder_id}", json=emptied, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["issue"][0]["expression"] == ["List.entry"]
    moved = {**stored, "subject": {"reference": f"Patient/{OTHER_PATIENT}"}}
    refused = world.client.put(f"/fhir/List/{folder_id}", json=moved, headers=headers)
    assert refused.status_code in (403, 422), refused.text
    deleted = world.client.delete(f"/fhir/List/{folder_id}", headers=world.as_("system"))
    assert deleted.status_code in (403, 405), deleted.text
    assert len(read(world, f"List/{folder_id}")["entry"]) == 1


def test_a_wrong_folder_refuses_the_whole_bundle(world: World) -> None:
    before = folders_of(world)
    documents_before = read(world, f"DocumentReference?patient={CITIZEN}&_total=accurate")
    untitled = with_new_folder()
    del untitled["entry"][-1]["resource"]["title"]
    answer = post(world, untitled)
    assert answer.status_code == 422, answer.text
    assert "List.title" in str(answer.json())
    stranger = read(world, f"DocumentReference?patient={OTHER_PATIENT}&_count=1")
    if stranger.get("entry"):  # a document of another patient cannot be filed here
        other = stranger["entry"][0]["resource"]["id"]
        wrong = with_new_folder()
        wrong["entry"][-1]["resource"]["entry"].append(
            {"item": {"reference": f"DocumentReference/{other}"}}
        )
        assert post(world, wrong).status_code == 422
    not_a_document = with_new_folder()
    not_a_document["entry"][-1]["resource"]["entry"].append(
        {"item": {"reference": f"Patient/{CITIZEN}"}}
    )
    refused = post(world, not_a_document)
    assert refused.status_code == 422 and "DocumentReferences only" in refused.text
    assert folders_of(world) == before
    documents_after = read(world, f"DocumentReference?patient={CITIZEN}&_total=accurate")
    assert documents_after["total"] == documents_before["total"]
