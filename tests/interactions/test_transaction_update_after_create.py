"""A transaction Bundle that creates a resource and updates it in the same transaction:
the update's `SELECT … FOR UPDATE` (on PostgreSQL's driver, store/version_writer.py) finds
the current row the POST entry queued (`queued_creates`), so the resource is updated,
not created twice, on both engines. (A conditional PUT is resolved before the POSTs run:
the PUT names the id the server assigns, known here by fixing it.)"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from fixtures.queued_rows import versions
from samhandling.access_guard import OpenAccess
from samhandling.interactions import bundle_refs
from samhandling.interactions.bundle import process_bundle


def test_a_post_then_a_put_of_it_update_the_created_resource(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle_refs, "new_id", lambda: "assigned-c1")
    identifier = [{"system": "urn:tx", "value": "c1"}]
    created = {"resourceType": "Patient", "identifier": identifier, "gender": "female"}
    changed = {**created, "id": "assigned-c1", "gender": "male"}
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": "urn:uuid:p-c1",
            "resource": created,
            "request": {"method": "POST", "url": "Patient"},
        },
        {"resource": changed, "request": {"method": "PUT", "url": "Patient/assigned-c1"}},
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    answer = process_bundle(
        engine, bundle, "http://x/fhir", representation=True, guard=OpenAccess(), rules=()
    )
    statuses = [entry["response"]["status"] for entry in answer["entry"]]
    assert statuses == ["201 Created", "200 OK"]
    first, second = (entry["resource"] for entry in answer["entry"])
    assert first["id"] == second["id"] == "assigned-c1" and second["gender"] == "male"
    assert versions(engine, "assigned-c1") == ([2], [1, 2])
