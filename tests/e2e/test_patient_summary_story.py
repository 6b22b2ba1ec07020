"""The patient summary end to end: a real server process, the CLI verifying its signature.

A GP registers a penicillin reaction; the GP and the citizen each get a signed IPS summary
(English and Norwegian); the summary validates; the call is audited as one access naming
the patient; `samhandling summary verify` accepts the saved copy with the server's data
directory and with the published keys, and refuses a tampered copy. Then the summary as
HTML and PDF, a summary from abroad stored and found (a broken one refused), and the keys
at their `.well-known` route.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from fixtures.critical_information import CITIZEN, drug_reaction
from fixtures.server_process import ServerProcess
from fixtures.shared_data import shared_data_dir
from samhandling.services.patient_summary import signing

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _verify(file: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "samhandling.cli", "summary", "verify", str(file), *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _summary(server: ServerProcess, client: httpx.Client, persona: str, language: str) -> Any:
    url = f"/Patient/{CITIZEN}/$summary"
    answer = client.get(url, params={"language": language}, headers=server.headers(persona))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_patient_summary_story(server: ServerProcess, tmp_path: Path) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        server.load_personas(client)
        gp = server.headers("gp")
        created = client.post(
            "/AllergyIntolerance", json=drug_reaction(CITIZEN), headers={**FHIR_JSON, **gp}
        )
        assert created.status_code == 201, created.text
        summary = _summary(server, client, "gp", "en")
        own = _summary(server, client, "citizen", "nb")
        assert own["entry"][0]["resource"]["title"] == "Pasientsammendrag"
        checked = client.post("/Bundle/$validate", json=summary, headers={**FHIR_JSON, **gp})
        assert not [i for i in checked.json().get("issue", []) if i["severity"] == "error"]
        officer = server.headers("security-officer")
        events = client.get("/AuditEvent", params={"patient": CITIZEN}, headers=officer).json()
        calls = [
            e for e in events.get("entry", []) if "$summary" in json.dumps(e["resource"]["entity"])
        ]
        assert len(calls) == 2  # one access per call (the GP's and the citizen's)
        keys = client.get("/$summary-signing-keys", headers=gp)
        assert keys.status_code == 200, keys.text

    saved, tampered, published = tmp_path / "ips.json", tmp_path / "bad.json", tmp_path / "k.json"
    saved.write_text(json.dumps(summary))
    published.write_text(keys.text)
    summary["entry"][0]["resource"]["title"] = "Endret sammendrag"
    tampered.write_text(json.dumps(summary))
    assert _verify(saved, "--data-dir", str(server.data_dir)).returncode == 0
    assert _verify(saved, "--keys", str(published)).returncode == 0
    refused = _verify(tampered, "--keys", str(published))
    assert refused.returncode == 1 and "INVALID" in refused.stderr


def _foreign_summary() -> dict[str, Any]:
    """An official IPS example as received from the Netherlands for the citizen."""
    path = shared_data_dir() / "ips" / "Bundle-IPS-examples-Bundle-01.json"
    bundle = json.loads(path.read_text())
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["birthDate"] = "1985-05-05"  # matched by the contact point
    return dict(bundle)


def test_summary_rendered_received_and_keys_published(server: ServerProcess) -> None:
    """HTML and PDF come back with their media types; a summary from abroad is stored and
    found as the patient's document, a broken one refused naming the element; the keys are
    at the `.well-known` route without a token and verify the summary."""
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        server.load_personas(client)
        gp = server.headers("gp")
        created = client.post(
            "/AllergyIntolerance", json=drug_reaction(CITIZEN), headers={**FHIR_JSON, **gp}
        )
        assert created.status_code == 201, created.text
        url = f"/Patient/{CITIZEN}/$summary"
        page = client.get(url, headers={**gp, "Accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Fenoksymetylpenicillin" in page.text and "Allergier og intoleranser" in page.text
        pdf = client.get(url, params={"_format": "pdf", "language": "en"}, headers=gp)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")

        receive = f"/Patient/{CITIZEN}/$receive-summary"
        stored = client.post(receive, json=_foreign_summary(), headers={**FHIR_JSON, **gp})
        assert stored.status_code == 201, stored.text
        search = {"patient": CITIZEN, "type": "http://loinc.org|60591-5"}
        found = client.get("/DocumentReference", params=search, headers=gp).json()
        assert [e["resource"]["id"] for e in found["entry"]] == [stored.json()["id"]]
        broken = _foreign_summary()
        del broken["entry"][0]["resource"]["subject"]
        refused = client.post(receive, json=broken, headers={**FHIR_JSON, **gp})
        assert refused.status_code == 422, refused.text
        where = [i["expression"][0] for i in refused.json()["issue"]]
        assert "Bundle.entry[0].resource.ofType(Composition).subject" in where

        summary = client.get(url, headers=gp).json()
        root = server.base_url.removesuffix("/fhir")
        keys = httpx.get(f"{root}/.well-known/summary-signing-keys.json", timeout=30)
        assert keys.status_code == 200, keys.text
    assert signing.verify(summary, keys.json())
