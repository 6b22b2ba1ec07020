"""E-prescriptions and dispensing: renewal chains, dispensing against a valid prescription
with one left, only by pharmacies; two pharmacies on the last one: one wins."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from medlistkit import ATC, PATIENT

from fixtures.critical_information import World
from fixtures.fhir_app import FHIR_JSON
from samhandling.services.medication_list import clock

ENTRY = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:6b1e3c9e-2f1a-4f7e-9d7c-111111111111"}


def _prescription(repeats: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "identifier": [ENTRY],
        "medicationCodeableConcept": {
            "coding": [{"system": ATC, "code": "C10AA01"}],
            "text": "Simvastatin 20 mg",
        },
        "subject": {"reference": f"Patient/{PATIENT}"},
        "dispenseRequest": {"numberOfRepeatsAllowed": repeats},
        **fields,
    }


def _dispense(prescription_id: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationDispense",
        "status": "completed",
        "medicationCodeableConcept": {"text": "Simvastatin 20 mg"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "authorizingPrescription": [{"reference": f"MedicationRequest/{prescription_id}"}],
    }


def _post(world: World, persona: str, resource: dict[str, Any]) -> Any:
    url = f"/fhir/{resource['resourceType']}"
    return world.client.post(url, json=resource, headers={**FHIR_JSON, **world.as_(persona)})


def test_a_renewal_continues_the_chain(world: World) -> None:
    head = _post(world, "gp", _prescription())
    assert head.status_code == 201, head.text
    renewal = _prescription()
    del renewal["identifier"]  # the server carries the chain's identifier over
    renewal["priorPrescription"] = {"reference": f"MedicationRequest/{head.json()['id']}"}
    renewed = _post(world, "gp", renewal)
    assert renewed.status_code == 201, renewed.text
    assert ENTRY in renewed.json()["identifier"]  # known as the same list entry's
    stranger = _prescription(subject={"reference": "Patient/persona-parent"})
    stranger["priorPrescription"] = renewal["priorPrescription"]
    refused = _post(world, "gp", stranger)
    assert refused.status_code == 422 and "same patient" in refused.text
    unnamed = _prescription(
        medicationCodeableConcept={"coding": [{"system": "urn:example:local", "code": "x"}]}
    )
    assert _post(world, "gp", unnamed).status_code == 422


def test_dispensing_until_none_is_left_and_only_by_pharmacies(world: World) -> None:
    prescription = _post(world, "gp", _prescription(repeats=1)).json()["id"]
    assert _post(world, "gp", _dispense(prescription)).status_code == 403  # not a pharmacy
    for _ in range(2):  # the first dispensing and one repeat
        done = _post(world, "pharmacist", _dispense(prescription))
        assert done.status_code == 201, done.text
    none_left = _post(world, "pharmacist", _dispense(prescription))
    assert none_left.status_code == 409 and "no dispensing left" in none_left.text
    nowhere = _post(world, "pharmacist", _dispense("no-such-prescription"))
    assert nowhere.status_code == 422


def test_a_prescription_out_of_its_validity_or_not_active(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    period = {"start": "2026-01-01", "end": "2026-12-31"}
    valid = _prescription(dispenseRequest={"numberOfRepeatsAllowed": 3, "validityPeriod": period})
    prescription = _post(world, "gp", valid).json()["id"]
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 31, 15, 0, tzinfo=UTC))
    assert _post(world, "pharmacist", _dispense(prescription)).status_code == 201
    monkeypatch.setattr(clock, "now", lambda: datetime(2027, 1, 1, 0, 1, tzinfo=UTC))
    expired = _post(world, "pharmacist", _dispense(prescription))
    assert expired.status_code == 422 and "validity period" in expired.text
    stopped = _post(world, "gp", _prescription(status="stopped")).json()["id"]
    monkeypatch.setattr(clock, "now", lambda: datetime.now(UTC))
    assert _post(world, "pharmacist", _dispense(stopped)).status_code == 422


def test_two_pharmacies_on_the_last_dispensing_one_wins(world: World) -> None:
    prescription = _post(world, "gp", _prescription(repeats=0)).json()["id"]
    headers = {**FHIR_JSON, **world.as_("pharmacist")}
    statuses: list[int] = []
    start = threading.Barrier(4)

    def dispense() -> None:
        start.wait()
        answer = world.client.post(
            "/fhir/MedicationDispense", json=_dispense(prescription), headers=headers
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=dispense) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [201, 409, 409, 409], statuses
