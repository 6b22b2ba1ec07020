"""A transaction Bundle's POST entries queue their current `resource` row for the commit's
bulk insert (`VersionWriter(…, queued_creates=True)`): no INSERT round trip per create,
the same answers, references rewritten to the new ids, reads inside the transaction see
the rows, and a row the unique key refuses at commit fails the whole transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from fixtures.queued_rows import versions
from samhandling.access_guard import OpenAccess
from samhandling.interactions import bundle_refs
from samhandling.interactions.bundle import process_bundle
from samhandling.store.database import read_connection
from samhandling.store.schema import resource


def patient(name: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": "urn:tx", "value": name}]}


def post(body: dict[str, Any], full_url: str) -> dict[str, Any]:
    request = {"method": "POST", "url": body["resourceType"]}
    return {"fullUrl": full_url, "resource": body, "request": request}


def transaction(engine: Engine, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}
    answer = process_bundle(
        engine, bundle, "http://x/fhir", representation=True, guard=OpenAccess(), rules=()
    )
    return list(answer["entry"])


def test_post_entries_insert_no_row_one_by_one_and_are_seen_inside(
    engine: Engine, single_row_inserts: list[str]
) -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "subject": {"reference": "urn:uuid:p-t1"},
    }
    search = {"request": {"method": "GET", "url": "Patient?identifier=urn:tx|t1"}}
    answers = transaction(
        engine,
        post(patient("t1"), "urn:uuid:p-t1"),
        post(observation, "urn:uuid:o-t1"),
        search,  # runs after the writes, in their transaction: sees the queued rows
    )
    assert single_row_inserts == []
    assert [a["response"]["status"] for a in answers] == ["201 Created", "201 Created", "200 OK"]
    patient_id = answers[0]["resource"]["id"]
    assert answers[1]["resource"]["subject"] == {"reference": f"Patient/{patient_id}"}
    found = [e["resource"]["id"] for e in answers[2]["resource"]["entry"]]
    assert found == [patient_id]
    for answer in answers[:2]:
        assert versions(engine, answer["resource"]["id"]) == ([1], [1])


def test_a_row_refused_at_commit_fails_the_whole_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,) = transaction(engine, post(patient("t2"), "urn:uuid:p-t2"))
    taken = first["resource"]["id"]
    real = bundle_refs.new_id
    assigned = iter([real(), taken])  # the second entry is given an id stored already
    monkeypatch.setattr(bundle_refs, "new_id", lambda: next(assigned, None) or real())
    with read_connection(engine) as connection:
        before = connection.execute(select(func.count()).select_from(resource)).scalar_one()
    with pytest.raises(IntegrityError):
        transaction(
            engine, post(patient("t3"), "urn:uuid:p-t3"), post(patient("t4"), "urn:uuid:p-t4")
        )
    with read_connection(engine) as connection:
        after = connection.execute(select(func.count()).select_from(resource)).scalar_one()
    assert after == before  # nothing of the transaction stays
    assert versions(engine, taken) == ([1], [1])  # never overwritten
