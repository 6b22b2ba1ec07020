"""`Patient/$unreconciled`: an organisation's patients whose list needs reconciling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from medlistkit import PATIENT, save, statement

from fixtures.critical_information import World
from fixtures.fhir_app import FHIR_JSON
from samhandling.services.medication_list import clock

HOSPITAL = "991000046"  # Helse Fjordbyen HF, the hospital-physician persona's
ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
URL = f"/fhir/Patient/$unreconciled?organization={HOSPITAL}"


def _organisation_id(world: World) -> str:
    found = world.client.get(
        "/fhir/Organization",
        params={"identifier": f"{ORGNR}|{HOSPITAL}"},
        headers=world.as_("system"),
    ).json()
    return str(found["entry"][0]["resource"]["id"])


def _admit(world: World, start: datetime) -> None:
    encounter = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "serviceProvider": {"reference": f"Organization/{_organisation_id(world)}"},
        "period": {"start": start.isoformat(timespec="seconds")},
    }
    created = world.client.post(
        "/fhir/Encounter", json=encounter, headers={**FHIR_JSON, **world.as_("system")}
    )
    assert created.status_code == 201, created.text


def _listed(world: World, url: str = URL) -> dict[str, str]:
    answer = world.client.get(url, headers=world.as_("hospital-physician"))
    assert answer.status_code == 200, answer.text
    found = {}
    for item in answer.json()["parameter"]:
        parts: dict[str, Any] = {p["name"]: p for p in item["part"]}
        patient = parts["patient"]["valueReference"]["reference"]
        found[patient] = parts["reason"]["valueString"]
    return found


def _reconcile(world: World) -> None:
    url = f"/fhir/Patient/{PATIENT}/$reconcile"
    answer = world.client.post(url, headers={**FHIR_JSON, **world.as_("hospital-physician")})
    assert answer.status_code == 200, answer.text


def test_admitted_patients_whose_list_was_not_reconciled(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    _admit(world, now - timedelta(days=2))
    assert _listed(world) == {f"Patient/{PATIENT}": "never reconciled"}  # no list at all
    assert save(world, "gp", 0, [statement()]).status_code == 201
    _reconcile(world)
    assert _listed(world) == {}  # reconciled during this stay
    _admit(world, now + timedelta(minutes=5))  # admitted again after the reconciliation
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(minutes=10))
    assert _listed(world) == {f"Patient/{PATIENT}": "not reconciled since the latest admission"}
    _reconcile(world)
    assert _listed(world) == {}
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(days=40))
    assert _listed(world, URL + "&days=30") == {
        f"Patient/{PATIENT}": "not reconciled within the period"
    }


def test_the_organisation_must_be_known(world: World) -> None:
    answer = world.client.get(
        "/fhir/Patient/$unreconciled?organization=123", headers=world.as_("hospital-physician")
    )
    assert answer.status_code == 404
    missing = world.client.get(
        "/fhir/Patient/$unreconciled", headers=world.as_("hospital-physician")
    )
    assert missing.status_code == 400
