"""The hash chain that makes the audit trail tamper-evident.

Every row gets a chain position and `hash = SHA-256(prev_hash | chain_pos | canonical row)`,
where the canonical row covers the AuditEvent JSON, every searchable column (the event id
too) and the patients. Only chained batches link rows (`audit/storage/writes.py`): they take
one lock held until their transaction commits (a PostgreSQL advisory transaction lock;
SQLite's database write lock), so all processes extend one chain, and link first the rows
still waiting (those write transactions inserted as they committed, without taking the
lock) and then their own new rows. The request journal of every process runs such a
batch for every group of requests; `seal_pending` runs one on its own. Altering, deleting
or reordering a linked row breaks the chain at that row, which `verify` reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, select

from samhandling.audit.storage.tables import audit_anchor, audit_event, audit_patient
from samhandling.audit.storage.writes import IN_DATABASE, SEAL_LIMIT, Batch, Head, chain_in
from samhandling.store.database import write_connection

GENESIS = "0" * 64
SEAL_BATCH = 1000  # rows verify reads at a time
# The advisory lock's name from the time of the periodic sealer: processes of both versions
# exclude each other during a rolling upgrade.
CHAIN_LOCK = "audit-sealer"
CHAINED_COLUMNS = (
    "event_id", "recorded_at_us", "interaction", "action", "outcome", "http_status",
    "agent_kind", "agent_hpr", "agent_org", "purpose_of_use", "emergency",
)  # fmt: skip
# The canonical row is JSON with its keys sorted: the dicts below are built in that order
# (orjson keeps it), which gives the bytes OPT_SORT_KEYS gave without sorting every row.
_SORTED_COLUMNS = tuple(sorted(CHAINED_COLUMNS))
_chained_values = itemgetter(*_SORTED_COLUMNS)


def row_hash(prev_hash: str, chain_pos: int, row: dict[str, Any], patients: list[str]) -> str:
    """The chain hash of one row."""
    return chain_digest(prev_hash, chain_pos, canonical_row(row, patients))


def canonical_row(row: dict[str, Any], patients: list[str]) -> bytes:
    """What a row's link hashes besides its place: its chained columns, its content's
    digest and its patients, as JSON with sorted keys (on PostgreSQL the database prints
    the same bytes to link the rows write transactions left waiting: migration 0030)."""
    content = hashlib.sha256(row["content"]).hexdigest()
    return orjson.dumps(
        {
            "columns": dict(zip(_SORTED_COLUMNS, _chained_values(row), strict=True)),
            "content": content,
            "patients": sorted(patients),
        }
    )


def chain_digest(prev_hash: str, chain_pos: int, canonical: bytes) -> str:
    """SHA-256(prev_hash | chain_pos | canonical row), hex; the database computes the same
    for the journal's batches (migration 0028, `samhandling_audit_chain`)."""
    digest = hashlib.sha256(f"{prev_hash}|{chain_pos}|".encode())
    digest.update(canonical)
    return digest.hexdigest()


def link_batch(
    head: Head,
    waiting: list[dict[str, Any]],
    events: list[dict[str, Any]],
    patients: list[list[str]],
) -> Batch:
    """Link the waiting rows (their "patients" with them; SQLite: on PostgreSQL the database
    links them and `waiting` is empty), then `events`, after `head`.

    `events` get their chain columns in place; the waiting rows' links are returned. With
    `head` IN_DATABASE (no waiting rows) the events get no links: the batch carries each
    one's canonical bytes, and the database links them under the chain lock.
    """
    if head is IN_DATABASE:
        canonical = [canonical_row(r, p) for r, p in zip(events, patients, strict=True)]
        return Batch(events=events, canonical=canonical)
    position, previous = head or (0, GENESIS)
    links: list[dict[str, Any]] = []
    for row in waiting:  # their links only: the rows themselves are not written again
        position += 1
        digest = row_hash(previous, position, row, row["patients"])
        links.append(_link_of(row["event_id"], position, previous, digest))
        previous = digest
    for row, row_patients in zip(events, patients, strict=True):
        position += 1
        digest = row_hash(previous, position, row, row_patients)
        row["chain_pos"], row["prev_hash"], row["hash"] = position, previous, digest
        previous = digest
    return Batch(events=events, links=links)


def _link_of(event_id: int, position: int, previous: str, digest: str) -> dict[str, Any]:
    return {"event_id": event_id, "chain_pos": position, "prev_hash": previous, "hash": digest}


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
    """Link every committed row still waiting for its link (oldest first); how many."""
    sealed = 0
    while True:
        with write_connection(engine) as connection:
            count = chain_in(
                connection, 0, CHAIN_LOCK, lambda _ids, head, w: link_batch(head, w, [], [])
            )
        sealed += count
        if count < SEAL_LIMIT:
            return sealed


@dataclass(frozen=True)
class VerifyReport:
    """The result of `verify`: ok, how many rows were checked, the first broken link."""

    ok: bool
    checked: int
    unsealed: int
    broken_at: int | None = None  # chain position of the first bad row
    reason: str | None = None
    checkpoints: int = 0  # checkpoints the chain was found to pass through


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at a moment, kept outside the database (`audit/checkpoints.py`)."""

    chain_pos: int
    hash: str
    taken_at: str = ""


def verify(
    engine: Engine, *, start: tuple[int, str] | None = None, checkpoints: Iterable[Checkpoint] = ()
) -> VerifyReport:
    """Walk the chain from its start (genesis, or the newest archive anchor); with
    checkpoints, also check that it passes through each (those before the start are in
    the archives, which `archive.verify_archive` checks)."""
    with engine.connect() as connection:
        position, previous = start or chain_start(connection)
        expected = {c.chain_pos: c for c in checkpoints if c.chain_pos >= position}
        anchor = expected.pop(position, None)
        if anchor is not None and anchor.hash != previous:
            return VerifyReport(False, 0, 0, position, _rewritten(anchor))
        checked, problem = _walk(connection, position, previous, expected)
        if problem is not None:
            return VerifyReport(False, checked, 0, *problem)
        unsealed = _unsealed_count(connection)
    passed = len(expected) + (anchor is not None)
    return VerifyReport(True, checked, unsealed, checkpoints=passed)


def _walk(
    connection: Connection, position: int, previous: str, expected: dict[int, Checkpoint]
) -> tuple[int, tuple[int, str] | None]:
    """Check every linked row after `position`; how many, and the first problem."""
    checked = 0
    while True:
        rows = _sealed_after(connection, position)
        if not rows:
            break
        patients = patients_of(connection, [r["event_id"] for r in rows])
        for row in rows:
            problem = _check_row(row, position, previous, patients)
            checkpoint = expected.get(row["chain_pos"])
            if problem is None and checkpoint is not None and checkpoint.hash != row["hash"]:
                problem = _rewritten(checkpoint)
            if problem:
                return checked, (position + 1, problem)
            position, previous = row["chain_pos"], row["hash"]
            checked += 1
    beyond = [c for c in expected.values() if c.chain_pos > position]
    if beyond:
        last = max(beyond, key=lambda c: c.chain_pos)
        return checked, (position + 1, _truncated(last, position))
    return checked, None


def _rewritten(checkpoint: Checkpoint) -> str:
    return (
        f"the record at chain position {checkpoint.chain_pos} is not the one the checkpoint"
        f" taken at {checkpoint.taken_at or 'an earlier time'} saw (the chain was rewritten)"
    )


def _truncated(checkpoint: Checkpoint, end: int) -> str:
    return (
        f"the chain ends at position {end}, but the checkpoint taken at"
        f" {checkpoint.taken_at or 'an earlier time'} saw it reach {checkpoint.chain_pos}"
        " (the newest records were removed)"
    )


def chain_start(connection: Connection) -> tuple[int, str]:
    """Where verification starts: the newest archive anchor, else genesis."""
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
