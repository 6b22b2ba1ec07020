"""A batch chunk's creates at server-assigned ids queue their current `resource` row for the
commit's bulk insert (`VersionWriter(…, queued_creates=True)`): no INSERT round trip per
create, the same answers, later entries still see them, and a row the unique key refuses
at commit runs the chunk again with new ids."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Engine

from fixtures.queued_rows import versions
from samhandling.access_guard import OpenAccess
from samhandling.interactions import bundle_refs
from samhandling.interactions.bundle import process_bundle


def patient(name: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": name}]}


def run(engine: Engine, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": list(entries)}
    response = process_bundle(engine, bundle, "http://x/fhir", guard=OpenAccess(), rules=())
    return [e["response"] for e in response["entry"]]


def post(body: dict[str, Any], if_none_exist: str | None = None) -> dict[str, Any]:
    request = {"method": "POST", "url": body["resourceType"]}
    if if_none_exist:
        request["ifNoneExist"] = if_none_exist
    return {"resource": body, "request": request}


def test_creates_at_new_ids_insert_no_row_one_by_one(
    engine: Engine, single_row_inserts: list[str]
) -> None:
    responses = run(
        engine,
        post(patient("q1"), "identifier=urn:x|q1"),
        post(patient("q2")),
        post(patient("q1"), "identifier=urn:x|q1"),  # sees the first, still queued
    )
    assert single_row_inserts == []
    assert [r["status"] for r in responses] == ["201 Created", "201 Created", "200 OK"]
    assert responses[2]["location"] == responses[0]["location"]
    for answer in responses[:2]:
        assert re.fullmatch(r"Patient/[0-9a-f-]{36}/_history/1", answer["location"])
        assert answer["etag"] == 'W/"1"'
        assert versions(engine, answer["location"].split("/")[1]) == ([1], [1])


def test_a_client_chosen_id_is_inserted_at_once(
    engine: Engine, single_row_inserts: list[str]
) -> None:
    body = {**patient("q3"), "id": "chosen-q3"}
    responses = run(
        engine, {"resource": body, "request": {"method": "PUT", "url": "Patient/chosen-q3"}}
    )
    assert [r["status"] for r in responses] == ["201 Created"]
    assert len(single_row_inserts) == 1
    assert versions(engine, "chosen-q3") == ([1], [1])


def test_a_queued_create_is_updated_by_a_later_entry(engine: Engine) -> None:
    update = {"resource": {**patient("q4"), "active": True}}
    update["request"] = {"method": "PUT", "url": "Patient?identifier=urn:x|q4"}
    responses = run(engine, post(patient("q4")), update)
    assert [r["status"] for r in responses] == ["201 Created", "200 OK"]
    resource_id = responses[0]["location"].split("/")[1]
    assert responses[1]["location"] == f"Patient/{resource_id}/_history/2"
    assert versions(engine, resource_id) == ([2], [1, 2])


def test_a_row_refused_at_commit_runs_the_chunk_again_with_new_ids(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    (first,) = run(engine, post(patient("q5")))
    taken = first["location"].split("/")[1]
    real = bundle_refs.new_id
    assigned = iter([taken])  # the first attempt is given an id that is stored already
    monkeypatch.setattr(bundle_refs, "new_id", lambda: next(assigned, None) or real())
    responses = run(engine, post(patient("q6")), post(patient("q7"), "identifier=urn:x|q7"))
    assert [r["status"] for r in responses] == ["201 Created", "201 Created"]
    created = {r["location"].split("/")[1] for r in responses}
    assert taken not in created and len(created) == 2
    assert versions(engine, taken) == ([1], [1])  # never overwritten
