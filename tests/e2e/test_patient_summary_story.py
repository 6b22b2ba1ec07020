"""The patient summary end to end: a real server process, the CLI verifying its signature.

A GP registers a penicillin reaction; the GP and the citizen each get a signed IPS summary
(English and Norwegian); the summary validates; the call is audited as one access naming
the patient; `samhandling summary verify` accepts the saved copy with the server's data
directory and with the published keys, and refuses a tampered copy.
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
