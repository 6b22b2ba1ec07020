"""The list document, pause, pharmacists and citizens, and the 90-day grace period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from medlistkit import PATIENT, read_list, resources, save, statement, uuid_of, with_reason

from fixtures.critical_information import World, drug_reaction, food_allergy
from fixtures.fhir_app import FHIR_JSON
from samhandling.services.medication_list import clock
from samhandling.services.medication_list.listing import EntryRef, on_list

KJ = "https://samhandling.no/fhir/StructureDefinition/"
CITIZEN_FNR = "05858540072"


def _prescription(world: World, entry_uuid: str | None, text: str) -> None:
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": text},
        "subject": {"reference": f"Patient/{PATIENT}"},
    }
    if entry_uuid:
        request["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{entry_uuid}"}]
    assert world.create("gp", request).status_code == 201


def test_the_document_has_the_list_loose_prescriptions_and_drug_reactions(world: World) -> None:
    entry = statement()
    assert save(world, "gp", 0, [entry]).status_code == 201
    _prescription(world, uuid_of(entry), "Simvastatin (resept på listen)")
    _prescription(world, None, "Amoksicillin (løs resept)")
    assert world.create("gp", drug_reaction(PATIENT)).status_code == 201
    assert world.create("gp", food_allergy(PATIENT)).status_code == 201
    document = read_list(world, "gp").json()
    assert document["type"] == "document"
    types = [e["resource"]["resourceType"] for e in document["entry"]]
    assert types == [
        "Composition", "List", "MedicationStatement", "MedicationRequest", "AllergyIntolerance",
    ]  # fmt: skip
    loose = resources(document, "MedicationRequest")[0]
    assert loose["medicationCodeableConcept"]["text"] == "Amoksicillin (løs resept)"
    assert resources(document, "AllergyIntolerance")[0]["category"] == ["medication"]
    listing = resources(document, "List")[0]
    assert "AllergyIntolerance" not in str(listing)  # drug reactions are never copied in


def test_the_list_by_national_id(world: World) -> None:
    assert save(world, "gp", 0, [statement()]).status_code == 201
    url = f"/fhir/Patient/$medication-list?identifier={CITIZEN_FNR}"
    found = world.client.get(url, headers=world.as_("gp"))
    assert found.status_code == 200, found.text
    assert len(resources(found.json(), "MedicationStatement")) == 1


def test_pharmacists_read_but_never_change_the_list(world: World) -> None:
    entry = statement()
    assert save(world, "gp", 0, [entry]).status_code == 201
    assert world.create("gp", drug_reaction(PATIENT)).status_code == 201
    document = read_list(world, "pharmacist")
    assert document.status_code == 200, document.text
    assert len(resources(document.json(), "MedicationStatement")) == 1
    assert len(resources(document.json(), "AllergyIntolerance")) == 1
    refused = save(world, "pharmacist", 1, [entry, statement("C09AA05", "Ramipril")])
    assert refused.status_code == 403


def test_the_citizen_reads_the_current_list_and_cannot_change_it(world: World) -> None:
    entry = statement()
    assert save(world, "gp", 0, [entry]).status_code == 201
    document = read_list(world, "citizen")
    assert document.status_code == 200, document.text
    assert len(resources(document.json(), "MedicationStatement")) == 1
    assert save(world, "citizen", 1, [entry]).status_code == 403


def _pause(world: World, persona: str) -> object:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "reason", "valueString": "Innlagt på medisinsk avdeling"},
            {"name": "expectedEnd", "valueDateTime": "2026-12-10"},
        ],
    }
    url = f"/fhir/Patient/{PATIENT}/$medication-list-pause"
    return world.client.post(url, json=body, headers={**FHIR_JSON, **world.as_(persona)})


def _op(world: World, persona: str, name: str) -> object:
    url = f"/fhir/Patient/{PATIENT}/${name}"
    return world.client.post(url, headers=world.as_(persona))


def test_a_paused_list_takes_no_foreign_write(world: World) -> None:
    entry = statement()
    assert save(world, "gp", 0, [entry]).status_code == 201
    paused = _pause(world, "hospital-physician")
    assert paused.status_code == 200, paused.text  # type: ignore[attr-defined]
    refused = save(world, "gp", 2, [entry, statement("C09AA05", "Ramipril")])
    assert refused.status_code == 403
    message = refused.json()["issue"][0]["diagnostics"]
    assert "paused" in message and "Innlagt på medisinsk avdeling" in message
    assert "2026-12-10" in message
    composition = read_list(world, "citizen").json()["entry"][0]["resource"]
    assert composition["extension"][0]["url"] == KJ + "pll-paused"
    assert save(world, "hospital-physician", 2, [entry]).status_code == 200
    assert _op(world, "gp", "medication-list-resume").status_code == 403  # type: ignore[attr-defined]
    assert _op(world, "hospital-physician", "medication-list-resume").status_code == 200  # type: ignore[attr-defined]
    assert save(world, "gp", 4, [entry, statement("C09AA05", "Ramipril")]).status_code == 200


def test_reconcile_records_who_and_when(world: World) -> None:
    assert save(world, "gp", 0, [statement()]).status_code == 201
    done = _op(world, "gp", "reconcile")
    assert done.status_code == 200  # type: ignore[attr-defined]
    extensions = {e["url"]: e for e in done.json()["extension"]}  # type: ignore[attr-defined]
    parts = {p["url"]: p for p in extensions[KJ + "pll-reconciled"]["extension"]}
    assert parts["practitioner"]["valueIdentifier"]["value"] == "9100001"


def test_withdrawn_entries_leave_the_list_after_90_days(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: start)
    kept, stopped = statement(), statement("C09AA05", "Ramipril 5 mg")
    assert save(world, "gp", 0, [kept, stopped]).status_code == 201
    withdrawn = with_reason(stopped, "Bivirkninger: hoste", status="stopped")
    assert save(world, "gp", 1, [kept, withdrawn]).status_code == 200
    for days, count in ((89, 2), (90, 1)):
        monkeypatch.setattr(clock, "now", lambda d=days: start + timedelta(days=d))
        document = read_list(world, "gp").json()
        assert len(resources(document, "MedicationStatement")) == count
    # after it left, a save need not account for it, and the new version drops it
    saved = save(world, "gp", 2, [kept])
    assert saved.status_code == 200, saved.text
    assert len(saved.json()["entry"]) == 1
    # given again unchanged, it does not come back
    gone = resources(read_list(world, "gp").json(), "MedicationStatement")
    again = world.client.get(
        f"/fhir/MedicationStatement/{uuid_of(stopped)}", headers=world.as_("gp")
    ).json()
    assert save(world, "gp", 3, [*gone, again]).json()["entry"] == saved.json()["entry"]
    history = world.client.get(
        f"/fhir/MedicationStatement/{uuid_of(stopped)}/_history", headers=world.as_("gp")
    )
    assert history.json()["total"] == 2  # it remains in history


def test_on_list_is_a_function_of_now() -> None:
    ref = EntryRef("x", 1, {"withdrawn": "2026-01-01T00:00:00+00:00"})
    assert on_list(ref, datetime(2026, 3, 31, 23, tzinfo=UTC))
    assert not on_list(ref, datetime(2026, 4, 1, tzinfo=UTC))
    assert on_list(EntryRef("y", 1, {}), datetime(2099, 1, 1, tzinfo=UTC))


def test_an_entry_added_already_stopped_leaves_after_90_days(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: start)
    stopped = statement(status="stopped")
    assert save(world, "gp", 0, [statement(), stopped]).status_code == 201
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=90))
    assert len(resources(read_list(world, "gp").json(), "MedicationStatement")) == 1
