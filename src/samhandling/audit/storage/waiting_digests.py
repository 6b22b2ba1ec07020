"""What a chained batch needs of the rows waiting for their link, kept from their insert:
`WaitingDigests` (PostgreSQL).

A write transaction inserts its audit rows without their link; the next chained batch reads
them back to hash them. The hash covers the row's columns, the SHA-256 of its content and
its patients: reading the digest and the patients costs the database a SHA-256 of every
row's content and a subquery on audit_patient per row — most of that read (bench/RESULTS.md,
2026-12-05, audit20). The process that inserted the rows had both at hand, so it keeps
them here, by event id, and the batch reads only the rows' plain columns: a row whose
columns equal the ones kept at its insert takes its digest and patients from here; any
other row (inserted by another process, or before a restart) is read whole as before.

The columns hashed are always the ones read from the database; only the content's digest
and the patients come from the insert, of the same committed row (event ids come from the
sequence and are never reused; a rolled-back insert's entry is never asked for and ages
out). Kept per engine: another database's ids would collide. Only multi-row inserts of
write transactions are kept (their ids are known); a single write's row is read whole.
"""

from __future__ import annotations

import threading
from hashlib import sha256
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from samhandling.audit.storage.sql import CONTENT_DIGEST, WAITING_COLUMNS, Row

KEPT_ROWS = 20_000  # per engine; a chained batch takes up to SEAL_LIMIT (1000) of them
_Kept = tuple[tuple[Any, ...], str, list[str]]  # plain columns, content digest, patients
_plain = itemgetter(*WAITING_COLUMNS)  # a row's plain columns, as a tuple


class WaitingDigests:
    """Content digests and patients of one engine's unlinked rows, by event id (bounded:
    the oldest go first)."""

    def __init__(self) -> None:
        self._kept: dict[int, _Kept] = {}
        self._lock = threading.Lock()  # writers' threads keep, the journal's loop takes

    def keep(self, events: list[Row], patients: list[list[str]]) -> None:
        """Keep what linking `events` (inserted; each one's patients, sorted) needs."""
        kept = {
            row["event_id"]: (_plain(row), sha256(row["content"]).hexdigest(), named)
            for row, named in zip(events, patients, strict=True)
        }
        with self._lock:
            self._kept.update(kept)
            if len(self._kept) > KEPT_ROWS:  # dicts keep insertion order: oldest first
                for event_id in list(self._kept)[: len(self._kept) - KEPT_ROWS]:
                    del self._kept[event_id]

    def complete(self, waiting: list[Row]) -> list[int]:
        """Give the waiting rows (plain columns, as read) whose columns match what was kept
        their digest and patients; the ids of the others, to be read whole."""
        missing: list[int] = []
        with self._lock:
            for row in waiting:
                kept = self._kept.pop(row["event_id"], None)
                if kept is None or kept[0] != _plain(row):
                    missing.append(row["event_id"])
                    continue
                row[CONTENT_DIGEST], row["patients"] = kept[1], kept[2]
        return missing

    def empty(self) -> bool:
        """Whether nothing is kept: a batch then reads the waiting rows whole at once
        (one round trip, not a plain read and a second for the rows not kept)."""
        return not self._kept

    def clear(self) -> None:
        """Forget every kept row (they are then read whole)."""
        with self._lock:
            self._kept.clear()


_BY_ENGINE: WeakKeyDictionary[Engine, WaitingDigests] = WeakKeyDictionary()
_BY_ENGINE_LOCK = threading.Lock()


def digests_of(engine: Engine) -> WaitingDigests:
    """The engine's kept digests."""
    with _BY_ENGINE_LOCK:
        found = _BY_ENGINE.get(engine)
        if found is None:
            found = _BY_ENGINE[engine] = WaitingDigests()
        return found


def merged(waiting: list[Row], whole: list[Row]) -> list[Row]:
    """The waiting rows in their order, each incomplete one replaced by its whole row (one
    not read whole is left for a later batch)."""
    by_id = {row["event_id"]: row for row in whole}
    return [
        row if CONTENT_DIGEST in row else by_id[row["event_id"]]
        for row in waiting
        if CONTENT_DIGEST in row or row["event_id"] in by_id
    ]
