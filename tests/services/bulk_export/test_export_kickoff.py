"""$export kick-off, status and files: the async pattern of Bulk Data Access 2.0."""

from __future__ import annotations

from collections import Counter

from fixtures.bulk_export import ASYNC, Store, observation
from fixtures.fhir_app import FHIR_JSON


def test_a_system_export_holds_every_resource_once(store: Store) -> None:
    status_url = store.kick_off()
    waiting = store.client.get(status_url)
    assert waiting.status_code == 202
    assert waiting.headers["X-Progress"] and waiting.headers["Retry-After"]
    assert store.worker().run_once()
    manifest = store.manifest(status_url)
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"].endswith("/$export") and manifest["transactionTime"]
    exported = store.exported(status_url)
    counts = Counter({t: len(rs) for t, rs in exported.items()})
    assert counts == Counter(Patient=3, Observation=6, Organization=1)
    assert {r["id"] for r in exported["Patient"]} == set(store.patients)
    assert all(r["resourceType"] == "Observation" for r in exported["Observation"])


def test_the_export_is_the_snapshot_of_the_kick_off(store: Store) -> None:
    status_url = store.kick_off(_type="Observation")
    first = store.patients[0]
    changed_id = store.observations[first][0]
    changed = {**observation(first, 99), "id": changed_id}
    assert (
        store.client.put(
            f"/fhir/Observation/{changed_id}", json=changed, headers=FHIR_JSON
        ).status_code
        == 200
    )
    later = store.create(observation(first, 100))
    store.worker().run_once()
    exported = store.exported(status_url)["Observation"]
    assert later not in {r["id"] for r in exported}
    (old,) = [r for r in exported if r["id"] == changed_id]
    assert old["valueQuantity"]["value"] == 60 and old["meta"]["versionId"] == "1"


def test_only_system_callers_with_prefer_async_and_ndjson(store: Store) -> None:
    client = store.client
    assert client.get("/fhir/$export").status_code == 400  # no Prefer: respond-async
    gp = {**store.headers(persona="gp"), **ASYNC}
    assert client.get("/fhir/$export", headers=gp).status_code == 403
    citizen = {**store.headers(persona="citizen"), **ASYNC}  # no delay or block in exports:
    for url in ("/fhir/$export", "/fhir/Patient/$export"):  # citizens never export
        assert client.get(url, headers=citizen).status_code == 403, url
    wrong = client.get("/fhir/$export", params={"_outputFormat": "application/json"}, headers=ASYNC)
    assert wrong.status_code == 400
    fine = client.get("/fhir/$export", params={"_outputFormat": "ndjson"}, headers=ASYNC)
    assert fine.status_code == 202
    assert (
        client.get(
            "/fhir/$export", params={"_typeFilter": "Patient?x=y"}, headers=ASYNC
        ).status_code
        == 400
    )


def test_a_type_scope_exports_only_that_type(store: Store) -> None:
    narrow = store.headers(scopes=("system/Patient.rs",))
    answer = store.client.get("/fhir/$export", headers={**narrow, **ASYNC})
    assert answer.status_code == 202, answer.text
    store.worker().run_once()
    manifest = store.client.get(answer.headers["Content-Location"], headers=narrow).json()
    assert {e["type"] for e in manifest["output"]} == {"Patient"}
    asked = store.client.get(
        "/fhir/$export", params={"_type": "Observation"}, headers={**narrow, **ASYNC}
    )
    assert asked.status_code == 403


def test_another_client_never_sees_the_job_or_its_files(store: Store) -> None:
    status_url = store.kick_off(_type="Patient")
    store.worker().run_once()
    (entry,) = store.manifest(status_url)["output"]
    other = store.headers(client_id="another-system")
    assert store.client.get(status_url, headers=other).status_code == 404
    assert store.client.get(entry["url"], headers=other).status_code == 404
    assert store.client.delete(status_url, headers=other).status_code == 404
    assert len(store.lines(entry["url"])) == 3


def test_cancel_stops_the_job_and_removes_its_files(store: Store) -> None:
    waiting = store.kick_off()
    assert store.client.delete(waiting).status_code == 202
    assert store.client.get(waiting).status_code == 404
    assert not store.worker().run_once()  # nothing left to run
    done = store.kick_off(_type="Patient")
    store.worker().run_once()
    url = store.manifest(done)["output"][0]["url"]
    assert store.client.delete(done).status_code == 202
    assert store.client.get(url).status_code == 404
    job_id = done.rsplit("/", 1)[1]
    assert not (store.data_dir / "exports" / job_id).exists()


def test_since_and_elements(store: Store) -> None:
    status_url = store.kick_off(_type="Patient", _elements="name", _since="2000-01-01T00:00:00Z")
    store.worker().run_once()
    patients = store.exported(status_url)["Patient"]
    assert len(patients) == 3
    assert all(set(p) == {"resourceType", "id", "meta", "name"} for p in patients)
    assert all(t["code"] == "SUBSETTED" for p in patients for t in p["meta"]["tag"])
    future = store.kick_off(_type="Patient", _since="2999-01-01T00:00:00Z")
    store.worker().run_once()
    assert store.manifest(future)["output"] == []
