"""The development issuer explains itself: which issuer a server expects, which server a
token is for, and what `serve` offers at start."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fixtures.fhir_app import make_client
from fixtures.server_process import ServerProcess
from samhandling.auth import DevIssuer


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def mint_cli(data_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "samhandling.cli", "token", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_a_token_for_another_server_is_refused_naming_the_expected_issuer(
    database_url: str, tmp_path: Path
) -> None:
    elsewhere = DevIssuer(tmp_path, "http://localhost:9999/dev-issuer").mint("gp")
    with make_client(database_url, tmp_path, persona=None) as client:
        answer = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {elsewhere}"})
    assert answer.status_code == 401
    assert "http://testserver/dev-issuer" in answer.text


def test_token_with_port_is_minted_for_that_local_server(tmp_path: Path) -> None:
    token = mint_cli(tmp_path, "--persona", "gp", "--port", "8123")
    assert claims_of(token)["iss"] == "http://localhost:8123/dev-issuer"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "data").start()
    yield server
    server.stop()


def test_serve_prints_the_personas_and_a_ready_request(running: ServerProcess) -> None:
    log = running.log_path.read_text()
    assert "development personas: gp, home-care-nurse" in log
    assert 'curl -s -H "Authorization: Bearer $(samhandling token --persona gp' in log
    assert f"'{running.base_url}/Patient?_count=5'" in log


def test_token_finds_the_running_server_by_itself(running: ServerProcess) -> None:
    token = mint_cli(running.data_dir, "--persona", "system")
    assert claims_of(token)["iss"] == running.base_url.removesuffix("/fhir") + "/dev-issuer"
    answer = httpx.get(
        f"{running.base_url}/Patient", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text


def test_a_stale_server_note_is_ignored(tmp_path: Path) -> None:
    note = tmp_path / "dev-issuer" / "server.json"
    note.parent.mkdir(parents=True)
    note.write_text(json.dumps({"base_url": "http://localhost:7777/fhir", "pid": 2**22 + 7}))
    token = mint_cli(tmp_path, "--persona", "gp")
    assert claims_of(token)["iss"] != "http://localhost:7777/dev-issuer"
