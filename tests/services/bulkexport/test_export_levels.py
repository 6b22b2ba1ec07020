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
