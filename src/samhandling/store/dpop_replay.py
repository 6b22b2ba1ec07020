"""The DPoP replay table: a proof is accepted once across every worker and node.

`first_use` is one INSERT … ON CONFLICT: the primary key decides atomically which of two
concurrent requests with the same proof wins (the other's insert returns no row). A row
whose proof has expired may be taken over (its proof can no longer pass the iat check
anyway). On PostgreSQL the statement runs in autocommit (no BEGIN/COMMIT round trips); on
SQLite in a short write transaction (the file is local).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, delete
from sqlalchemy.dialects import postgresql, sqlite

from samhandling.store.database import is_sqlite, write_connection
from samhandling.store.schema import dpop_replay


def first_use(engine: Engine, proof_key: str, expires_us: int, now_us: int) -> bool:
    """Record the proof `proof_key` until `expires_us`; False if it was recorded before and
    has not expired by `now_us` (a replay)."""
    dialect = sqlite if is_sqlite(engine) else postgresql
    insert = dialect.insert(dpop_replay).values(proof_key=proof_key, expires_us=expires_us)
    statement = insert.on_conflict_do_update(
        index_elements=[dpop_replay.c.proof_key],
        set_={"expires_us": insert.excluded.expires_us},
        where=dpop_replay.c.expires_us <= now_us,
    ).returning(dpop_replay.c.proof_key)
    with _single_statement(engine) as connection:
        return connection.execute(statement).first() is not None


def purge_expired(engine: Engine, now_us: int) -> int:
    """Delete the rows of proofs that expired by `now_us`; how many were deleted."""
    with _single_statement(engine) as connection:
        return connection.execute(
            delete(dpop_replay).where(dpop_replay.c.expires_us <= now_us)
        ).rowcount


@contextmanager
def _single_statement(engine: Engine) -> Iterator[Connection]:
    if is_sqlite(engine):
        with write_connection(engine) as connection:
            yield connection
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


MICROS = 1_000_000


class DatabaseReplayCache:
    """`auth.ReplayCache` on the `dpop_replay` table, shared by every worker and node
    (RFC 9449 §11.1; issue 16): one INSERT per DPoP request decides; expired rows are
    purged by whichever request comes along at most once per `purge_interval` seconds per
    process."""

    def __init__(self, engine: Engine, purge_interval: float = 60.0) -> None:
        self.engine = engine
        self.purge_interval = purge_interval
        self._next_purge = 0.0
        self._lock = threading.Lock()

    def add(self, key: str, expires_at: float, now: float) -> bool:
        """Record the proof `key`; False if any worker recorded it before (a replay)."""
        self._purge_if_due(now)
        return first_use(self.engine, key, int(expires_at * MICROS), int(now * MICROS))

    def _purge_if_due(self, now: float) -> None:
        with self._lock:
            if now < self._next_purge:
                return
            self._next_purge = now + self.purge_interval
        purge_expired(self.engine, int(now * MICROS))
