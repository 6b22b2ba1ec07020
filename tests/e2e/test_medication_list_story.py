"""The medication list end to end: a real server process, tokens from the built-in issuer.

A GP creates the citizen's list; a hospital physician adds an entry; the GP, still holding
the old version, saves a change and is refused with the hospital's entry named; after
re-reading, the GP's save succeeds; the pharmacist reads the list and the drug reactions
and cannot change it; the hospital pauses the list and the GP's next save is refused with
the pause's reason; the citizen reads the list; the saves are in the audit trail.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from fixtures.critical_information import CITIZEN, drug_reaction
from fixtures.server_process import ServerProcess

FHIR_JSON = {"Content-Type": "application/fhir+json"}
REASON = "https://samhandling.no/fhir/StructureDefinition/pll-change-reason"
LIST = f"/Patient/{CITIZEN}/$medication-list"
UPDATE = f"/Patient/{CITIZEN}/$medication-list-update"


def _entry(atc: str, text: str, reason: str | None = None) -> dict[str, Any]:
    entry_id = str(uuid.uuid4())
    entry: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{entry_id}"}],
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.whocc.no/atc", "code": atc}],
            "text": text,
        },
        "subject": {"reference": f"Patient/{CITIZEN}"},
        "dosage": [{"text": "1 tablett daglig"}],
    }
    if reason:
        entry["extension"] = [{"url": REASON, "valueString": reason}]
    return entry


def _body(based_on: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": "basedOn", "valueInteger": based_on}]
        + [{"name": "entry", "resource": e} for e in entries],
    }


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in document["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
    ]


def test_medication_list_story(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
        gp = {**FHIR_JSON, **server.headers("gp")}
        hospital = {**FHIR_JSON, **server.headers("hospital-physician")}
        statin = _entry("C10AA01", "Simvastatin 20 mg")
        created = client.post(UPDATE, json=_body(0, [statin]), headers=gp)
        assert created.status_code == 201, created.text

        metformin = _entry("A10BA02", "Metformin 500 mg")
        added = client.post(UPDATE, json=_body(1, [statin, metformin]), headers=hospital)
        assert added.status_code == 200, added.text

        dose = {**statin, "dosage": [{"text": "2 tabletter"}], "extension": [
            {"url": REASON, "valueString": "Økt dose etter kontroll"}]}  # fmt: skip
        stale = client.post(UPDATE, json=_body(1, [dose]), headers=gp)
        assert stale.status_code == 412, stale.text
        assert "Metformin 500 mg" in stale.json()["issue"][0]["diagnostics"]

        document = client.get(LIST, headers=gp).json()
        listing = document["entry"][1]["resource"]
        based = int(listing["meta"]["versionId"])
        kept = [s for s in _statements(document) if s["id"] != statin["identifier"][0]["value"][9:]]
        merged = client.post(UPDATE, json=_body(based, [dose, *kept]), headers=gp)
        assert merged.status_code == 200, merged.text

        assert (
            client.post("/AllergyIntolerance", json=drug_reaction(CITIZEN), headers=gp).status_code
            == 201
        )
        pharmacist = {**FHIR_JSON, **server.headers("pharmacist")}
        read = client.get(LIST, headers=pharmacist).json()
        types = [e["resource"]["resourceType"] for e in read["entry"]]
        assert types.count("MedicationStatement") == 2 and "AllergyIntolerance" in types
        current = int(read["entry"][1]["resource"]["meta"]["versionId"])
        refused = client.post(UPDATE, json=_body(current, [dose, *kept]), headers=pharmacist)
        assert refused.status_code == 403

        pause = {"resourceType": "Parameters", "parameter": [
            {"name": "reason", "valueString": "Innlagt"},
            {"name": "expectedEnd", "valueDateTime": "2026-12-24"}]}  # fmt: skip
        paused = client.post(
            f"/Patient/{CITIZEN}/$medication-list-pause", json=pause, headers=hospital
        )
        assert paused.status_code == 200, paused.text
        blocked = client.post(UPDATE, json=_body(current + 1, [dose, *kept]), headers=gp)
        assert blocked.status_code == 403 and "paused" in blocked.text and "Innlagt" in blocked.text

        citizen = client.get(LIST, headers=server.headers("citizen"))
        assert citizen.status_code == 200
        assert len(_statements(citizen.json())) == 2

        officer = server.headers("security-officer")
        events = client.get(
            "/AuditEvent", params={"agent": "9100001", "_count": "1000"}, headers=officer
        ).json()
        codes = [e["resource"]["subtype"][0]["code"] for e in events.get("entry", [])]
        assert "medication-list-update" in codes
