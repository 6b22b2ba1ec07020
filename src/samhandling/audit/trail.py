"""Appending audit records to the trail.

* Request records go through the journal: `commit` writes a group of them in a chained
  batch of its own, which, when asked, first links the rows write transactions left
  waiting.
* A write transaction's records are inserted as it commits (`append_at_commit`), inside
  it, without their link and without the chain lock, so concurrent writes do not wait for
  each other; the next chained batch (of any process) links them.
* `append` is a chained batch inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, event

from samhandling.audit.chain import CHAIN_LOCK, link_batch
from samhandling.audit.records import AuditRecord
from samhandling.audit.storage.chain_writer import ChainWriter
from samhandling.audit.storage.writes import Batch, Head, append_unlinked, chain_in
from samhandling.audit.stored_form import stored_content
from samhandling.store.database import before_commit, keep_with_savepoints

_INFO_KEY = "samhandling.audit_at_commit"


async def commit(writer: ChainWriter, records: list[AuditRecord], *, link_waiting: bool) -> int:
    """Commit `records` in a chained batch of their own, after the rows waiting for their
    link when `link_waiting`; returns how many of those it linked."""
    return await writer.append(
        len(records), CHAIN_LOCK, lambda i, h, w: _batch(records, i, h, w), link_waiting
    )


def append(connection: Connection, records: Iterable[AuditRecord]) -> int:
    """Insert the records, chained, in the caller's transaction; returns how many."""
    batch = list(records)
    chain_in(connection, len(batch), CHAIN_LOCK, lambda i, h, w: _batch(batch, i, h, w))
    return len(batch)


def append_at_commit(connection: Connection, record: AuditRecord) -> None:
    """Insert `record` when the caller's transaction commits, with the transaction's other
    records (a whole Bundle's go in together), to be linked by the next chained batch."""
    _AtCommit.of(connection).records.append(record)


def _batch(
    records: list[AuditRecord], ids: list[int], head: Head, waiting: list[dict[str, Any]]
) -> Batch:
    events, patients, named = _rows(records, ids)
    batch = link_batch(head, waiting, events, named)
    batch.patients = patients
    return batch


def _rows(
    records: list[AuditRecord], ids: list[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[list[str]]]:
    """The audit_event rows of `records` with their ids, their audit_patient rows, and
    each record's patients, sorted (each list built once for the insert and the hash)."""
    events: list[dict[str, Any]] = []
    patients: list[dict[str, Any]] = []
    named: list[list[str]] = []
    for event_id, record in zip(ids, records, strict=True):
        row = event_row(record)
        row["event_id"] = event_id  # the columns' order in the dict does not matter
        events.append(row)
        sorted_patients = sorted(record.patients)
        named.append(sorted_patients)
        patients.extend({"event_id": event_id, "patient_id": p} for p in sorted_patients)
    return events, patients, named


class _AtCommit:
    """The records of one write transaction, inserted when it is about to commit (a failure
    rolls the write back): by the pre-commit hook of `store.database.write_connection`, on
    other connections by SQLAlchemy's `commit` event (dearer: a listener per transaction).
    A rollback drops them, and a rolled-back savepoint those added inside it (a batch
    entry that failed: its refusal is recorded instead, `PolicyGuard.after_refusal`)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.records: list[AuditRecord] = []
        self.closed = False  # event listeners stay, inert (they cannot go while they run)
        if not before_commit(connection, self._at_commit):
            event.listen(connection, "commit", self._at_commit)
            event.listen(connection, "rollback", self._at_rollback)
        keep_with_savepoints(connection, self)

    @classmethod
    def of(cls, connection: Connection) -> _AtCommit:
        found = connection.info.get(_INFO_KEY)
        if isinstance(found, _AtCommit) and found.connection is connection and not found.closed:
            return found
        pending = cls(connection)
        connection.info[_INFO_KEY] = pending
        return pending

    def mark(self) -> object:
        return len(self.records)

    def rollback_to(self, mark: object | None) -> None:
        del self.records[mark if isinstance(mark, int) else 0 :]

    def _at_commit(self, connection: Connection) -> None:
        if self.closed:
            return
        self.closed = True
        records = self.records
        if records:
            append_unlinked(connection, len(records), lambda ids: _rows(records, ids))

    def _at_rollback(self, _connection: Connection) -> None:
        self.closed, self.records = True, []


def event_row(record: AuditRecord) -> dict[str, object]:
    """The audit_event columns of a record: its stored form (`stored_form`) and its
    searchable parts."""
    agent = record.agent
    return {
        "recorded_at_us": record.recorded_at_us,
        "interaction": record.interaction[:60],
        "action": record.action,
        "outcome": record.outcome,
        "http_status": record.http_status,
        "agent_kind": agent.get("kind"),
        "agent_hpr": agent.get("hpr_number"),
        "agent_org": agent.get("organisation") or agent.get("point_of_care"),
        "purpose_of_use": agent.get("purpose_of_use"),
        "emergency": record.emergency,
        "content": stored_content(record),
    }
