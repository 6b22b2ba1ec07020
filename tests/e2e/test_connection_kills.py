"""PostgreSQL connections terminated under load: every request gets an answer, never a 500.

The server's database connections (the pool's and the audit journal's) are terminated with
`pg_terminate_backend` again and again while clients read, search and write concurrently.
Each request must be answered (no dropped connection), with its normal status or 503 with
an OperationOutcome and Retry-After; afterwards the server recovers by itself.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
from sqlalchemy import make_url, text

from fixtures.databases import migrate, postgres_admin_url
from fixtures.server_process import ServerProcess
from samhandling.store.database import make_engine

PATIENT = orjson.dumps({"resourceType": "Patient", "gender": "female"})
CLIENTS = 6
SECONDS = 8.0


def _terminate_server_backends(database: str, stop: threading.Event) -> int:
    """Kill every connection to `database` but our own, every 50 ms until `stop`."""
    admin = make_engine(postgres_admin_url()).execution_options(isolation_level="AUTOCOMMIT")
    killed = 0
    sql = text(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = :db AND pid <> pg_backend_pid()"
    )
    with admin.connect() as connection:
        while not stop.is_set():
            killed += connection.execute(sql, {"db": database}).scalar_one()
            time.sleep(0.05)
    admin.dispose()
    return killed


def _load(
    base: str, headers: dict[str, str], stop: threading.Event, outcomes: Counter[str]
) -> None:
    requests: list[Callable[[httpx.Client], httpx.Response]] = [
        lambda c: c.post(f"{base}/Patient", content=PATIENT, headers=headers),
        lambda c: c.get(f"{base}/Patient?gender=female&_count=5", headers=headers),
        lambda c: c.get(f"{base}/Patient/nope", headers=headers),
        lambda c: c.get(f"{base}/Patient", headers={"Authorization": "Bearer forged"}),
    ]
    with httpx.Client(timeout=30) as client:
        turn = 0
        while not stop.is_set():
            turn += 1
            try:
                response = requests[turn % len(requests)](client)
            except httpx.HTTPError as exc:
                outcomes[f"dropped {type(exc).__name__}"] += 1
                continue
            outcomes[_outcome(response)] += 1


def _outcome(response: httpx.Response) -> str:
    """The status, or what was wrong with a 503 (not an OperationOutcome, no Retry-After)."""
    if response.status_code != 503:
        return str(response.status_code)
    body = response.json()
    transient = body.get("resourceType") == "OperationOutcome" and body["issue"][0]["code"]
    if transient != "transient" or not response.headers.get("Retry-After"):
        return f"bad 503 {response.text[:200]}"
    return "503"


def test_terminated_connections_under_load_answer_503_never_500(
    postgres_database_url: str, tmp_path: Path
) -> None:
    migrate(postgres_database_url)
    server = ServerProcess(postgres_database_url, tmp_path / "data").start()
    headers = {"Content-Type": "application/fhir+json", **server.headers()}
    stop, outcomes = threading.Event(), Counter[str]()
    clients = [
        threading.Thread(target=_load, args=(server.base_url, headers, stop, outcomes))
        for _ in range(CLIENTS)
    ]
    killed: list[int] = []
    killer = threading.Thread(
        target=lambda: killed.append(
            _terminate_server_backends(make_url(postgres_database_url).database or "", stop)
        )
    )
    try:
        for thread in [*clients, killer]:
            thread.start()
        time.sleep(SECONDS)
        stop.set()
        for thread in [*clients, killer]:
            thread.join(60)
        log = server.log_path.read_text()
        assert killed and killed[0] > 10, killed
        bad = {
            k: n
            for k, n in outcomes.items()
            if k.startswith(("5", "dropped", "bad")) and k != "503"
        }
        assert not bad, (outcomes, log[-4000:])
        assert outcomes["503"] > 0 and outcomes["201"] > 0, outcomes
        # afterwards it serves again by itself: a write may still meet a pooled connection
        # killed in the last round (writes are not run again: 503, and the pool discards
        # the connections that were open then); the next one is served
        for _ in range(3):
            after = httpx.post(f"{server.base_url}/Patient", content=PATIENT, headers=headers)
            if after.status_code != 503:
                break
        assert after.status_code == 201, after.text
    finally:
        stop.set()
        server.stop()
