"""One person, one record through the API: the demo citizen's number cannot be taken over."""

from __future__ import annotations

from typing import Any

from fixtures.critical_information import CITIZEN, World, drug_reaction
from fixtures.fhir_app import FHIR_JSON
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

CITIZEN_FNR = "05858540072"
MALE_1990 = "04839013308"  # synthetic FNR: born 1990-03-04, male


def _patient(number: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": number}]}


def test_duplicate_of_the_citizen_is_409_and_the_indicator_still_answers(world: World) -> None:
    response = world.client.post("/fhir/Patient", json=_patient(CITIZEN_FNR), headers=FHIR_JSON)
    assert response.status_code == 409, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert f"Patient/{CITIZEN}" in outcome["issue"][0]["diagnostics"]
    url = f"/fhir/Patient/$critical-information-indicator?identifier={FNR_SYSTEM}|{CITIZEN_FNR}"
    assert world.client.get(url, headers=world.as_("gp")).status_code == 200
    own = world.client.get(f"/fhir/Patient/{CITIZEN}", headers=world.as_("citizen"))
    assert own.status_code == 200


def test_post_with_search_parameters_is_a_conditional_create(world: World) -> None:
    url = f"/fhir/Patient?identifier={FNR_SYSTEM}|{CITIZEN_FNR}"
    found = world.client.post(url, json=_patient(CITIZEN_FNR), headers=FHIR_JSON)
    assert found.status_code == 200, found.text
    assert found.json()["id"] == CITIZEN
    other = {**FHIR_JSON, "If-None-Exist": f"identifier={FNR_SYSTEM}|{MALE_1990}"}
    assert world.client.post(url, json=_patient(CITIZEN_FNR), headers=other).status_code == 400
    new = world.client.post(
        f"/fhir/Patient?identifier={FNR_SYSTEM}|{MALE_1990}", json=_patient(MALE_1990),
        headers=FHIR_JSON,
    )  # fmt: skip
    assert new.status_code == 201, new.text


def test_bundle_post_url_with_query_is_a_conditional_create(world: World) -> None:
    entry = {
        "resource": _patient(CITIZEN_FNR),
        "request": {"method": "POST", "url": f"Patient?identifier={FNR_SYSTEM}|{CITIZEN_FNR}"},
    }
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    response = world.client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert response.json()["entry"][0]["response"]["location"].startswith(f"Patient/{CITIZEN}/")


def test_contradicting_number_is_a_warning_on_write(world: World) -> None:
    body = {**_patient(MALE_1990), "gender": "female", "birthDate": "1990-03-05"}
    headers = {**FHIR_JSON, "Prefer": "return=OperationOutcome"}
    response = world.client.post("/fhir/Patient", json=body, headers=headers)
    assert response.status_code == 201, response.text
    warnings = [i for i in response.json()["issue"] if i["severity"] == "warning"]
    assert len(warnings) == 2
    assert "1990-03-04" in warnings[0]["diagnostics"] and MALE_1990 not in str(warnings)
    agreeing = {
        "resource": {**_patient("01828095648"), "gender": "female", "birthDate": "1980-02-01"},
        "request": {"method": "POST", "url": "Patient"},
    }
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [agreeing]}
    answered = world.client.post("/fhir", json=batch, headers=FHIR_JSON).json()
    assert "outcome" not in answered["entry"][0]["response"]


def test_batch_entry_response_carries_the_warning(world: World) -> None:
    wrong = {**_patient(MALE_1990), "gender": "female"}
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": wrong, "request": {"method": "POST", "url": "Patient"}}],
    }
    answered = world.client.post("/fhir", json=batch, headers=FHIR_JSON).json()
    response = answered["entry"][0]["response"]
    assert response["status"].startswith("201")
    assert response["outcome"]["issue"][0]["severity"] == "warning"


def test_critical_information_for_a_contradicting_patient_is_refused(world: World) -> None:
    wrong = {**_patient(MALE_1990), "id": "mixed-up", "gender": "female"}
    put = world.client.put("/fhir/Patient/mixed-up", json=wrong, headers=FHIR_JSON)
    assert put.status_code == 201, put.text
    refused = world.create("gp", drug_reaction("mixed-up"))
    assert refused.status_code == 422, refused.text
    assert "Patient/mixed-up" in refused.json()["issue"][0]["diagnostics"]
    right = {**wrong, "gender": "male"}
    world.client.put("/fhir/Patient/mixed-up", json=right, headers=FHIR_JSON)
    assert world.create("gp", drug_reaction("mixed-up")).status_code == 201
