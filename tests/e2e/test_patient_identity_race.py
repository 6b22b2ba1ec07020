"""Twenty clients create a Patient with the same fødselsnummer at once: one record."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from fixtures.server_process import ServerProcess
from samhandling.identifiers.identifier_systems import FNR_SYSTEM

CLIENTS = 20
FNR = "04839013308"


@pytest.fixture
def pg_server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(database_url, tmp_path / "data", workers=2).start()
    yield process
    process.stop()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_creates_through_the_server_make_one_patient(pg_server: ServerProcess) -> None:
    headers = {"Content-Type": "application/fhir+json", **pg_server.headers()}
    identifier = {"system": FNR_SYSTEM, "value": FNR}
    body = {"resourceType": "Patient", "identifier": [identifier], "gender": "male"}
    barrier = threading.Barrier(CLIENTS)

    def attempt(_: int) -> int:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            return client.post(
                f"{pg_server.base_url}/Patient", json=body, headers=headers
            ).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = sorted(pool.map(attempt, range(CLIENTS)))
    assert statuses == [201] + [409] * (CLIENTS - 1)
    found = httpx.get(
        f"{pg_server.base_url}/Patient",
        params={"identifier": f"{FNR_SYSTEM}|{FNR}"},
        headers=pg_server.headers(),
    ).json()
    assert len(found.get("entry", [])) == 1
