"""The web views' sessions in the database, so that every node serves every browser: each
call is one short transaction over the store's named queries (`store.web_session_queries`).
"""

from __future__ import annotations

from sqlalchemy import Engine

from samhandling.interactions.transactions import read_transaction, write_transaction
from samhandling.store import web_session_queries as queries
from samhandling.store.web_session_queries import SessionRow

__all__ = ["SessionRecords", "SessionRow"]


class SessionRecords:
    """Sealed sessions and logins under way, keyed by the hash of their reference."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, key: str, kind: str, sealed: bytes, row: SessionRow) -> None:
        """Store or replace a row."""
        with write_transaction(self.engine) as connection:
            queries.put(connection, key, kind, sealed, row)

    def get(self, key: str, kind: str) -> SessionRow | None:
        """A row, or None."""
        with read_transaction(self.engine) as connection:
            return queries.get(connection, key, kind)

    def touch(self, key: str, last_used_us: int) -> None:
        """Restart a row's idle clock."""
        with write_transaction(self.engine) as connection:
            queries.touch(connection, key, last_used_us)

    def take(self, key: str, kind: str) -> SessionRow | None:
        """Remove a row and return it (used once, whichever node asks)."""
        with write_transaction(self.engine) as connection:
            return queries.take(connection, key, kind)

    def remove(self, key: str) -> None:
        """Remove a row."""
        with write_transaction(self.engine) as connection:
            queries.remove(connection, key)

    def purge(self, now_us: int, idle_before_us: int) -> int:
        """Remove rows that ended or idled out."""
        with write_transaction(self.engine) as connection:
            return queries.purge(connection, now_us, idle_before_us)
