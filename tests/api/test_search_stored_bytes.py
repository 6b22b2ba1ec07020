"""A search answered over HTTP shows each unshaped resource as the stored bytes, which a
read answers with too: not parsed exactly and written out again, only judged from a plain
parse (issue 24)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.auth.labels import NO_9603
from samhandling.store.records import StoredVersion

OBSERVATION = b"""{"resourceType": "Observation", "status": "final",
 "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
 "valueQuantity": {"value": 1.50, "unit": "mmol/L"}, "note": [{"text": "fasting"}]}"""


@pytest.fixture
def exact_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the versions parsed exactly (`StoredVersion.resource`) from now on."""
    seen: list[str] = []
    exact = StoredVersion.resource

    def counted(self: StoredVersion) -> dict[str, Any]:
        seen.append(self.resource_id)
        return exact(self)

    monkeypatch.setattr(StoredVersion, "resource", counted)
    return seen


def _entry_bytes(body: bytes) -> bytes:
    """The bytes of the first entry's resource as they stand in `body`."""
    start = body.index(b'"resource":{"resourceType":"Observation"') + len(b'"resource":')
    depth = 0
    for end in range(start, len(body)):
        depth += {ord("{"): 1, ord("}"): -1}.get(body[end], 0)
        if depth == 0:
            return body[start : end + 1]
    raise AssertionError("unterminated entry")


def test_matches_are_the_bytes_a_read_gives(client: TestClient, exact_parses: list[str]) -> None:
    created = client.post("/fhir/Observation", content=OBSERVATION, headers=FHIR_JSON)
    rid = created.json()["id"]
    read = client.get(f"/fhir/Observation/{rid}").content
    exact_parses.clear()
    found = client.get("/fhir/Observation?code=2345-7")
    assert found.status_code == 200
    assert _entry_bytes(found.content) == read
    assert b'"value":1.50' in found.content
    assert exact_parses == []  # judged and named from a plain parse, shown as stored


def test_shaped_resources_are_parsed_exactly(client: TestClient, exact_parses: list[str]) -> None:
    rid = client.post("/fhir/Observation", content=OBSERVATION, headers=FHIR_JSON).json()["id"]
    exact_parses.clear()
    shaped = client.get("/fhir/Observation?code=2345-7&_elements=valueQuantity")
    resource = shaped.json()["entry"][0]["resource"]
    assert "note" not in resource and resource["meta"]["tag"][0]["code"] == "SUBSETTED"
    assert b'"value":1.50' in shaped.content
    assert exact_parses == [rid]
    summary = orjson.loads(client.get("/fhir/Observation?code=2345-7&_summary=true").content)
    assert summary["entry"][0]["resource"]["meta"]["tag"][0]["code"] == "SUBSETTED"


def test_a_read_is_judged_from_a_plain_parse(client: TestClient, exact_parses: list[str]) -> None:
    rid = client.post("/fhir/Observation", content=OBSERVATION, headers=FHIR_JSON).json()["id"]
    exact_parses.clear()
    read = client.get(f"/fhir/Observation/{rid}")
    vread = client.get(f"/fhir/Observation/{rid}/_history/1")
    assert read.status_code == vread.status_code == 200
    assert b'"value":1.50' in read.content and vread.content == read.content
    assert exact_parses == []  # judged and named from orjson's plain parse


def test_a_label_still_refuses_a_read_judged_plainly(
    client: TestClient, exact_parses: list[str]
) -> None:
    """NORS (Norwegian 9603: blocked for health personnel) withholds it from systems too."""
    labelled = orjson.loads(OBSERVATION)
    labelled["meta"] = {"security": [{"system": NO_9603, "code": "NORS"}]}
    created = client.post("/fhir/Observation", json=labelled, headers=FHIR_JSON)
    assert created.status_code == 201
    rid = created.headers["location"].split("/")[-3]
    refused = client.get(f"/fhir/Observation/{rid}")
    assert refused.status_code == 403  # a system is told it may not, not concealed from
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert exact_parses == []
