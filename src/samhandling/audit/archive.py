"""Retention: move the oldest part of the chain to compressed NDJSON, keep verifying.

An archive is a gzip NDJSON file holding a prefix of the chain (every column, the patients
and the hashes). An anchor row remembers the last archived position and hash, so that
`chain.verify` continues from it, and `verify_archive` re-checks the file on its own.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, insert, select

from samhandling.audit.chain import GENESIS, chain_start, patients_of, row_hash, seal_pending
from samhandling.audit.storage.tables import audit_anchor, audit_event, audit_patient
from samhandling.fhir.instants import now_us
from samhandling.store.advisory_locks import lock_key
from samhandling.store.database import write_connection


@dataclass(frozen=True)
class ArchiveResult:
    path: Path | None
    count: int
    last_position: int


def archive(engine: Engine, before_us: int, directory: Path) -> ArchiveResult:
    """Archive the sealed prefix of the chain recorded before `before_us`."""
    seal_pending(engine)
    directory.mkdir(parents=True, exist_ok=True)
    with write_connection(engine) as connection:
        lock_key(connection, "audit-archive")  # appenders need not wait: they add at the head
        start, _ = chain_start(connection)
        rows = _prefix(connection, start, before_us)
        if not rows:
            return ArchiveResult(None, 0, start)
        patients = patients_of(connection, [r["event_id"] for r in rows])
        lines = [_line(row, patients.get(row["event_id"], [])) for row in rows]
        data = gzip.compress(b"\n".join(lines) + b"\n", mtime=0)
        last = rows[-1]
        path = directory / f"audit-{start + 1:012d}-{last['chain_pos']:012d}.ndjson.gz"
        path.write_bytes(data)
        connection.execute(
            insert(audit_anchor).values(
                chain_pos=last["chain_pos"],
                hash=last["hash"],
                archived_at_us=now_us(),
                archive_name=path.name,
                archive_sha256=hashlib.sha256(data).hexdigest(),
            )
        )
        ids = [r["event_id"] for r in rows]
        connection.execute(delete(audit_patient).where(audit_patient.c.event_id.in_(ids)))
        connection.execute(delete(audit_event).where(audit_event.c.event_id.in_(ids)))
    return ArchiveResult(path, len(rows), int(last["chain_pos"]))


def _prefix(connection: Connection, start: int, before_us: int) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(audit_event).where(audit_event.c.chain_pos > start).order_by(audit_event.c.chain_pos)
    ).mappings()
    prefix: list[dict[str, Any]] = []
    for row in rows:
        if row["recorded_at_us"] >= before_us:
            break
        prefix.append(dict(row))
    return prefix


def _line(row: dict[str, Any], patients: list[str]) -> bytes:
    record = {str(k): v for k, v in row.items() if k != "content"}
    record["content"] = base64.b64encode(row["content"]).decode()
    record["patients"] = sorted(patients)
    return orjson.dumps(record)


def verify_archive(path: Path, previous_hash: str = GENESIS) -> tuple[bool, str, str | None]:
    """(ok, last hash, problem) for one archive file, chained from `previous_hash`."""
    for raw in gzip.decompress(path.read_bytes()).splitlines():
        record = orjson.loads(raw)
        row = {**record, "content": base64.b64decode(record["content"])}
        if record["prev_hash"] != previous_hash:
            return False, previous_hash, f"position {record['chain_pos']}: broken link"
        expected = row_hash(previous_hash, record["chain_pos"], row, record["patients"])
        if record["hash"] != expected:
            return False, previous_hash, f"position {record['chain_pos']}: altered record"
        previous_hash = record["hash"]
    return True, previous_hash, None
