"""Writers that check, then write, serialised on a key until their transaction ends.

PostgreSQL: transaction-scoped advisory locks, one number per key; SQLite: the write
transaction holds the database's write lock already (BEGIN IMMEDIATE), so nothing more is
taken.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

from samhandling.store.database import is_sqlite


def lock_key(connection: Connection, key: str) -> None:
    """Serialise writers that check-then-write on `key` until the transaction ends (see
    the module's doc for each database)."""
    if is_sqlite(connection):
        return
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_number(key)})


def lock_keys(connection: Connection, keys: list[str]) -> None:
    """`lock_key` for every key, in one statement, in one order (the numbers' order, so two
    transactions locking overlapping keys never wait on each other in a circle)."""
    if is_sqlite(connection) or not keys:
        return
    numbers = sorted({lock_number(key) for key in keys})
    # unnest yields the array's elements in order: the locks are taken in that order; the
    # numbers go as one array literal (a list would be tested element by element for the
    # quotes it may need, `select_driver._text_arrays_binary`)
    literal = "{" + ",".join(map(str, numbers)) + "}"
    connection.execute(_LOCK_KEYS, {"ks": literal})


_LOCK_KEYS = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:ks AS bigint[])) k")


def lock_number(key: str) -> int:
    """The PostgreSQL advisory lock number of `key`."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
