"""A batch's entries are audited one by one in its transaction: a kept entry as created,
an entry rolled back to its savepoint as refused (its created record gone with it)."""

from __future__ import annotations

import orjson
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.audit.storage.tables import audit_event
from samhandling.audit.stored_form import event_of


def patient_entry(family: str, gender: str = "female") -> dict:
    body = {"resourceType": "Patient", "name": [{"family": family}], "gender": gender}
    return {"resource": body, "request": {"method": "POST", "url": "Patient"}}


def test_kept_entries_are_audited_as_created_and_a_bad_one_as_refused(client: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [patient_entry("Kept"), patient_entry("Bad", gender="bogus")],
    }
    response = client.post("/fhir", content=orjson.dumps(bundle), headers=FHIR_JSON)
    assert response.status_code == 200
    kept, bad = (e["response"] for e in response.json()["entry"])
    assert kept["status"].startswith("201") and bad["status"].startswith("400")
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_event.c.interaction, audit_event.c.outcome, audit_event.c.content)
        ).all()
    created = [r for r in rows if r.interaction == "create" and r.outcome == "0"]
    refused = [r for r in rows if r.interaction == "create" and r.outcome == "4"]
    assert len(created) == 1 and len(refused) == 1, rows
    (entity,) = event_of(created[0].content)["entity"][:1]
    assert entity["what"]["reference"] == kept["location"]
    description = event_of(refused[0].content)["outcomeDesc"]
    assert description.startswith("Bundle.entry[1] (POST Patient)")
