"""Patient- and Group-level exports: the compartments of all patients or of the members."""

from __future__ import annotations

from fixtures.bulk_export import ASYNC, Store


def test_patient_level_exports_the_patient_compartments(store: Store) -> None:
    status_url = store.kick_off("/fhir/Patient/$export")
    store.worker().run_once()
    exported = store.exported(status_url)
    assert set(exported) == {"Patient", "Observation"}  # no Organization
    assert len(exported["Observation"]) == 6


def test_group_level_exports_the_members_only(store: Store) -> None:
    first, _, third = store.patients
    group = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{p}"}} for p in (first, third)],
    }
    group_id = store.create(group)
    status_url = store.kick_off(f"/fhir/Group/{group_id}/$export")
    store.worker().run_once()
    exported = store.exported(status_url)
    assert {p["id"] for p in exported["Patient"]} == {first, third}
    expected = set(store.observations[first]) | set(store.observations[third])
    assert {o["id"] for o in exported["Observation"]} == expected


def test_an_unknown_group_is_404(store: Store) -> None:
    answer = store.client.get("/fhir/Group/nobody/$export", headers=ASYNC)
    assert answer.status_code == 404


def test_a_finished_export_is_audited_with_what_left(store: Store) -> None:
    first = store.patients[0]
    group = {"resourceType": "Group", "type": "person", "actual": True}
    group_id = store.create({**group, "member": [{"entity": {"reference": f"Patient/{first}"}}]})
    store.kick_off(f"/fhir/Group/{group_id}/$export", _type="Patient,Observation")
    store.worker().run_once()
    officer = store.headers(persona="security-officer")
    found = store.client.get("/fhir/AuditEvent", params={"_count": "100"}, headers=officer)
    assert found.status_code == 200, found.text
    events = [e["resource"] for e in found.json()["entry"]]
    (event,) = [e for e in events if "completed" in e.get("outcomeDesc", "")]
    assert event["outcomeDesc"].endswith("completed: Observation 1, Patient 1")
    displays = [a.get("who", {}).get("display") for a in event["agent"]]
    assert "Fjordbyen integrasjonsmotor" in displays  # the client that started it
    entities = [e.get("what", {}).get("reference") for e in event["entity"]]
    assert f"Group/{group_id}" in entities and f"Patient/{first}" in entities
