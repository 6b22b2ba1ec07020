"""The store's part in running the server, for the HTTP application's composition root
(`api/app.py`, with `api/store_start.py`): open the engine, bring the schema up to date,
keep the DPoP proofs seen, keep the planner's statistics fresh, answer the readiness probe.
The API reaches the store only through the interactions (the import contract); this is
the interactions' door for the start-up, the store's own functions passed on as they are.
"""

from __future__ import annotations

from samhandling.store.database import make_engine, ping
from samhandling.store.dpop_replay import DatabaseReplayCache
from samhandling.store.schema_migrations import upgrade
from samhandling.store.statistics import keep_fresh

__all__ = ["DatabaseReplayCache", "keep_fresh", "make_engine", "ping", "upgrade"]
