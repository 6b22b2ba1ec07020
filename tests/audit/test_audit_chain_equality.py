"""The chain's hashes do not depend on how a row was linked: golden vectors of `row_hash`,
and every row linked by the trail's code paths equal to the hash the original
formulation (`_reference_hash`, the code before the hot path was reworked) gives."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import Engine

from fixtures.audit_records import read_record, recorded_events
from samhandling.audit.chain import CHAINED_COLUMNS, GENESIS, row_hash, seal_pending, verify
from samhandling.audit.records import AuditRecord
from samhandling.audit.trail import append, append_at_commit
from samhandling.store.database import write_connection

ROW: dict[str, Any] = {
    "event_id": 41,
    "recorded_at_us": 1_700_000_000_123_456,
    "interaction": "operation:$everything-ø",
    "action": "E",
    "outcome": "0",
    "http_status": 200,
    "agent_kind": "clinician",
    "agent_hpr": "9100001",
    "agent_org": None,
    "purpose_of_use": "TREAT",
    "emergency": True,
    "content": b'{"resourceType":"AuditEvent"}',
}


def _reference_hash(
    prev_hash: str, chain_pos: int, row: dict[str, Any], patients: list[str]
) -> str:
    """The chain hash as first written: the canonical row sorted by orjson."""
    canonical = orjson.dumps(
        {
            "columns": {c: row[c] for c in CHAINED_COLUMNS},
            "content": hashlib.sha256(row["content"]).hexdigest(),
            "patients": sorted(patients),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(f"{prev_hash}|{chain_pos}|".encode() + canonical).hexdigest()


def test_row_hash_golden_vectors() -> None:
    # computed by the code before the rework (main 53328fb)
    first = "6ec5fc71ee368021c3a4c1a59191df0111181835e29f2ac409b1a7772cc181a5"
    assert row_hash("a" * 64, 7, ROW, ["p2", "p1"]) == first
    plain = {**ROW, "emergency": False, "agent_hpr": None}
    second = "c2139e96e456212661eec59cf0dc17688eef33965bf36e30792ff6b5d0b8cb95"
    assert row_hash(GENESIS, 1, plain, []) == second
    assert _reference_hash(GENESIS, 1, plain, []) == second


def _write_record(i: int, patients: set[str]) -> AuditRecord:
    return AuditRecord(
        interaction="create",
        http_status=201,
        recorded_at_us=1_700_000_100_000_000 + i,
        agent={"kind": "system", "organisation": "991000011", "purpose_of_use": "TREAT"},
        entities=[("Observation", f"w{i}", "1")],
        patients=patients,
        emergency=i % 2 == 0,
    )


def test_every_linked_row_has_the_reference_hash(engine: Engine) -> None:
    """Write transactions' rows (one, and many: linked later by a batch that reads their
    content's digest) and chained batches' rows (linked as inserted) all chain as the
    reference formulation says, and `verify` agrees."""
    with write_connection(engine) as connection:
        append(connection, [read_record(i) for i in range(3)])
    with write_connection(engine) as connection:
        append_at_commit(connection, _write_record(0, {"pz", "pa"}))
    with write_connection(engine) as connection:
        for i in range(1, 12):
            append_at_commit(connection, _write_record(i, {f"p{i % 4}"} if i % 3 else set()))
    with write_connection(engine) as connection:  # links the waiting rows, then its own
        append(connection, [read_record(i) for i in range(3, 6)])
    assert seal_pending(engine) == 0
    rows = sorted(recorded_events(engine), key=lambda r: r["chain_pos"])
    assert len(rows) == 18
    previous = GENESIS
    for position, row in enumerate(rows, start=1):
        assert row["chain_pos"] == position and row["prev_hash"] == previous
        assert row["hash"] == _reference_hash(previous, position, row, row["patients"])
        previous = row["hash"]
    report = verify(engine)
    assert report.ok and report.checked == 18 and report.unsealed == 0
