"""`includeAssociatedData` (Bulk Data 2.0): the Provenance of the exported resources, in
their own Provenance file, each once, only those the client may read; at system, Patient
and Group level, with `_type` and `_typeFilter`; custom values refused or ignored."""

from __future__ import annotations

import json
from typing import Any

from httpx import Response

from fixtures.bulk_export import ASYNC, Store, observation
from samhandling.services.bulk_export.deidentify import Pseudonyms, shift_date

LATEST = "LatestProvenanceResources"
RELEVANT = "RelevantProvenanceResources"
LENIENT = {"Prefer": "respond-async, handling=lenient"}
VERY_RESTRICTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "code": "V",
}


def provenance(recorded: str, *targets: str, labels: tuple[dict[str, str], ...] = ()) -> dict:
    found: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": t} for t in targets],
        "recorded": recorded,
        "agent": [{"who": {"display": "Fjordbyen sykehus, lab"}}],
    }
    if labels:
        found["meta"] = {"security": list(labels)}
    return found


def _provenance_ids(store: Store, status_url: str) -> list[str]:
    """The ids in the Provenance file(s), in file order (duplicates kept)."""
    return [p["id"] for p in store.exported(status_url).get("Provenance", [])]


def _diagnostics(answer: Response) -> str:
    return " ".join(i.get("diagnostics", "") for i in answer.json()["issue"])


def _export(store: Store, path: str = "/fhir/$export", **params: str) -> list[str]:
    status_url = store.kick_off(path, **params)
    assert store.worker().run_once()
    return _provenance_ids(store, status_url)


def test_relevant_gives_every_provenance_of_the_exported_resources_once(store: Store) -> None:
    first, second, _ = store.patients
    obs_a, obs_b = store.observations[first][0], store.observations[second][0]
    p1 = store.create(provenance("2026-01-01T10:00:00Z", f"Observation/{obs_a}"))
    p2 = store.create(provenance("2026-02-01T10:00:00Z", f"Observation/{obs_a}/_history/1"))
    both = store.create(
        provenance("2026-03-01T10:00:00Z", f"Observation/{obs_a}", f"Observation/{obs_b}")
    )
    of_patient = store.create(provenance("2026-01-05T10:00:00Z", f"Patient/{first}"))
    organization = store.create({"resourceType": "Organization", "name": "Legekontoret"})
    not_exported = store.create(provenance("2026-01-06T10:00:00Z", f"Organization/{organization}"))
    status_url = store.kick_off(
        _type="Patient,Observation", includeAssociatedData=RELEVANT
    )  # _type leaves Provenance out: the associated ones come all the same
    assert store.worker().run_once()
    manifest = store.manifest(status_url)
    assert {e["type"] for e in manifest["output"]} == {"Patient", "Observation", "Provenance"}
    ids = _provenance_ids(store, status_url)
    assert sorted(ids) == sorted([p1, p2, both, of_patient])  # `both` once, for two targets
    assert not_exported not in ids
    # without the parameter, `_type` without Provenance gives none
    assert _export(store, _type="Patient,Observation") == []


def test_latest_gives_the_most_recent_provenance_of_each_exported_resource(store: Store) -> None:
    first, second, third = store.patients
    obs_a, obs_b = store.observations[first][0], store.observations[second][0]
    obs_c = store.observations[third][0]
    store.create(provenance("2026-01-01T10:00:00Z", f"Observation/{obs_a}"))
    newest_a = store.create(provenance("2026-03-01T10:00:00Z", f"Observation/{obs_a}"))
    older_b = store.create(provenance("2026-02-01T10:00:00Z", f"Observation/{obs_b}"))
    # instants compare as times, not as text: 09:00Z is later than 10:00+02:00
    store.create(provenance("2026-05-01T10:00:00+02:00", f"Observation/{obs_c}"))
    newest_c = store.create(provenance("2026-05-01T09:00:00Z", f"Observation/{obs_c}"))
    shared = store.create(
        provenance("2026-04-01T10:00:00Z", f"Observation/{obs_b}", f"Patient/{first}")
    )
    ids = _export(store, _type="Observation,Patient", includeAssociatedData=LATEST)
    assert sorted(ids) == sorted([newest_a, newest_c, shared])  # `shared`: newest of two
    assert older_b not in ids
    # both values: the least restrictive (Relevant) applies (Bulk Data 2.0)
    both = _export(store, _type="Observation", includeAssociatedData=f"{LATEST},{RELEVANT}")
    assert len(both) == len(set(both)) == 6


def test_a_system_export_of_every_type_writes_each_provenance_once(store: Store) -> None:
    obs_a = store.observations[store.patients[0]][0]
    on_patient = store.create(provenance("2026-01-01T10:00:00Z", f"Patient/{store.patients[0]}"))
    on_obs = store.create(provenance("2026-01-02T10:00:00Z", f"Observation/{obs_a}"))
    ids = _export(store, includeAssociatedData=RELEVANT)
    assert sorted(ids) == sorted([on_patient, on_obs])  # its own type and associated: once


def test_provenance_the_client_may_not_read_is_not_exported(store: Store) -> None:
    first = store.patients[0]
    obs_a = store.observations[first][0]
    hidden_obs = store.create({**observation(first, 99), "meta": {"security": [VERY_RESTRICTED]}})
    of_hidden = store.create(provenance("2026-01-01T10:00:00Z", f"Observation/{hidden_obs}"))
    readable = store.create(provenance("2026-01-02T10:00:00Z", f"Observation/{obs_a}"))
    withheld = store.create(
        provenance("2026-06-01T10:00:00Z", f"Observation/{obs_a}", labels=(VERY_RESTRICTED,))
    )
    for value in (RELEVANT, LATEST):
        ids = _export(store, _type="Observation", includeAssociatedData=value)
        assert readable in ids  # the newest the client may read is the latest it gets
        assert of_hidden not in ids and withheld not in ids
    # a type the token does not grant is not exported, nor are its Provenance (the
    # Provenance type itself, when granted and not left out by `_type`, is exported whole)
    on_patient = store.create(provenance("2026-01-03T10:00:00Z", f"Patient/{first}"))
    narrow = store.headers(scopes=("system/Observation.rs", "system/Provenance.rs"))
    params = {"_type": "Observation", "includeAssociatedData": RELEVANT}
    answer = store.client.get("/fhir/$export", params=params, headers={**narrow, **ASYNC})
    assert answer.status_code == 202, answer.text
    assert store.worker().run_once()
    manifest = store.client.get(answer.headers["Content-Location"], headers=narrow).json()
    (entry,) = [e for e in manifest["output"] if e["type"] == "Provenance"]
    lines = store.lines(entry["url"], narrow)
    assert {p["id"] for p in lines} == {readable}
    assert on_patient not in {p["id"] for p in lines}
    # no scope on Provenance: the parameter is refused, naming the type
    no_provenance = store.headers(scopes=("system/Observation.rs",))
    refused = store.client.get(
        "/fhir/$export",
        params={"includeAssociatedData": RELEVANT},
        headers={**no_provenance, **ASYNC},
    )
    assert refused.status_code == 403
    assert "Provenance" in _diagnostics(refused)


def test_patient_and_group_exports_give_the_provenance_of_their_patients(store: Store) -> None:
    first, second, third = store.patients
    mine = store.create(
        provenance("2026-01-01T10:00:00Z", f"Observation/{store.observations[first][0]}")
    )
    of_first = store.create(provenance("2026-01-02T10:00:00Z", f"Patient/{first}"))
    theirs = store.create(
        provenance("2026-01-01T10:00:00Z", f"Observation/{store.observations[second][0]}")
    )
    everyone = _export(store, "/fhir/Patient/$export", includeAssociatedData=RELEVANT)
    assert sorted(everyone) == sorted([mine, of_first, theirs])
    one = _export(
        store,
        "/fhir/Patient/$export",
        patient=f"Patient/{first}",
        includeAssociatedData=RELEVANT,
    )
    assert sorted(one) == sorted([mine, of_first])
    group = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{p}"}} for p in (second, third)],
    }
    group_id = store.create(group)
    members = _export(
        store, f"/fhir/Group/{group_id}/$export", _type="Observation", includeAssociatedData=LATEST
    )
    assert members == [theirs]


def test_type_filter_limits_the_resources_and_so_their_provenance(store: Store) -> None:
    first = store.patients[0]
    amended = store.create({**observation(first, 70), "status": "amended"})
    of_amended = store.create(provenance("2026-01-01T10:00:00Z", f"Observation/{amended}"))
    store.create(provenance("2026-01-01T10:00:00Z", f"Observation/{store.observations[first][0]}"))
    ids = _export(
        store,
        _type="Observation",
        _typeFilter="Observation?status=amended",
        includeAssociatedData=RELEVANT,
    )
    assert ids == [of_amended]


def test_a_custom_value_is_400_naming_it_unless_handling_is_lenient(store: Store) -> None:
    obs_a = store.observations[store.patients[0]][0]
    latest = store.create(provenance("2026-01-01T10:00:00Z", f"Observation/{obs_a}"))
    params = {"_type": "Observation", "includeAssociatedData": f"{LATEST},_mittOppsett"}
    strict = store.client.get("/fhir/$export", params=params, headers=ASYNC)
    assert strict.status_code == 400
    assert "_mittOppsett" in _diagnostics(strict)
    assert LATEST not in _diagnostics(strict).split("supported:")[0]  # only the unknown
    lenient = store.client.get("/fhir/$export", params=params, headers=LENIENT)
    assert lenient.status_code == 202, lenient.text
    (warning,) = [i for i in lenient.json()["issue"] if i["severity"] == "warning"]
    assert "_mittOppsett" in warning["diagnostics"]
    assert warning["expression"] == ["includeAssociatedData"]
    assert store.worker().run_once()
    status_url = lenient.headers["Content-Location"]
    assert _provenance_ids(store, status_url) == [latest]  # the known value still applies
    # the ignored value is stated in the manifest's error file too (Bulk Data 2.0)
    (messages,) = store.manifest(status_url)["error"]
    assert messages["type"] == "OperationOutcome"
    (outcome,) = store.lines(messages["url"])
    assert outcome["resourceType"] == "OperationOutcome"
    assert "_mittOppsett" in outcome["issue"][0]["diagnostics"]
    # a strict export without ignored parameters has an empty error array
    clean = store.kick_off(_type="Observation", includeAssociatedData=LATEST)
    assert store.worker().run_once()
    assert store.manifest(clean)["error"] == []


def test_a_deidentified_export_shifts_provenance_with_its_targets_patient(store: Store) -> None:
    config = {"projects": {"diabetes": {"clients": ["forskning-app"]}}}
    (store.data_dir / "research-projects.json").write_text(json.dumps(config))
    key = bytes(range(32))
    (store.data_dir / "research-keys").mkdir(mode=0o700)
    (store.data_dir / "research-keys" / "diabetes.key").write_bytes(key)
    research = store.headers(client_id="forskning-app")
    first, second, _ = store.patients
    obs_a, obs_b = store.observations[first][0], store.observations[second][0]
    signed = {
        **provenance("2026-01-15T10:00:00Z", f"Observation/{obs_a}"),
        "signature": [
            {
                "type": [
                    {"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}
                ],
                "when": "2026-01-15T10:00:00Z",
                "who": {"reference": f"Patient/{first}"},
                "data": "c2lnbmF0dXI=",
            }
        ],
    }
    store.create(signed)
    two_patients = store.create(
        provenance("2026-01-16T10:00:00Z", f"Observation/{obs_a}", f"Observation/{obs_b}")
    )
    params = {"_type": "Observation", "_deidentify": "diabetes", "includeAssociatedData": RELEVANT}
    answer = store.client.get("/fhir/$export", params=params, headers={**research, **ASYNC})
    assert answer.status_code == 202, answer.text
    assert store.worker().run_once()
    manifest = store.client.get(answer.headers["Content-Location"], headers=research).json()
    (entry,) = [e for e in manifest["output"] if e["type"] == "Provenance"]
    (written,) = store.lines(entry["url"], research)
    pseudonyms = Pseudonyms(key)
    assert written["target"] == [
        {"reference": f"Observation/{pseudonyms.pseudonym('Observation', obs_a)}"}
    ]
    shifted = shift_date("2026-01-15T10:00:00Z", pseudonyms.day_shift(first))
    assert written["recorded"] == shifted != "2026-01-15T10:00:00Z"
    assert "signature" not in written
    # targets of two patients: no one shift fits, so it is left out
    assert pseudonyms.pseudonym("Provenance", two_patients) != written["id"]
    # the Provenance type of a de-identified export is shifted the same way
    params = {"_type": "Provenance", "_deidentify": "diabetes"}
    answer = store.client.get("/fhir/$export", params=params, headers={**research, **ASYNC})
    assert answer.status_code == 202, answer.text
    assert store.worker().run_once()
    manifest = store.client.get(answer.headers["Content-Location"], headers=research).json()
    (entry,) = manifest["output"]
    assert [p["recorded"] for p in store.lines(entry["url"], research)] == [shifted]
