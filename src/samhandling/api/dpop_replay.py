"""The DPoP replay cache of the server: the database, shared by every worker and node.

`serve --workers N` (and several nodes on one PostgreSQL) must refuse a proof that any of
them has accepted before (RFC 9449 §11.1); a per-process cache did not (issue 16). One
INSERT per DPoP request decides; expired rows are purged by whichever request comes along
at most once per `purge_interval` seconds per process.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from samhandling.store.dpop_replay import first_use, purge_expired

MICROS = 1_000_000


class DatabaseReplayCache:
    """`auth.ReplayCache` on the `dpop_replay` table."""

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
