"""The transactions interactions run in, as the API and the command line open them.

Whoever serves a request opens one transaction for it here — a read transaction, or a write
transaction with the `VersionWriter` every write goes through, built with the caller's
guard and the services' write rules — and hands it to the interactions. This is the API's
one way to the database (the import contract: the API imports nothing of the store but
its composition root, `api/app.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from samhandling.access_guard import AccessGuard
from samhandling.interactions.write_rules import WriteRule
from samhandling.store import database
from samhandling.store.version_writer import VersionWriter

__all__ = ["VersionWriter", "cancel", "read_transaction", "write_transaction", "writer"]


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (a consistent snapshot on PostgreSQL)."""
    with database.read_connection(engine) as connection:
        yield connection


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction, committed when the block ends without an exception."""
    with database.write_connection(engine) as connection:
        yield connection


def writer(connection: Connection, guard: AccessGuard, rules: Sequence[WriteRule]) -> VersionWriter:
    """The writer of one write transaction: the caller's guard and the services' rules."""
    return VersionWriter(connection, guard, rules)


def cancel(connection: Connection) -> None:
    """Stop the statement running on `connection` (its client went away)."""
    database.cancel_statement(connection)
