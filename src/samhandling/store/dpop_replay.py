"""The DPoP replay table: a proof is accepted once across every worker and node.

`first_use` is one INSERT … ON CONFLICT: the primary key decides atomically which of two
concurrent requests with the same proof wins (the other's insert returns no row). A row
whose proof has expired may be taken over (its proof can no longer pass the iat check
anyway). On PostgreSQL the statement runs in autocommit (no BEGIN/COMMIT round trips); on
SQLite in a short write transaction (the file is local).
"""

from __future__ import annotations

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
