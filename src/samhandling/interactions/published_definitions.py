"""The definitions the platform ships, written into the store when the server starts.

`definitions/published.py` collects them from the services' package data; here they are
stored under the ids they ship with, a new version only when the shipped content changed,
through the version writer as any write (the API's start-up and `samhandling import` call
it; neither touches the store itself).
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Engine

from samhandling.definitions.published import Shipped
from samhandling.store.advisory_locks import lock_key
from samhandling.store.database import write_connection
from samhandling.store.reader import read_many_current
from samhandling.store.version_writer import VersionWriter

__all__ = ["publish"]


def publish(engine: Engine, shipped: Shipped) -> int:
    """Store the shipped definitions whose stored copy is missing, deleted or different;
    returns how many were written. Servers starting together take turns (a lock)."""
    written = 0
    with write_connection(engine) as connection:
        lock_key(connection, "publish-definitions")
        stored = read_many_current(connection, list(shipped))
        writer = VersionWriter(connection)
        for key, definition in shipped.items():
            current = stored.get(key)
            if current is not None and _same(current.resource(), definition):
                continue
            previous = writer.current(*key)
            method = "update" if previous is not None else "create"
            writer.write(*key, copy.deepcopy(definition), method=method, previous=previous)
            written += 1
    return written


def _same(stored: dict[str, Any], definition: dict[str, Any]) -> bool:
    """Equal but for what the store adds (`meta.versionId`, `meta.lastUpdated`)."""
    meta = {k: v for k, v in stored.pop("meta", {}).items() if k not in _STORE_META}
    if meta:
        stored["meta"] = meta
    return stored == definition


_STORE_META = frozenset({"versionId", "lastUpdated"})
