"""Reads are audited before the response is released: SIGKILL right after loses nothing.

The reads' rows are linked into the hash chain as they are committed; a write's row waits
for the next batch (at most 0.2 s), and what a crash leaves waiting is linked by the next
start or `samhandling audit seal`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
from sqlalchemy import func, select

from fixtures.server_process import ServerProcess
from samhandling.audit.chain import seal_pending, verify
from samhandling.audit.storage.tables import audit_event
from samhandling.store.database import make_engine

READS = 40


def test_sigkill_after_responses_loses_no_read_audit(database_url: str, tmp_path: Path) -> None:
    server = ServerProcess(database_url, tmp_path / "data").start()
    headers = {**server.headers(), "Content-Type": "application/fhir+json"}
    body = orjson.dumps({"resourceType": "Patient", "gender": "female"})
    created = httpx.post(f"{server.base_url}/Patient", content=body, headers=headers).json()
    with httpx.Client(headers=headers) as client:
        for _ in range(READS):
            assert client.get(f"{server.base_url}/Patient/{created['id']}").status_code == 200
    server.kill()  # immediately after the last response: no graceful shutdown
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            reads = connection.execute(
                select(func.count())
                .select_from(audit_event)
                .where(audit_event.c.interaction == "read")
            ).scalar_one()
        assert reads == READS
        seal_pending(engine)  # the create's row, if the kill came before it was linked
        report = verify(engine)
        assert report.ok and report.checked == READS + 1 and report.unsealed == 0
    finally:
        engine.dispose()
