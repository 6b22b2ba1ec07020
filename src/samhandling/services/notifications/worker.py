"""The delivery worker (`Service.workers`): matching and sending in a thread of its own.

Each round asks in one statement whether anything is to be done (`outlook`), then matches
the outbox's waiting events and sends what is due; the state is all in the database (outbox
marks, numbered events, delivery marks, leases), so a worker stopped or killed mid-way loses
nothing and another process can share the work. A round starts every 0.1 s, and at once (at
most every 10 ms) after a write transaction commits in another thread of this process
(`on_write_commit`; the worker's own commits do not wake it), so a write is usually
delivered within one matching and one send. While no subscription is live the worker does
not wake for writes and looks again every `IDLE_INTERVAL_S`, or at once when a subscription
is saved in this process: one saved through another process is honoured within that
interval (the events written meanwhile wait in the outbox). `run_once` is one round at a
given time, for tests with a fixed clock; `start`/`stop` run rounds until stopped.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence

import httpx

from samhandling.auth.policy import ServiceRules
from samhandling.fhir.instants import now_us
from samhandling.services.notifications.delivery import Sender
from samhandling.services.notifications.delivery_metrics import DeliveryMetrics
from samhandling.services.notifications.matching import BATCH, match_claimed
from samhandling.services.subscription_topic import Topic
from samhandling.store import notification_queries as queries
from samhandling.store import notification_sender_queries as sender_queries
from samhandling.store.database import Engine, statement_connection, write_connection
from samhandling.store.notification_queue_queries import outlook

log = logging.getLogger("samhandling.notifications")

ROUND_INTERVAL_S = 0.1
#: the least time between two rounds when writes keep waking the worker
LEAST_GAP_S = 0.01
#: while no subscription is live: how often the worker looks again (a subscription saved in
#: another process waits at most this long; one saved in this process wakes it at once)
IDLE_INTERVAL_S = 1.0
#: how often the held-back events are looked at (their times are to the second)
RECHECK_INTERVAL_US = 10 * 1_000_000
SEND_TIMEOUT_S = 10.0


class DeliveryWorker:
    """Delivers topic notifications from the outbox (see the module doc)."""

    def __init__(
        self,
        engine: Engine,
        topics: Sequence[Topic],
        rules: Callable[[], ServiceRules],
        base_url: str,
        *,
        clock: Callable[[], int] = now_us,
        client: httpx.Client | None = None,
    ) -> None:
        self.engine = engine
        self.topics = tuple(topics)
        self.rules = functools.cache(rules)
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.client = client or httpx.Client(timeout=SEND_TIMEOUT_S)
        self.holder = uuid.uuid4().hex
        #: its metrics, served with the application's (`Metrics.include`)
        self.collector = DeliveryMetrics(engine)
        self.sender = Sender(
            engine, self.client, self.base_url, self.holder, self.collector, self.topics
        )
        self._rechecked_at_us = 0
        self._stopping = threading.Event()
        self._woken = threading.Event()  # a write committed in this process
        self._unhook: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._live = True  # the last round found a live subscription
        self._idle = False  # none live, and no subscription saved here since: sleep long
        self._saved_at = 0.0  # when a subscription saved here last committed (monotonic)

    def run_once(self) -> int:
        """One round: match every waiting event (and every RECHECK_INTERVAL_US the held-back
        ones), then send until nothing is due; events delivered."""
        now = self.clock()
        with statement_connection(self.engine) as connection:
            ahead = outlook(connection, now)
        self._live = ahead.live
        if not ahead.live:  # nothing to number or send (the held-back wait for a live one)
            return 0
        recheck = now - self._rechecked_at_us >= RECHECK_INTERVAL_US
        if recheck:
            self._rechecked_at_us = now
        taken = 0
        if ahead.unmatched or recheck:
            taken = self._match(now, recheck)
        if not (ahead.due or taken or recheck):
            return 0
        delivered = 0
        while sent := self.sender.send_due(now):  # a backlog goes out without waiting
            delivered += sent
            if self._stopping.is_set():
                break
        return delivered

    def _match(self, now: int, recheck: bool) -> int:
        """Match batches until one is not full; the outbox events taken."""
        taken = 0
        while True:
            batch = match_claimed(self.engine, self.topics, self.rules, now, recheck=recheck)
            taken += batch
            recheck = False
            if batch < BATCH or self._stopping.is_set():
                return taken

    def start(self) -> None:
        self._stopping.clear()
        self._unhook = queries.on_write_commit(self.engine, self._committed)
        self._thread = threading.Thread(target=self._run, name="notifications", daemon=True)
        self._thread.start()

    def _committed(self, subscription_saved: bool) -> None:
        """A write transaction committed in this process: wake for it unless it is the
        worker's own, or nothing is live and it saved no subscription."""
        if threading.current_thread() is self._thread:
            return
        if subscription_saved:
            self._saved_at = time.monotonic()
            self._idle = False
        elif self._idle:
            return
        self._woken.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._woken.clear()
            started = time.monotonic()
            try:
                self.run_once()
            except Exception:  # an outage or a bug must not end delivery for good
                log.exception("notification round failed")
                self._live = True
            # a subscription committed while the round looked may not have been seen by it
            self._idle = not self._live and self._saved_at < started - ROUND_INTERVAL_S
            if self._stopping.wait(LEAST_GAP_S):
                break
            self._woken.wait(IDLE_INTERVAL_S if self._idle else ROUND_INTERVAL_S)

    async def stop(self) -> None:
        self._stopping.set()
        self._woken.set()
        if self._unhook is not None:
            self._unhook()
            self._unhook = None
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        self.close()

    def close(self) -> None:
        """Hand back the leases this worker holds and close its HTTP client."""
        try:
            with write_connection(self.engine) as connection:
                sender_queries.release_leases(connection, self.holder)
        except Exception:
            log.exception("could not hand back the notification leases")
        self.client.close()
