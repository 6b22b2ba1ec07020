"""The request journal: audit records committed before the response is released.

Requests hand their record to one writer thread per process and wait for it. The thread
commits whatever has queued up as one chained batch (group commit, `trail.commit`): the
cost of the commit and of the chain lock is shared by concurrent requests, and a response
is never sent for an access that is not durably recorded: a process killed after the
response loses nothing. After a write the middleware nudges the journal: the batch due
LINK_DELAY_SECONDS later (a group of requests' batch, or one of its own when no reads
come) also links the rows write transactions inserted without their link — one query
and one UPDATE for all the writes of that moment, not one per write.
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

from samhandling.audit.records import AuditRecord
from samhandling.audit.trail import commit
from samhandling.store.audit_writes import SEAL_LIMIT, ChainWriter

log = logging.getLogger("samhandling.audit")
MAX_BATCH = 500
LINK_DELAY_SECONDS = 0.2
_LINK = object()  # a nudge: rows of write transactions wait for their link
_LINK_NOW = object()  # make a batch now, even without records


@dataclass
class _Pending:
    record: AuditRecord
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class AuditJournal:
    """Group-committing writer of request audit records."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = ChainWriter(engine)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="audit-journal", daemon=True)
        self._thread.start()

    async def record(self, record: AuditRecord) -> None:
        """Return once `record` is committed; raises if it could not be."""
        loop = asyncio.get_running_loop()
        pending = _Pending(record, loop, loop.create_future())
        self._queue.put(pending)
        await pending.future

    def nudge(self) -> None:
        """Rows of a write transaction wait for their link: make a batch soon."""
        self._queue.put(_LINK)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        link_due: float | None = time.monotonic()  # whatever an earlier run left waiting
        while True:
            try:
                first = self._queue.get(timeout=_until(link_due))
            except queue.Empty:
                first = _LINK_NOW
            if first is None:
                self._writer.close()
                return
            if first is _LINK:
                link_due = link_due or time.monotonic() + LINK_DELAY_SECONDS
                continue
            items, nudged = self._drain([] if first is _LINK_NOW else [first])
            if nudged:
                link_due = link_due or time.monotonic() + LINK_DELAY_SECONDS
            link = first is _LINK_NOW or (link_due is not None and _until(link_due) == 0)
            if link:  # nudges that come during this batch count for the next
                link_due = None
            self._commit(items, link)

    def _drain(self, items: list[_Pending]) -> tuple[list[_Pending], bool]:
        """Whatever is queued (up to MAX_BATCH records), and whether a nudge was among it."""
        nudged = False
        while len(items) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            if item is _LINK:
                nudged = True
            elif item is not _LINK_NOW:  # a batch is being made anyway
                items.append(item)
        return items, nudged

    def _commit(self, batch: list[_Pending], link: bool) -> None:
        error: Exception | None = None
        try:
            if commit(self._writer, [p.record for p in batch], link_waiting=link) >= SEAL_LIMIT:
                self._queue.put(_LINK_NOW)  # more are waiting
        except Exception as exc:  # the requests learn of it and refuse to answer
            log.error("audit journal commit failed", exc_info=exc)
            error = exc
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for pending in batch:
            by_loop.setdefault(pending.loop, []).append(pending.future)
        for loop, futures in by_loop.items():  # one wake-up per event loop, not per request
            loop.call_soon_threadsafe(_settle, futures, error)


def _until(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _settle(futures: list[asyncio.Future[None]], error: Exception | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
