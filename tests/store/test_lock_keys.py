"""`lock_keys` takes a transaction-scoped advisory lock per key, in one statement, on
PostgreSQL: the numbers go as one array literal, negative ones and repeats included."""

from __future__ import annotations

from sqlalchemy import Connection, text

from samhandling.store.advisory_locks import lock_keys, lock_number
from samhandling.store.database import make_engine

KEYS = [f"Observation?identifier=urn:example|m{n}" for n in range(60)] + ["a", "a"]


def _held(connection: Connection) -> set[int]:
    rows = connection.execute(
        text(
            "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks"
            " WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 1"
        )
    )
    return {number for (number,) in rows}


def test_every_key_is_locked_until_the_transaction_ends(postgres_database_url: str) -> None:
    numbers = {lock_number(key) for key in KEYS}
    assert any(n < 0 for n in numbers) and any(n > 0 for n in numbers)
    engine = make_engine(postgres_database_url)
    try:
        with engine.connect() as connection:
            with connection.begin():
                lock_keys(connection, KEYS)
                held = _held(connection)
            after = _held(connection)
    finally:
        engine.dispose()
    # pg_locks shows a bigint key as its two 32-bit halves (classid high, objid low)
    assert held == numbers
    assert after == set()
