"""The rows write transactions leave waiting are linked from what their insert kept (their
content's digest and patients, `audit/storage/waiting_digests.py`) when their columns are
as kept, and read whole otherwise; either way to the hash their stored row has."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, update

from samhandling.audit.chain import seal_pending, verify
from samhandling.audit.records import AuditRecord
from samhandling.audit.storage import sql as audit_sql
from samhandling.audit.storage import waiting_digests
from samhandling.audit.storage.sql import CONTENT_DIGEST, WAITING_COLUMNS
from samhandling.audit.storage.tables import audit_event
from samhandling.audit.storage.waiting_digests import WaitingDigests, digests_of, merged
from samhandling.audit.trail import append_at_commit
from samhandling.store.database import is_sqlite, write_connection

_chars = st.characters(blacklist_categories=("Cs",))  # what a request can carry
_text = st.one_of(st.none(), st.text(_chars, max_size=20))
_rows = st.fixed_dictionaries(
    {
        "recorded_at_us": st.integers(0, 2**62),
        "interaction": st.text(_chars, max_size=60),
        "action": st.sampled_from("CRUDE"),
        "outcome": st.sampled_from(["0", "4", "8"]),
        "http_status": st.integers(100, 599),
        "agent_kind": _text,
        "agent_hpr": _text,
        "agent_org": _text,
        "purpose_of_use": _text,
        "emergency": st.booleans(),
        "content": st.binary(max_size=300),
    }
)


@settings(max_examples=200, deadline=None)
@given(
    row=_rows, patients=st.lists(st.text(_chars, min_size=1, max_size=12), max_size=4, unique=True)
)
def test_a_kept_row_hashes_as_the_row_read_whole(row: dict[str, Any], patients: list[str]) -> None:
    from samhandling.audit.chain import row_hash

    row = {**row, "event_id": 7}
    digests = WaitingDigests()
    digests.keep([row], [sorted(patients)])
    plain = {c: row[c] for c in WAITING_COLUMNS}  # as the batch reads it
    assert digests.complete([plain]) == []
    whole = {**row, "patients": sorted(patients)}  # as the database gives it whole
    assert row_hash("a" * 64, 3, plain, plain["patients"]) == row_hash(
        "a" * 64, 3, whole, whole["patients"]
    )


def test_a_row_whose_columns_differ_from_the_kept_ones_is_read_whole() -> None:
    row = {c: None for c in WAITING_COLUMNS} | {"event_id": 1, "content": b"x"}
    digests = WaitingDigests()
    digests.keep([row, {**row, "event_id": 2}], [[], []])
    changed = {c: row[c] for c in WAITING_COLUMNS} | {"agent_org": "991000011"}
    same = {c: row[c] for c in WAITING_COLUMNS} | {"event_id": 2}
    unknown = {**same, "event_id": 3}
    assert digests.complete([changed, same, unknown]) == [1, 3]
    assert same[CONTENT_DIGEST] == hashlib.sha256(b"x").hexdigest() and same["patients"] == []
    assert digests.complete([same]) == [2]  # taken once: a row is linked once
    whole = [{**changed, CONTENT_DIGEST: "d"}]  # 3 was not read: left for a later batch
    assert merged([changed, same, unknown], whole) == [whole[0], same]


def test_the_kept_rows_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting_digests, "KEPT_ROWS", 3)
    base = {c: None for c in WAITING_COLUMNS} | {"content": b""}
    digests = WaitingDigests()
    digests.keep([{**base, "event_id": i} for i in range(5)], [[]] * 5)
    plain = [{c: base[c] for c in WAITING_COLUMNS} | {"event_id": i} for i in range(5)]
    assert digests.complete(plain) == [0, 1]  # the oldest went first


def _write(engine: Engine, count: int) -> None:
    with write_connection(engine) as connection:
        for i in range(count):
            record = AuditRecord(
                interaction="create",
                http_status=201,
                recorded_at_us=1_700_000_200_000_000 + i,
                agent={"kind": "system", "organisation": "991000011"},
                entities=[("Observation", f"k{i}", "1")],
                patients={f"p{i % 2}", "p9"} if i % 3 else set(),
            )
            append_at_commit(connection, record)


@pytest.fixture
def whole_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often a batch read waiting rows whole."""
    reads: list[int] = []
    original = audit_sql.whole_rows_sql

    def counted() -> str:
        reads.append(1)
        return original()

    monkeypatch.setattr(audit_sql, "whole_rows_sql", counted)
    return reads


def test_kept_rows_are_linked_without_reading_them_whole(
    engine: Engine, whole_reads: list[int]
) -> None:
    _write(engine, 6)
    assert seal_pending(engine) == 6
    report = verify(engine)
    assert report.ok and report.checked == 6 and report.unsealed == 0
    assert whole_reads == []  # SQLite: never kept, never read whole (one query)


def test_rows_another_process_inserted_are_read_whole(
    engine: Engine, whole_reads: list[int]
) -> None:
    _write(engine, 6)
    digests_of(engine).clear()  # as in a process that did not insert them
    _write(engine, 2)  # ... and two this one did
    assert seal_pending(engine) == 8
    assert verify(engine).ok
    assert whole_reads == ([] if is_sqlite(engine) else [1])


def test_with_nothing_kept_the_waiting_rows_are_read_whole_at_once(
    engine: Engine, whole_reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Single writes keep nothing: their batch reads the rows whole in its first round
    trip, not plain and then again whole (the CRUD mix paid that second read)."""
    whole_at_once: list[int] = []
    original = audit_sql.whole_waiting_sql

    def counted(limit: int) -> str:
        whole_at_once.append(limit)
        return original(limit)

    monkeypatch.setattr(audit_sql, "whole_waiting_sql", counted)
    _write(engine, 6)
    digests_of(engine).clear()  # as after single writes: nothing kept
    assert seal_pending(engine) == 6
    assert verify(engine).ok
    assert whole_reads == []
    assert len(whole_at_once) == (0 if is_sqlite(engine) else 1)


def test_a_column_altered_before_the_link_is_hashed_as_stored(
    engine: Engine, whole_reads: list[int]
) -> None:
    _write(engine, 4)
    with write_connection(engine) as connection:
        connection.execute(update(audit_event).values(agent_org="991000099"))
    assert seal_pending(engine) == 4
    assert verify(engine).ok  # as before: a change before the link is what gets linked
    assert whole_reads == ([] if is_sqlite(engine) else [1])


def test_content_altered_before_the_link_is_detected(engine: Engine) -> None:
    """The digest kept at the insert is the inserted content's: a later change shows."""
    if is_sqlite(engine):
        pytest.skip("SQLite's batches read the rows whole: nothing kept")
    _write(engine, 4)
    with write_connection(engine) as connection:
        connection.execute(update(audit_event).values(content=b'{"resourceType":"AuditEvent"}'))
    assert seal_pending(engine) == 4
    report = verify(engine)
    assert not report.ok and report.broken_at == 1 and "altered" in (report.reason or "")
