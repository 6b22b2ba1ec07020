"""Lab results end to end: a real server process, tokens from the built-in issuer.

The lab system submits pathology results as transactions: one issued an hour ago, one
issued fifteen days ago (past the fourteen-day delay). The GP reads both at once; the
citizen sees only the older one. The GP blocks a third (routine chemistry, released long
ago) with a reason: the citizen no longer sees it by read, search or $lastn, the GP still
does, and the block is in the audit trail under the operation's name.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from fixtures.critical_information import CITIZEN
from fixtures.lab_results import created_ids, submission
from fixtures.server_process import ServerProcess

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _submit(client: httpx.Client, headers: dict[str, str], bundle: dict[str, Any]) -> str:
    answer = client.post(
        str(client.base_url).rstrip("/"), json=bundle, headers={**FHIR_JSON, **headers}
    )
    assert answer.status_code == 200, answer.text
    return created_ids(answer.json())["DiagnosticReport"][0]


def _report_ids(client: httpx.Client, headers: dict[str, str]) -> set[str]:
    found = client.get("/DiagnosticReport", params={"patient": CITIZEN}, headers=headers)
    assert found.status_code == 200, found.text
    return {e["resource"]["id"] for e in found.json().get("entry", [])}


def test_lab_results_story(server: ServerProcess) -> None:
    now = datetime.now(UTC)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
        lab, gp, citizen = server.headers("system"), server.headers("gp"), server.headers("citizen")

        fresh = _submit(client, lab, submission(CITIZEN, now - timedelta(hours=1), "PAT"))
        older = _submit(client, lab, submission(CITIZEN, now - timedelta(days=15), "PAT"))
        routine = _submit(client, lab, submission(CITIZEN, now - timedelta(days=300), results=2))

        assert _report_ids(client, gp) == {fresh, older, routine}  # the GP at once
        assert _report_ids(client, citizen) == {older, routine}  # the citizen after the delay
        assert client.get(f"/DiagnosticReport/{fresh}", headers=citizen).status_code == 404

        blocked = client.post(
            f"/DiagnosticReport/{routine}/$block",
            json={
                "resourceType": "Parameters",
                "parameter": [{"name": "reason", "valueString": "Samtale først"}],
            },
            headers={**FHIR_JSON, **gp},
        )
        assert blocked.status_code == 200, blocked.text
        assert _report_ids(client, citizen) == {older}
        assert client.get(f"/DiagnosticReport/{routine}", headers=citizen).status_code == 404
        lastn = client.get(
            "/Observation/$lastn", params={"patient": CITIZEN, "max": "5"}, headers=citizen
        )
        assert (
            lastn.status_code == 200 and len(lastn.json()["entry"]) == 1
        )  # the older one's result
        assert client.get(f"/DiagnosticReport/{routine}", headers=gp).status_code == 200

        officer = server.headers("security-officer")
        events = client.get(
            "/AuditEvent", params={"agent": "9100001", "_count": "1000"}, headers=officer
        )
        subtypes = [e["resource"]["subtype"][0]["code"] for e in events.json().get("entry", [])]
        assert "block" in subtypes, subtypes
