"""SIGKILL in the middle of a large transaction leaves nothing of it behind."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx
import orjson
from sqlalchemy import func, select, text

from fixtures.server_process import ServerProcess
from samhandling.store.database import make_engine
from samhandling.store.schema import resource, resource_version

ENTRIES = 4000
HEADERS = {"Content-Type": "application/fhir+json"}


def large_transaction() -> bytes:
    entries = [
        {
            "fullUrl": f"urn:uuid:00000000-0000-0000-0000-{i:012d}",
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": f"m{i}"},
            },
            "request": {"method": "POST", "url": "Observation"},
        }
        for i in range(ENTRIES)
    ]
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def _transaction_in_progress(database_url: str, data_dir: Path) -> bool:
    if database_url.startswith("sqlite"):
        wal = Path(database_url.removeprefix("sqlite:///") + "-wal")
        return wal.exists() and wal.stat().st_size > 256 * 1024
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            busy = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                    " AND xact_start < now() - interval '300 milliseconds'"
                )
            ).scalar_one()
        return bool(busy)
    finally:
        engine.dispose()


def test_sigkill_mid_transaction_leaves_nothing(database_url: str, tmp_path: Path) -> None:
    # Nothing but the killed transaction may write (the shipped definitions would, at start).
    server = ServerProcess(database_url, tmp_path / "data", publish_definitions=False).start()
    body = large_transaction()
    headers = {**HEADERS, **server.headers()}

    def send() -> None:
        # The server dies under us: that is the point.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(server.base_url, content=body, headers=headers, timeout=120)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 60
    while not _transaction_in_progress(database_url, tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert time.monotonic() < deadline, "the transaction never got under way"
    server.kill()
    sender.join(30)
    restarted = ServerProcess(database_url, tmp_path / "data", publish_definitions=False)
    restarted.start()
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(resource)).scalar_one() == 0
            assert (
                connection.execute(select(func.count()).select_from(resource_version)).scalar_one()
                == 0
            )
        engine.dispose()  # (again in `finally` when an assertion fails: no connection leaks)
        assert (
            httpx.get(f"{restarted.base_url}/Observation", headers=restarted.headers()).json()[
                "total"
            ]
            == 0
        )
    finally:
        engine.dispose()
        restarted.stop()
