"""Bulk export end to end: a real server process runs the job in its background worker.

The integration engine writes patients and observations, kicks off a system export,
polls the status URL (202 with X-Progress until done), reads the manifest and fetches each
file with its token; without a token the file is refused; the job is then deleted.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from fixtures.bulk_export import observation
from fixtures.server_process import ServerProcess
from samhandling.fhir import json_codec

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _create(client: httpx.Client, headers: dict[str, str], resource: dict[str, Any]) -> str:
    answer = client.post(
        f"/{resource['resourceType']}", json=resource, headers={**FHIR_JSON, **headers}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _finished(client: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = client.get(url, headers=headers)
        if answer.status_code == 200:
            return dict(answer.json())
        assert answer.status_code == 202, answer.text
        assert answer.headers["X-Progress"] and answer.headers["Retry-After"]
        time.sleep(0.2)  # a real server's worker: poll, as a client would
    raise AssertionError("the export did not finish in 30 s")


def test_bulk_export_story(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        system = server.headers("system")
        patients = [_create(client, system, {"resourceType": "Patient"}) for _ in range(4)]
        for patient_id in patients:
            _create(client, system, observation(patient_id, 72))
        kick = client.get(
            "/$export",
            params={"_type": "Patient,Observation"},
            headers={**system, "Prefer": "respond-async"},
        )
        assert kick.status_code == 202, kick.text
        status_url = kick.headers["Content-Location"]
        manifest = _finished(client, status_url, system)
        assert manifest["requiresAccessToken"] is True
        counts = {}
        for entry in manifest["output"]:
            assert client.get(entry["url"]).status_code == 401  # no token, no data
            answer = client.get(entry["url"], headers=system)
            assert answer.headers["content-type"].startswith("application/fhir+ndjson")
            lines = [json_codec.parse(line) for line in answer.content.splitlines() if line]
            assert all(r["resourceType"] == entry["type"] for r in lines)
            counts[entry["type"]] = len(lines)
        assert counts == {"Patient": 4, "Observation": 4}
        assert client.delete(status_url, headers=system).status_code == 202
        assert client.get(status_url, headers=system).status_code == 404
