"""The hash chain that makes the audit trail tamper-evident.

Rows are appended unsealed (by many processes and inside write transactions); the sealer
gives each committed row the next chain position and
`hash = SHA-256(prev_hash | chain_pos | canonical row)`, where the canonical row covers the
AuditEvent JSON, every searchable column and the patients. Altering, deleting or reordering
a sealed row breaks the chain at that row, which `verify` reports. Only one sealer runs at
a time (a PostgreSQL advisory lock; the SQLite write lock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, select, update

from samhandling.store.audit_tables import audit_anchor, audit_event, audit_patient
from samhandling.store.database import lock_key, write_connection

GENESIS = "0" * 64
SEAL_BATCH = 1000
CHAINED_COLUMNS = (
    "event_id", "recorded_at_us", "interaction", "action", "outcome", "http_status",
    "agent_kind", "agent_hpr", "agent_org", "purpose_of_use", "emergency",
)  # fmt: skip


def row_hash(prev_hash: str, chain_pos: int, row: dict[str, Any], patients: list[str]) -> str:
    """The chain hash of one row."""
    canonical = orjson.dumps(
        {
            "columns": {c: row[c] for c in CHAINED_COLUMNS},
            "content": hashlib.sha256(row["content"]).hexdigest(),
            "patients": sorted(patients),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    digest = hashlib.sha256(f"{prev_hash}|{chain_pos}|".encode() + canonical)
    return digest.hexdigest()


def chain_head(connection: Connection) -> tuple[int, str]:
    """(last chain position, its hash): from the newest sealed row, or the newest anchor."""
    row = connection.execute(
        select(audit_event.c.chain_pos, audit_event.c.hash)
        .where(audit_event.c.chain_pos.is_not(None))
        .order_by(audit_event.c.chain_pos.desc())
        .limit(1)
    ).first()
    if row is not None:
        return int(row.chain_pos), str(row.hash)
    return _chain_start(connection)


def patients_of(connection: Connection, event_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not event_ids:
        return found
    rows = connection.execute(
        select(audit_patient.c.event_id, audit_patient.c.patient_id).where(
            audit_patient.c.event_id.in_(event_ids)
        )
    )
    for event_id, patient_id in rows:
        found.setdefault(int(event_id), []).append(patient_id)
    return found


def seal_pending(engine: Engine) -> int:
    """Chain every committed, unsealed row (oldest first); returns how many were sealed."""
    sealed = 0
    while True:
        with write_connection(engine) as connection:
            lock_key(connection, "audit-sealer")
            count = _seal_batch(connection)
        sealed += count
        if count < SEAL_BATCH:
            return sealed


def _seal_batch(connection: Connection) -> int:
    rows = [
        dict(r)
        for r in connection.execute(
            select(audit_event)
            .where(audit_event.c.chain_pos.is_(None))
            .order_by(audit_event.c.event_id)
            .limit(SEAL_BATCH)
        ).mappings()
    ]
    if not rows:
        return 0
    position, previous = chain_head(connection)
    patients = patients_of(connection, [r["event_id"] for r in rows])
    for row in rows:
        position += 1
        digest = row_hash(previous, position, row, patients.get(row["event_id"], []))
        connection.execute(
            update(audit_event)
            .where(audit_event.c.event_id == row["event_id"])
            .values(chain_pos=position, prev_hash=previous, hash=digest)
        )
        previous = digest
    return len(rows)


@dataclass(frozen=True)
class VerifyReport:
    """The result of `verify`: ok, how many rows were checked, the first broken link."""

    ok: bool
    checked: int
    unsealed: int
    broken_at: int | None = None  # chain position of the first bad row
    reason: str | None = None


def verify(engine: Engine, *, start: tuple[int, str] | None = None) -> VerifyReport:
    """Walk the chain from its start (genesis, or the newest archive anchor)."""
    with engine.connect() as connection:
        position, previous = start or _chain_start(connection)
        checked = 0
        while True:
            rows = _sealed_after(connection, position)
            if not rows:
                break
            patients = patients_of(connection, [r["event_id"] for r in rows])
            for row in rows:
                problem = _check_row(row, position, previous, patients)
                if problem:
                    return VerifyReport(False, checked, 0, position + 1, problem)
                position, previous = row["chain_pos"], row["hash"]
                checked += 1
        unsealed = _unsealed_count(connection)
    return VerifyReport(True, checked, unsealed)


def _chain_start(connection: Connection) -> tuple[int, str]:
    anchor = connection.execute(
        select(audit_anchor.c.chain_pos, audit_anchor.c.hash)
        .order_by(audit_anchor.c.chain_pos.desc())
        .limit(1)
    ).first()
    return (int(anchor.chain_pos), str(anchor.hash)) if anchor else (0, GENESIS)


def _sealed_after(connection: Connection, position: int) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in connection.execute(
            select(audit_event)
            .where(audit_event.c.chain_pos > position)
            .order_by(audit_event.c.chain_pos)
            .limit(SEAL_BATCH)
        ).mappings()
    ]


def _check_row(
    row: dict[str, Any], position: int, previous: str, patients: dict[int, list[str]]
) -> str | None:
    if row["chain_pos"] != position + 1:
        return f"chain position {position + 1} is missing (a record was deleted)"
    if row["prev_hash"] != previous:
        return "the link to the previous record does not match (records removed or reordered)"
    expected = row_hash(previous, position + 1, row, patients.get(row["event_id"], []))
    if row["hash"] != expected:
        return "the record's content does not match its hash (the record was altered)"
    return None


def _unsealed_count(connection: Connection) -> int:
    return int(
        connection.execute(
            select(func.count()).select_from(audit_event).where(audit_event.c.chain_pos.is_(None))
        ).scalar_one()
    )
