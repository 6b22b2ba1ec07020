"""The request journal: audit records committed before the response is released.

Requests hand their record to one writer thread per process and wait for it. The thread
commits whatever has queued up in one transaction (group commit), so the cost of the
commit is shared by concurrent requests, and a response is never sent for an access that
is not durably recorded: a process killed after the response loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from samhandling.audit.chain import seal_pending
from samhandling.audit.records import AuditRecord
from samhandling.audit.trail import append
from samhandling.store.database import write_connection

log = logging.getLogger("samhandling.audit")
MAX_BATCH = 500
SEAL_INTERVAL_SECONDS = 0.5
_IDLE = object()


@dataclass
class _Pending:
    record: AuditRecord
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class AuditJournal:
    """Group-committing writer of request audit records, plus the periodic sealer."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="audit-journal", daemon=True)
        self._thread.start()

    async def record(self, record: AuditRecord) -> None:
        """Return once `record` is committed; raises if it could not be."""
        loop = asyncio.get_running_loop()
        pending = _Pending(record, loop, loop.create_future())
        self._queue.put(pending)
        await pending.future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last_seal = time.monotonic()
        while True:
            try:
                first = self._queue.get(timeout=SEAL_INTERVAL_SECONDS)
            except queue.Empty:
                first = _IDLE
            if first is None:
                self._seal()
                return
            if first is not _IDLE:
                self._commit([first, *self._drain()])
            if time.monotonic() - last_seal >= SEAL_INTERVAL_SECONDS:
                self._seal()
                last_seal = time.monotonic()

    def _drain(self) -> list[_Pending]:
        items: list[_Pending] = []
        while len(items) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            items.append(item)
        return items

    def _commit(self, batch: list[_Pending]) -> None:
        error: Exception | None = None
        try:
            with write_connection(self.engine) as connection:
                append(connection, [p.record for p in batch])
        except Exception as exc:  # the requests learn of it and refuse to answer
            log.error("audit journal commit failed", exc_info=exc)
            error = exc
        for pending in batch:
            pending.loop.call_soon_threadsafe(_settle, pending.future, error)

    def _seal(self) -> None:
        try:
            seal_pending(self.engine)
        except Exception as exc:
            log.warning("audit sealing failed; will retry", exc_info=exc)


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
