"""The ledger of issued felles hjelpenummer (table `fh_number`).

The number is the primary key: a second row with the same number is refused by the
database itself, so two allocations racing for one number (on any number of API nodes)
cannot both win. Rows are never updated except to record the Patient, and never deleted:
a number stays issued after its Patient is merged or deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from samhandling.store.schema import fh_number


@dataclass(frozen=True)
class LedgerEntry:
    """One issued number: for which Patient, when, why and at whose request."""

    number: str
    patient_id: str | None
    allocated_at_us: int
    reason: str
    requested_by: dict[str, Any]


def reserve(connection: Connection, entry: LedgerEntry) -> bool:
    """Record `entry`; False (and nothing written) when the number was issued before.

    The insert runs in a savepoint so that a refused duplicate leaves the surrounding
    transaction usable (PostgreSQL aborts a transaction on a failed statement).
    """
    try:
        with connection.begin_nested():
            connection.execute(
                insert(fh_number).values(
                    number=entry.number,
                    patient_id=entry.patient_id,
                    allocated_at_us=entry.allocated_at_us,
                    reason=entry.reason,
                    requested_by=json.dumps(entry.requested_by, sort_keys=True),
                )
            )
    except IntegrityError:
        return False
    return True


def ledger_entry(connection: Connection, number: str) -> LedgerEntry | None:
    """The ledger row of a number, or None if it was never issued."""
    row = connection.execute(select(fh_number).where(fh_number.c.number == number)).first()
    if row is None:
        return None
    return LedgerEntry(
        row.number, row.patient_id, row.allocated_at_us, row.reason, json.loads(row.requested_by)
    )


def issued_count(connection: Connection) -> int:
    """How many numbers were ever issued."""
    return len(connection.execute(select(fh_number.c.number)).all())
