"""The request journal: audit records committed before the response is released.

Requests hand their record to the journal of their event loop and wait for it. While one
batch is on its way to the database the next requests' records queue up; they go as the
next batch (group commit, `trail.commit`): the cost of the commit and of the chain lock is
shared by concurrent requests, and a response is never sent for an access that is not
durably recorded: a process killed after the response loses nothing. Each batch is cut one
turn of the loop after it is due, so that requests whose reads were answered in the same
turn join it (see `_flush`). Everything runs on the event loop
(`audit/storage/chain_writer.py`): no thread to wake per batch.

After a write the middleware nudges the journal: the batch due LINK_DELAY_SECONDS later (a
group of requests' batch, or one of its own when no reads come) also links the rows write
transactions inserted without their link — one query and one UPDATE for all the writes of
that moment, not one per write.

A server has one event loop per process; a test client may run each request on a loop of
its own, so the journal keeps its state per loop, and drops a closed loop's connection.
"""

from __future__ import annotations

import asyncio
import logging
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

from samhandling.audit.records import AuditRecord
from samhandling.audit.storage.chain_writer import ChainWriter
from samhandling.audit.storage.writes import SEAL_LIMIT
from samhandling.audit.trail import commit
from samhandling.store.database import is_sqlite
from samhandling.store.liveness import dead_after_ms
from samhandling.store.loop_sqlite import sqlite_file
from samhandling.store.sqlite_lock import write_lock

log = logging.getLogger("samhandling.audit")
MAX_BATCH = 500
LINK_DELAY_SECONDS = 0.2
CLOSE_TIMEOUT_SECONDS = 10.0
_Pending = tuple[AuditRecord, "asyncio.Future[None]"]  # a record, and its request waiting


class AuditJournal:
    """Group-committing writer of request audit records.

    A PostgreSQL batch not committed within `batch_timeout` seconds (default: the engine's
    dead-after bound, `store/liveness.py`) fails, and its requests are answered 503 ("could
    not be audited") instead of waiting for ever: every request waits for its record, so
    one batch stuck on a database that does not answer (a frozen server still acknowledges
    at TCP level: no libpq option sees it), or on a wait never woken, would hold every
    client of the process. The batch's statements run without the statement timeout and
    take milliseconds, so the bound is that silence alone."""

    def __init__(self, engine: Engine, *, batch_timeout: float | None = None) -> None:
        self.engine = engine
        self.batch_timeout = (
            dead_after_ms(engine) / 1000 if batch_timeout is None else batch_timeout
        )
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopJournal] = (
            WeakKeyDictionary()
        )

    async def record(self, record: AuditRecord) -> None:
        """Return once `record` is committed; raises if it could not be."""
        await self._here().record(record)

    def nudge(self) -> None:
        """Rows of a write transaction wait for their link: make a batch soon."""
        self._here().nudge()

    def start(self) -> None:
        """Link whatever an earlier run left waiting (at the server's start)."""
        self._here().start()

    async def close(self) -> None:
        """Finish this loop's batches and close every connection."""
        here = self._loops.pop(asyncio.get_running_loop(), None)
        for journal in list(self._loops.values()):
            journal.writer.discard()
        self._loops.clear()
        if here is not None:
            await here.close()

    def _here(self) -> _LoopJournal:
        loop = asyncio.get_running_loop()
        journal = self._loops.get(loop)
        if journal is None:
            for other, stale in list(self._loops.items()):
                if other.is_closed():
                    stale.writer.discard()
                    del self._loops[other]
            journal = self._loops[loop] = _LoopJournal(self.engine, loop, self.batch_timeout)
        return journal


class _LoopJournal:
    """The journal's state on one event loop: its connection, the queued records, the
    batch in flight and when the rows of write transactions are due to be linked."""

    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout  # a batch's bound (PostgreSQL)
        self.writer = ChainWriter(engine)
        self.pending: list[_Pending] = []
        self.flushing: asyncio.Task[None] | None = None
        self.link_due: float | None = loop.time()  # whatever an earlier run left waiting
        self.timer: asyncio.TimerHandle | None = None
        # SQLite: a batch that links nothing goes before the process's queued writers
        # (store/sqlite_lock.py): all the reads of the moment wait for it
        found = sqlite_file(engine)
        self.lock = write_lock(found[0]) if found is not None else None
        # The batch in flight's deadline, watched by one timer at a time (`_on_watchdog`),
        # not a timer per batch: uvloop's cost ~3 µs each, on the path of every request.
        # SQLite's batch in a worker thread cannot be stopped, so it is not bounded.
        self.bounded = not is_sqlite(engine)
        self.batch_since: float | None = None
        self.watchdog: asyncio.TimerHandle | None = None
        self.overdue = False

    async def record(self, record: AuditRecord) -> None:
        future = self.loop.create_future()
        self.pending.append((record, future))
        self._flush_soon()
        await future

    def nudge(self) -> None:
        if self.link_due is None:
            self.link_due = self.loop.time() + LINK_DELAY_SECONDS
        if self.timer is None:
            self.timer = self.loop.call_at(self.link_due, self._on_timer)

    def start(self) -> None:
        self._flush_soon()

    async def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.flushing is not None:
            try:  # a database that does not answer must not hold up the shutdown
                await asyncio.wait_for(asyncio.shield(self.flushing), CLOSE_TIMEOUT_SECONDS)
            except TimeoutError:
                log.error("audit journal: the last batch did not finish before shutdown")
                self.writer.discard()
                return
        await self.writer.close()

    def _arm(self) -> None:
        """The batch about to go is watched: its start noted, the watchdog set if none is."""
        if not self.bounded:
            return
        self.batch_since = now = self.loop.time()
        if self.watchdog is None:
            self.watchdog = self.loop.call_at(now + self.timeout, self._on_watchdog)

    def _on_watchdog(self) -> None:
        """Cancel the batch in flight if it is overdue, else watch the one in flight."""
        self.watchdog = None
        if self.batch_since is None or self.flushing is None:
            return  # nothing in flight: the next batch sets the watchdog again
        due = self.batch_since + self.timeout
        if self.loop.time() < due:
            self.watchdog = self.loop.call_at(due, self._on_watchdog)
            return
        self.overdue = True
        self.flushing.cancel()

    def _disarm_overdue(self) -> None:
        """After the watchdog's cancel: the connection (whatever it waited for) dropped,
        the cancel taken back so the journal's task goes on with the next batch."""
        self.overdue = False
        self.writer.discard()
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()

    def _on_timer(self) -> None:
        self.timer = None
        self._flush_soon()

    def _flush_soon(self) -> None:
        if self.flushing is None:
            self.flushing = self.loop.create_task(self._flush())

    async def _flush(self) -> None:
        """Batches until nothing is queued and no link is due.

        Before each batch is cut the task yields one turn of the loop: the requests that
        the same poll of the loop woke (their reads answered) come before it and add their
        records. A commit's cost is mostly fixed (PostgreSQL's WAL write and flush, ≈ 0.1 ms
        of its CPU; the round trip and the batch's Python, ≈ 0.09 ms of ours), so the
        larger batches make each read cheaper: at 8 clients ≈ 4.5 records a batch instead of
        ≈ 3.3, ≈ 10–14% less of the server's CPU per read (bench/RESULTS.md, "The
        journal's batch cut one turn later"). More turns did not help."""
        try:
            while True:
                await asyncio.sleep(0)
                link = self.link_due is not None and self.link_due <= self.loop.time()
                if not self.pending and not link:
                    return
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                if link:  # nudges that come during this batch count for the next
                    self.link_due = None
                await self._commit(batch, link)
        finally:
            self.flushing = None

    async def _commit(self, batch: list[_Pending], link: bool) -> None:
        error: Exception | None = None
        self._arm()
        try:
            records = [record for record, _ in batch]
            if self.lock is not None and not link:  # SQLite: the loop's turn, next
                await self.lock.next_turn()
            if await commit(self.writer, records, link_waiting=link) >= SEAL_LIMIT:
                self.link_due = self.loop.time()  # more are waiting
        except asyncio.CancelledError:
            if not self.overdue:
                raise
            self._disarm_overdue()
            error = TimeoutError(f"audit batch not committed in {self.timeout:g} s")
            log.error("audit journal commit failed", exc_info=error)
        except Exception as exc:  # the requests learn of it and refuse to answer
            log.error("audit journal commit failed", exc_info=exc)
            error = exc
        finally:
            self.batch_since = None
            if self.overdue:  # the cancel was swallowed on the way: taken back all the same
                self._disarm_overdue()
            if self.lock is not None:
                self.lock.give_back_unused()
        for _, future in batch:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
