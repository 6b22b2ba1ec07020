"""Reads on a streaming replica, with read-your-writes by the commit position (issue 26).

A node may be given a replica besides its primary (`SAMHANDLING_DATABASE_REPLICA_URL`). Writes,
the audit trail's included, always go to the primary. A routed read (read, vread, history,
search: the API chooses) runs on the replica only when, checked at the start of its
transaction on the replica:

- the replica is in recovery (a replica promoted to primary of its own is not used);
- it has replayed the client's last write: the position (`pg_lsn`) the client presents,
  which the server handed it after that write (`commit_position`), is at most
  `pg_last_wal_replay_lsn()`;
- it is not staler than `max_lag_seconds`: caught up with all the WAL it has received, or
  its last replayed transaction committed at most that long ago.

Otherwise, and when the replica is unreachable or cancels the read (a conflict with
recovery, or the read tried to write), the read runs on the primary: never an error, never
a wait. The positions only move forward, so a check passed at the start holds for the
whole transaction. docs/SCALING.md, "Read replicas", describes the protocol.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from samhandling.fhir.outcome import FhirError, error
from samhandling.store.database import read_connection, register_replica, run_read

log = logging.getLogger("samhandling.store.replica")

T = TypeVar("T")
CONSISTENCY_HEADER = "X-Samhandling-Consistency"
_POSITION = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")
_NOT_SERVED = object()
# Errors after which the replica is passed over for this read (the primary serves it):
# connection failures (no SQLSTATE, class 08), the server going away (57P01-57P03), a read
# cancelled by a conflict with recovery (40001) and a write attempted on the replica (25006).
_RETRY_ON_PRIMARY = ("08", "57P01", "57P02", "57P03", "40001", "25006")
_CURRENT = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= CAST(:after AS pg_lsn),"
    " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


def parse_position(value: str | None) -> str | None:
    """The commit position a client presents (`X-Samhandling-Consistency`), checked: a
    PostgreSQL LSN as `pg_current_wal_insert_lsn()` prints it; else a 400."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _POSITION.fullmatch(value):
        message = f"{CONSISTENCY_HEADER} must be a commit position this server gave (like 0/1A2B3C)"
        raise FhirError(400, error("invalid", message))
    return value.upper()


class ReadRouting:
    """Chooses the database of each routed read: the replica when it is current enough."""

    def __init__(self, primary: Engine, replica: Engine | None, *, max_lag_seconds: float) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_seconds = max_lag_seconds
        self.served = {"replica": 0, "primary": 0}  # reads routed here, by where they ran
        self._counting = threading.Lock()
        if replica is not None:
            register_replica(replica, primary)

    @property
    def replicated(self) -> bool:
        """Whether a replica is configured (commit positions are worth handing out)."""
        return self.replica is not None

    def read(
        self, action: Callable[[Connection], T], after: str | None, *, snapshot: bool = True
    ) -> T:
        """`action` in a read transaction on the replica when it has replayed `after` (the
        client's last write) and is fresh enough, else on the primary (there without a
        transaction when `snapshot` is False: `store.database.run_read`)."""
        if self.replica is not None:
            result = self._on_replica(self.replica, action, after or "0/0")
            if result is not _NOT_SERVED:
                return result  # type: ignore[return-value]
        self._count("primary")
        return run_read(self.primary, action, snapshot=snapshot)

    def _on_replica(self, replica: Engine, action: Callable[[Connection], T], after: str) -> object:
        try:
            with read_connection(replica) as connection:
                if not self._current(connection, after):
                    return _NOT_SERVED
                try:
                    result = action(connection)
                except Exception as exc:
                    if not _passed_over(exc):  # the replica's answer (a 404, say) stands
                        self._count("replica")
                    raise
                self._count("replica")
                return result
        except DBAPIError as exc:
            if not _passed_over(exc):
                raise
            state = getattr(exc.orig, "sqlstate", None)
            log.warning("read on the replica failed, served by the primary (SQLSTATE %s)", state)
            return _NOT_SERVED

    def _current(self, connection: Connection, after: str) -> bool:
        """Whether the replica has replayed `after` and is within the staleness bound."""
        recovering, replayed, lag = connection.execute(_CURRENT, {"after": after}).one()
        return bool(recovering and replayed) and lag is not None and lag <= self.max_lag_seconds

    def _count(self, database: str) -> None:
        with self._counting:
            self.served[database] += 1

    def close(self) -> None:
        """Close the replica's connections (the primary's engine belongs to the caller)."""
        if self.replica is not None:
            self.replica.dispose()

    def commit_position(self) -> str | None:
        """The primary's WAL insert position now: at or after the end of every transaction
        committed before this call. None without a replica."""
        if self.replica is None:
            return None
        with self.primary.connect() as connection:
            position = connection.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar()
        return str(position)


def _passed_over(exc: BaseException) -> bool:
    """Whether `exc` means the replica cannot serve this read (the primary will)."""
    if not isinstance(exc, DBAPIError):
        return False
    state = getattr(exc.orig, "sqlstate", None) or "08"  # no SQLSTATE: no connection
    return exc.connection_invalidated or state.startswith(_RETRY_ON_PRIMARY)
