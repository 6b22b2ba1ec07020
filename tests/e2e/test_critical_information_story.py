"""Critical information end to end: a real server process, tokens from the built-in issuer.

A GP registers a penicillin reaction; a hospital physician reads it, updates it with a stale
version (refused) and then the current one; a pharmacist reads drug reactions and is
refused conditions; the citizen sees the entry; once entered in error it disappears for the
citizen but stays in the history for clinicians; every step is in the audit trail.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx

from fixtures.critical_information import (
    CITIZEN,
    critical_condition,
    drug_reaction,
    entered_in_error,
)
from fixtures.server_process import ServerProcess

FHIR_JSON = {"Content-Type": "application/fhir+json"}
HPR = {"gp": "9100001", "hospital-physician": "9100003", "pharmacist": "9100004"}


def _audit(server: ServerProcess, client: httpx.Client, **query: str) -> list[dict[str, Any]]:
    officer = server.headers("security-officer")
    bundle = client.get("/AuditEvent", params={**query, "_count": "1000"}, headers=officer).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def _steps(events: list[dict[str, Any]], reference: str) -> list[tuple[str, str]]:
    """(interaction, outcome) of the events naming `reference`, oldest first."""
    found = []
    for event in sorted(events, key=lambda e: e["recorded"]):
        refs = [e.get("what", {}).get("reference", "") for e in event.get("entity", [])]
        if any(r.startswith(reference) for r in refs):
            found.append((event["subtype"][0]["code"], event["outcome"]))
    return found


def test_critical_information_story(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
        gp, physician = server.headers("gp"), server.headers("hospital-physician")
        pharmacist, citizen = server.headers("pharmacist"), server.headers("citizen")

        created = client.post(
            "/AllergyIntolerance", json=drug_reaction(CITIZEN), headers={**FHIR_JSON, **gp}
        )
        assert created.status_code == 201, created.text
        reaction = created.json()
        url = f"/AllergyIntolerance/{reaction['id']}"
        condition = client.post(
            "/Condition", json=critical_condition(CITIZEN), headers={**FHIR_JSON, **gp}
        )
        assert condition.status_code == 201, condition.text

        read = client.get(url, headers=physician)
        assert read.status_code == 200 and read.json()["meta"]["versionId"] == "1"
        confirmed = client.post(f"{url}/$confirm", headers={**FHIR_JSON, **gp})
        assert confirmed.status_code == 200  # the GP confirms meanwhile: version 2

        change = copy.deepcopy(read.json())
        change["criticality"] = "low"
        stale = client.put(
            url, json=change, headers={**FHIR_JSON, **physician, "If-Match": 'W/"1"'}
        )
        assert stale.status_code == 412 and stale.headers["ETag"] == 'W/"2"'
        current = client.get(url, headers=physician).json()
        current["criticality"] = "low"
        updated = client.put(
            url, json=current, headers={**FHIR_JSON, **physician, "If-Match": 'W/"2"'}
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["meta"]["versionId"] == "3"

        reactions = client.get(
            "/AllergyIntolerance", params={"patient": CITIZEN}, headers=pharmacist
        )
        assert [e["resource"]["id"] for e in reactions.json()["entry"]] == [reaction["id"]]
        assert (
            client.get("/Condition", params={"patient": CITIZEN}, headers=pharmacist).status_code
            == 403
        )

        summary = client.get(f"/Patient/{CITIZEN}/$critical-information", headers=citizen).json()
        shown = [
            p["resource"]["id"]
            for g in summary["parameter"]
            if g["name"] == "group"
            for p in g["part"]
            if p["name"] == "entry"
        ]
        assert reaction["id"] in shown and condition.json()["id"] in shown

        removal = updated.json()
        entered_in_error(removal)
        removed = client.put(url, json=removal, headers={**FHIR_JSON, **physician})
        assert removed.status_code == 200, removed.text
        assert client.get(url, headers=citizen).status_code == 404
        again = client.get(f"/Patient/{CITIZEN}/$critical-information", headers=citizen).json()
        assert reaction["id"] not in str(again)
        history = client.get(f"{url}/_history", headers=physician).json()
        assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == [
            "4",
            "3",
            "2",
            "1",
        ]

        ref = f"AllergyIntolerance/{reaction['id']}"
        gp_steps = _steps(_audit(server, client, agent=HPR["gp"]), ref)
        assert gp_steps == [("create", "0"), ("confirm", "0")]
        physician_steps = _steps(_audit(server, client, agent=HPR["hospital-physician"]), ref)
        assert physician_steps[0] == ("read", "0")
        assert any(step == "update" and outcome != "0" for step, outcome in physician_steps)
        assert [s for s, o in physician_steps if o == "0"].count("update") == 2
        pharmacist_events = _audit(server, client, agent=HPR["pharmacist"])
        assert _steps(pharmacist_events, ref) == [("search", "0")]
        refused = [e for e in pharmacist_events if e["outcome"] != "0"]
        assert refused and refused[0]["subtype"][0]["code"] == "search"
        citizen_events = _audit(server, client, patient=f"Patient/{CITIZEN}")
        citizen_reads = [
            e for e in citizen_events if e["subtype"][0]["code"] == "critical-information"
        ]
        assert len(citizen_reads) == 2
