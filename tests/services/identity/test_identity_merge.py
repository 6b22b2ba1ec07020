"""Patient/$merge: an auxiliary-number Patient merged into the real one, in one transaction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from identitykit import FHN, FNR, create, output, parameters, person, post
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from fixtures.fhir_app import make_client, mint
from samhandling.auth.labels import NO_9603
from samhandling.fhir.validation import validate_resource
from samhandling.services.identity import merge as merge_module
from samhandling.store.database import read_connection, write_connection
from samhandling.store.schema import resource
from samhandling.store.version_writer import VersionWriter

MERGE = "/fhir/Patient/$merge"
REAL_FNR = "05858540072"


def ref(patient_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def merge_body(source: str, target: str, *extra: tuple[str, str, Any]) -> dict[str, Any]:
    return parameters(
        ("source-patient", "valueReference", ref(source)),
        ("target-patient", "valueReference", ref(target)),
        *extra,
    )


def observation(patient_id: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": text},
        "subject": ref(patient_id),
    }


def world(client: TestClient) -> dict[str, Any]:
    """An FH Patient with a record, the real Patient with its own, and a bystander."""
    allocated = post(
        client,
        "/fhir/Patient/$allocate-fh",
        parameters(("reason", "valueString", "ukjent pasient i akuttmottak")),
    )
    source = output(allocated.json(), "patient")[0]
    target = create(client, person("Innbygger", "Cecilie", "1985-05-05", "female", REAL_FNR))
    other = create(client, person("Hansen", "Ola", "1970-01-01", "male"))
    moved = [
        create(client, observation(source["id"], "puls")),
        create(client, observation(source["id"], "blodtrykk")),
        create(
            client,
            {
                "resourceType": "Condition",
                "subject": ref(source["id"]),
                "code": {"text": "hodeskade"},
            },
        ),
        create(
            client,
            {
                "resourceType": "AllergyIntolerance",
                "patient": ref(source["id"]),
                "code": {"text": "penicillin"},
            },
        ),
        create(
            client,
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "EMER"},
                "subject": ref(source["id"]),
            },
        ),
    ]
    kept = [
        create(client, observation(target["id"], "vekt")),
        create(client, observation(other["id"], "høyde")),
    ]
    return {"source": source, "target": target, "other": other, "moved": moved, "kept": kept}


def snapshot(engine: Engine) -> dict[tuple[str, str], int]:
    with read_connection(engine) as connection:
        rows = connection.execute(
            select(resource.c.resource_type, resource.c.resource_id, resource.c.version_id)
        ).all()
    return {(t, i): v for t, i, v in rows}


def keys(resources: list[dict[str, Any]]) -> set[str]:
    return {f"{r['resourceType']}/{r['id']}" for r in resources}


def test_preview_lists_exactly_what_would_move_and_writes_nothing(
    client: TestClient, engine: Engine
) -> None:
    w = world(client)
    before = snapshot(engine)
    body = merge_body(w["source"]["id"], w["target"]["id"], ("preview", "valueBoolean", True))
    response = post(client, MERGE, body)
    assert response.status_code == 200, response.text
    listed = {
        r["reference"].split("/_history/")[0] for r in output(response.json(), "moved-resource")
    }
    assert listed == keys(w["moved"])
    result = output(response.json(), "result")[0]
    assert {"other": ref(w["source"]["id"]), "type": "replaces"} in result["link"]
    assert "5 resources would be re-pointed" in str(output(response.json(), "outcome")[0])
    assert output(response.json(), "audit-event") == []
    assert snapshot(engine) == before


def test_merge_moves_the_record_and_links_the_patients(client: TestClient, engine: Engine) -> None:
    w = world(client)
    source, target = w["source"]["id"], w["target"]["id"]
    before = snapshot(engine)
    response = post(client, MERGE, merge_body(source, target))
    assert response.status_code == 200, response.text
    after = snapshot(engine)
    assert after.keys() == before.keys()  # nothing lost, nothing duplicated
    changed = {f"{t}/{i}" for (t, i), v in after.items() if v != before[(t, i)]}
    assert changed == keys(w["moved"]) | {f"Patient/{source}", f"Patient/{target}"}
    for moved in w["moved"]:
        current = client.get(f"/fhir/{moved['resourceType']}/{moved['id']}").json()
        assert (current.get("subject") or current.get("patient")) == ref(target)
        assert current["meta"]["versionId"] == "2"
    for kept in w["kept"]:
        assert client.get(f"/fhir/Observation/{kept['id']}").json()["meta"]["versionId"] == "1"
    observations = client.get(f"/fhir/Observation?subject=Patient/{target}").json()
    assert observations["total"] == 3
    assert client.get(f"/fhir/Observation?subject=Patient/{source}").json()["total"] == 0


def test_the_source_stays_readable_and_points_to_the_target(client: TestClient) -> None:
    w = world(client)
    source, target = w["source"]["id"], w["target"]["id"]
    assert post(client, MERGE, merge_body(source, target)).status_code == 200
    read = client.get(f"/fhir/Patient/{source}")
    assert read.status_code == 200
    assert read.json()["active"] is False
    assert read.json()["link"] == [{"other": ref(target), "type": "replaced-by"}]
    survivor = client.get(f"/fhir/Patient/{target}").json()
    assert {"other": ref(source), "type": "replaces"} in survivor["link"]
    fh_number = w["source"]["identifier"][0]["value"]
    copied = [i for i in survivor["identifier"] if i["system"] == FHN]
    assert copied and copied[0]["value"] == fh_number and copied[0]["use"] == "old"
    assert {"system": FNR, "value": REAL_FNR} in survivor["identifier"]


def test_the_merge_is_visible_in_history(client: TestClient) -> None:
    w = world(client)
    source, target = w["source"]["id"], w["target"]["id"]
    post(client, MERGE, merge_body(source, target))
    history = client.get(f"/fhir/Patient/{source}/_history").json()
    assert [e["resource"].get("active") for e in history["entry"]] == [False, True]
    obs = w["moved"][0]["id"]
    versions = client.get(f"/fhir/Observation/{obs}/_history").json()["entry"]
    assert [e["resource"]["subject"] for e in versions] == [ref(target), ref(source)]


def test_the_outcome_carries_an_audit_event(client: TestClient) -> None:
    w = world(client)
    response = post(client, MERGE, merge_body(w["source"]["id"], w["target"]["id"]))
    event = output(response.json(), "audit-event")[0]
    assert [i for i in validate_resource(event) if i.severity == "error"] == []
    assert event["action"] == "U" and event["outcome"] == "0"
    described = {e["what"]["reference"].split("/_history/")[0] for e in event["entity"]}
    assert described == keys(w["moved"]) | {
        f"Patient/{w['source']['id']}",
        f"Patient/{w['target']['id']}",
    }
    moved = {r["reference"] for r in output(response.json(), "moved-resource")}
    assert all(m.endswith("/_history/2") for m in moved) and len(moved) == 5


def test_a_failure_half_way_leaves_everything_as_it_was(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world(client)
    before = snapshot(engine)

    def explode(*_: object) -> None:
        raise RuntimeError("injected failure after the record was re-pointed")

    monkeypatch.setattr(merge_module, "write_merged_patients", explode)
    response = post(client, MERGE, merge_body(w["source"]["id"], w["target"]["id"]))
    assert response.status_code == 500
    assert snapshot(engine) == before
    first = w["moved"][0]["id"]
    assert client.get(f"/fhir/Observation/{first}").json()["subject"] == ref(w["source"]["id"])


def test_patients_can_be_named_by_identifiers(client: TestClient) -> None:
    w = world(client)
    fh_number = w["source"]["identifier"][0]["value"]
    body = parameters(
        ("source-patient-identifier", "valueIdentifier", {"system": FHN, "value": fh_number}),
        ("target-patient-identifier", "valueIdentifier", {"system": FNR, "value": REAL_FNR}),
    )
    response = post(client, MERGE, body)
    assert response.status_code == 200, response.text
    assert output(response.json(), "result")[0]["id"] == w["target"]["id"]


def test_result_patient_becomes_the_target(client: TestClient) -> None:
    w = world(client)
    result = {**w["target"], "gender": "other"}
    result.pop("meta")
    body = merge_body(w["source"]["id"], w["target"]["id"], ("result-patient", "resource", result))
    assert post(client, MERGE, body).status_code == 200
    survivor = client.get(f"/fhir/Patient/{w['target']['id']}").json()
    assert survivor["gender"] == "other"
    assert survivor["link"] == [{"other": ref(w["source"]["id"]), "type": "replaces"}]


@pytest.mark.parametrize(
    "case",
    ["same", "twice", "unknown-identifier", "missing-target", "wrong-result", "target-replaced"],
)
def test_bad_merges_are_refused(client: TestClient, case: str) -> None:
    w = world(client)
    source, target = w["source"]["id"], w["target"]["id"]
    bodies = {
        "same": (merge_body(source, source), 422),
        "twice": (merge_body(source, w["other"]["id"]), 422),
        "unknown-identifier": (
            parameters(
                (
                    "source-patient-identifier",
                    "valueIdentifier",
                    {"system": FHN, "value": "81234567894"},
                ),
                ("target-patient", "valueReference", ref(target)),
            ),
            422,
        ),
        "missing-target": (parameters(("source-patient", "valueReference", ref(source))), 400),
        "wrong-result": (
            merge_body(
                source,
                target,
                ("result-patient", "resource", {"resourceType": "Patient", "id": source}),
            ),
            400,
        ),
        "target-replaced": (merge_body(w["other"]["id"], source), 422),
    }
    if case in ("twice", "target-replaced"):
        assert post(client, MERGE, merge_body(source, target)).status_code == 200
    body, status = bodies[case]
    response = post(client, MERGE, body)
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_clinician_may_merge_and_a_citizen_may_not(
    gp_client: TestClient, database_url: str, tmp_path: Path
) -> None:
    w = world(gp_client)
    with make_client(database_url, tmp_path, persona="citizen") as citizen:
        refused = post(citizen, MERGE, merge_body(w["source"]["id"], w["target"]["id"]))
        assert refused.status_code == 403
    assert (
        post(gp_client, MERGE, merge_body(w["source"]["id"], w["target"]["id"])).status_code == 200
    )


def test_a_refused_write_names_the_resource_and_rolls_everything_back(
    client: TestClient, engine: Engine
) -> None:
    w = world(client)
    with write_connection(engine) as connection:  # stored before today's validation rules
        invalid = {
            "resourceType": "Observation",
            "code": {"text": "x"},
            "subject": ref(w["source"]["id"]),
        }
        VersionWriter(connection).write(
            "Observation", "legacy", invalid, method="create", previous=None
        )
    before = snapshot(engine)
    response = post(client, MERGE, merge_body(w["source"]["id"], w["target"]["id"]))
    assert response.status_code == 400
    assert "Re-pointing Observation/legacy failed" in response.text
    assert snapshot(engine) == before


def test_after_a_merge_the_target_holds_both_numbers(client: TestClient) -> None:
    """One person, one record: the source's FH number moves to the target's claim."""
    w = world(client)
    source, target = w["source"]["id"], w["target"]["id"]
    fh_number = w["source"]["identifier"][0]
    assert post(client, MERGE, merge_body(source, target)).status_code == 200
    again = {
        "resourceType": "Patient",
        "identifier": [{k: fh_number[k] for k in ("system", "value")}],
    }
    refused = post(client, "/fhir/Patient", again)
    assert refused.status_code == 409
    assert f"Patient/{target}" in refused.text and f"Patient/{source}" not in refused.text


def test_a_preview_is_refused_exactly_when_the_merge_would_be(
    gp_client: TestClient, database_url: str, tmp_path: Path
) -> None:
    """A clinician attested for the target only may not merge another patient into it, and
    may not learn by a preview what that patient's record holds."""
    w = world(gp_client)
    source, target = w["source"]["id"], w["target"]["id"]
    token = mint(tmp_path, "gp", patient_fnr=REAL_FNR)
    with make_client(database_url, tmp_path, persona=None) as attested:
        attested.headers["Authorization"] = f"Bearer {token}"
        for extra in ((("preview", "valueBoolean", True),), ()):
            refused = post(attested, MERGE, merge_body(source, target, *extra))
            assert refused.status_code == 403, refused.text
            assert not {m["id"] for m in w["moved"]} & set(re.findall(r"[\w-]{8,}", refused.text))
    assert post(gp_client, MERGE, merge_body(source, target)).status_code == 200


def test_a_record_the_caller_may_not_read_moves_unnamed(
    gp_client: TestClient, engine: Engine
) -> None:
    """A resource the citizen blocked from health personnel (NORS) follows its person, but
    neither the preview nor the merge names it to the clinician."""
    w = world(gp_client)
    source, target = w["source"]["id"], w["target"]["id"]
    blocked = observation(source, "blokkert")
    blocked["meta"] = {"security": [{"system": NO_9603, "code": "NORS"}]}
    hidden = create(gp_client, blocked)
    for preview in (True, False):
        body = merge_body(source, target, ("preview", "valueBoolean", preview))
        response = post(gp_client, MERGE, body)
        assert response.status_code == 200, response.text
        assert hidden["id"] not in response.text
        assert "1 of the re-pointed resources are not listed" in response.text
        listed = {r["reference"].split("/")[1] for r in output(response.json(), "moved-resource")}
        assert listed == {m["id"] for m in w["moved"]}
    with read_connection(engine) as connection:
        row = connection.execute(
            select(resource.c.patient_id).where(resource.c.resource_id == hidden["id"])
        ).one()
    assert row.patient_id == target
