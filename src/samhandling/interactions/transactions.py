"""The transactions interactions run in, as the API and the command line open them.

Whoever serves a request opens one transaction for it here — a read transaction, or a write
transaction with the `VersionWriter` every write goes through, built with the caller's
guard and the services' write rules — and hands it to the interactions. This is the API's
one way to the database (the import contract: the API imports nothing of the store but
its composition root, `api/app.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine

from samhandling.access_guard import AccessGuard
from samhandling.interactions.write_rules import WriteRule
from samhandling.store import database
from samhandling.store.liveness import dead_after_ms
from samhandling.store.read_routing import CONSISTENCY_HEADER, ReadRouting, parse_position
from samhandling.store.version_writer import VersionWriter

T = TypeVar("T")

__all__ = [
    "CONSISTENCY_HEADER",
    "ReadRouting",
    "VersionWriter",
    "cancel",
    "parse_position",
    "read_routing",
    "read_transaction",
    "run_read",
    "write_transaction",
    "writer",
]


def read_routing(
    primary: Engine, replica_url: str, *, max_lag_seconds: float, statement_timeout_ms: int = 0
) -> ReadRouting:
    """Where routed reads run: `primary` alone, or also the streaming replica at
    `replica_url` when it is current enough (docs/SCALING.md, "Read replicas")."""
    if not replica_url:
        return ReadRouting(primary, None, max_lag_seconds=max_lag_seconds)
    if database.is_sqlite(primary):
        raise RuntimeError("a read replica needs a PostgreSQL primary")
    replica = database.make_engine(
        replica_url, statement_timeout_ms=statement_timeout_ms, dead_after_ms=dead_after_ms(primary)
    )
    if database.is_sqlite(replica):
        raise RuntimeError("the read replica must be a PostgreSQL streaming replica")
    return ReadRouting(primary, replica, max_lag_seconds=max_lag_seconds)


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (a consistent snapshot on PostgreSQL)."""
    with database.read_connection(engine) as connection:
        yield connection


def run_read(engine: Engine, action: Callable[[Connection], T], *, snapshot: bool = True) -> T:
    """`action(connection)` in a read transaction, or with `snapshot=False` (one statement
    per snapshot suffices: a read by id) without BEGIN and COMMIT on PostgreSQL; run once
    more on a fresh connection when the pooled one was dead."""
    return database.run_read(engine, action, snapshot=snapshot)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction, committed when the block ends without an exception."""
    with database.write_connection(engine) as connection:
        yield connection


def writer(connection: Connection, guard: AccessGuard, rules: Sequence[WriteRule]) -> VersionWriter:
    """The writer of one write transaction: the caller's guard and the services' rules.
    A create at a server-assigned id queues its current row with the transaction's other
    rows (`VersionWriter.queued_creates`): one statement at commit writes them all."""
    return VersionWriter(connection, guard, rules, queued_creates=True)


def cancel(connection: Connection) -> None:
    """Stop the statement running on `connection` (its client went away)."""
    database.cancel_statement(connection)
