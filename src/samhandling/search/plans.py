"""Plans made for a search's values, without a statement of their own (PostgreSQL).

psycopg prepares a statement it has seen `prepare_threshold` times on a connection, and
PostgreSQL may then switch to a generic plan that ignores the values: for search SQL, whose
best plan depends on how selective each value is (one patient's rows or everybody's), that
plan was measured at up to 30 s where the value's plan takes 5 ms (docs/SEARCH.md).
`sql.custom_plans` forbids generic plans for the rest of the transaction with `SET LOCAL
plan_cache_mode`, a statement and a round trip of its own. `values_planned` instead keeps
the connection's statements unprepared while a search runs: each is sent unnamed, which
PostgreSQL plans for its values every time. The connection's prepared statements stay
prepared (and unused) meanwhile, and its threshold is given back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from samhandling.store.database import is_sqlite


@contextmanager
def values_planned(connection: Connection) -> Iterator[None]:
    """Every statement run on `connection` inside the block is planned for its values."""
    if is_sqlite(connection):
        yield
        return
    driver: Any = connection.connection.dbapi_connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None  # psycopg: send nothing prepared, prepare nothing
    try:
        yield
    finally:
        driver.prepare_threshold = threshold
