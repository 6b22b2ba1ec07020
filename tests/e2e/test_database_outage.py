"""Restarting PostgreSQL under a running server: clean failures, then recovery by itself."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import orjson
import pytest

from fixtures.databases import migrate
from fixtures.server_process import ServerProcess

PATIENT = orjson.dumps({"resourceType": "Patient", "gender": "female"})
HEADERS = {"Content-Type": "application/fhir+json"}


def _cluster(action: str) -> None:
    version = subprocess.run(
        ["ls", "/etc/postgresql"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            version,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
    )


def _wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("not ready again")


@pytest.mark.serial  # stops the shared server: ./dev test runs it alone
def test_postgres_restart_while_serving(postgres_database_url: str, tmp_path: Path) -> None:
    if subprocess.run(["which", "pg_ctlcluster"], capture_output=True).returncode != 0:
        pytest.skip("pg_ctlcluster is not available to restart the local server")
    migrate(postgres_database_url)
    server = ServerProcess(postgres_database_url, tmp_path / "data").start()
    root = server.base_url.removesuffix("/fhir")
    headers = {**HEADERS, **server.headers()}
    try:
        # The session's database may hold other tests' patients: count from here.
        before = httpx.get(f"{server.base_url}/Patient", headers=headers).json()["total"]
        assert (
            httpx.post(f"{server.base_url}/Patient", content=PATIENT, headers=headers).status_code
            == 201
        )
        _cluster("stop")
        try:
            during = httpx.post(
                f"{server.base_url}/Patient", content=PATIENT, headers=headers, timeout=30
            )
            assert during.status_code == 503
            assert during.json()["resourceType"] == "OperationOutcome"
            assert "Traceback" not in during.text and "psycopg" not in during.text
            assert httpx.get(f"{root}/readyz", timeout=30).status_code == 503
        finally:
            _cluster("start")
        _wait_ready(f"{root}/readyz")
        after = httpx.post(f"{server.base_url}/Patient", content=PATIENT, headers=headers)
        assert after.status_code == 201
        total = httpx.get(f"{server.base_url}/Patient", headers=headers).json()["total"]
        assert total == before + 2  # the one written during the outage is not there
    finally:
        server.stop()
