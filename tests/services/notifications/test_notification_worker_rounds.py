"""The worker's rounds: one `outlook` statement says what a round has to do (the same answers
as the queries it replaces), the worker's own commits do not wake it, an idle worker (no
live subscription) sleeps through writes, and a subscription saved anywhere is honoured."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert
from starlette.testclient import TestClient

from samhandling.services import default_platform
from samhandling.services.notifications import DeliveryWorker
from samhandling.services.notifications import worker as worker_module
from samhandling.store import notification_queries as queries
from samhandling.store import notification_sender_queries as sender_queries
from samhandling.store.database import Engine, read_connection, write_connection
from samhandling.store.notification_queue_queries import outlook
from samhandling.store.service_tables import notification_subscription
from services.notifications.notification_kit import BASE, raise_alerts, subscribe, subscription
from services.notifications.receiver import Receiver

NOW_US = 1_800_000_000_000_000

_row = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["requested", "active", "error", "off"]),
        "endpoint": st.sampled_from(["https://r.test/hook", "websocket:", "websocket:1:ab"]),
        "events_since_start": st.integers(0, 3),
        "delivered_through": st.integers(0, 3),
        "failures": st.integers(0, 2),
        "next_attempt_us": st.sampled_from([None, NOW_US - 1, NOW_US, NOW_US + 1]),
        "lease_until_us": st.sampled_from([None, NOW_US - 1, NOW_US, NOW_US + 1]),
    }
)


def _store(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with write_connection(engine) as connection:
        connection.execute(delete(notification_subscription))
        for i, row in enumerate(rows):
            connection.execute(
                insert(notification_subscription).values(
                    subscription_id=f"s{i}",
                    topic="t",
                    filters="[]",
                    headers="[]",
                    payload="id-only",
                    subscriber="{}",
                    start_tx=0,
                    **row,
                )
            )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_row, max_size=4))
def test_the_outlook_answers_as_the_queries_it_stands_for(
    engine: Engine, rows: list[dict[str, Any]]
) -> None:
    _store(engine, rows)
    with read_connection(engine) as connection:
        ahead = outlook(connection, NOW_US)
        assert ahead.live == queries.any_active(connection)
        assert ahead.unmatched == queries.any_unmatched(connection)
    with engine.connect() as connection, connection.begin() as transaction:
        claimed = sender_queries.claim_due(connection, "holder", NOW_US, 1)
        transaction.rollback()  # only asked
    assert ahead.due == bool(claimed)


def test_a_commit_tells_whether_it_saved_a_subscription(engine: Engine) -> None:
    told: list[bool] = []
    unhook = queries.on_write_commit(engine, told.append)
    try:
        with write_connection(engine) as connection:
            queries.any_active(connection)
        with write_connection(engine) as connection:
            queries.save_subscription(
                connection,
                "s1",
                topic="t",
                filters=(),
                endpoint="https://r.test/hook",
                headers=(),
                payload="id-only",
                subscriber={},
                start_tx=0,
            )
        with write_connection(engine) as connection:
            queries.any_active(connection)
    finally:
        unhook()
    assert told == [False, True, False]


class _Counted(DeliveryWorker):
    """A worker that counts its rounds."""

    rounds = 0

    def run_once(self) -> int:
        self.rounds += 1
        return super().run_once()


class _Committing(_Counted):
    """A worker whose every round commits a write (as a claim or a delivery does)."""

    def run_once(self) -> int:
        with write_connection(self.engine) as connection:
            queries.any_active(connection)
        return super().run_once()


def _started(engine: Engine, kind: type[_Counted] = _Counted) -> _Counted:
    platform = default_platform()
    running = kind(engine, platform.topics, platform.policy_rules, BASE)
    running.start()
    return running


def _rounds_in(running: _Counted, seconds: float) -> int:
    before = running.rounds
    time.sleep(seconds)
    return running.rounds - before


def test_the_worker_is_not_woken_by_its_own_commits(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscribe(client, subscription(receiver.url))  # live: the worker runs its 0.1 s rounds
    running = _started(engine, _Committing)
    try:
        _wait_for(lambda: receiver.kinds() == ["handshake"], 10)
        # each round commits; woken by its own commits it ran a round every 10 ms
        assert _rounds_in(running, 1.0) <= 1.0 / worker_module.ROUND_INTERVAL_S + 3
    finally:
        asyncio.run(running.stop())


def test_an_idle_worker_sleeps_through_writes_and_wakes_for_a_subscription(
    engine: Engine,
) -> None:
    running = _started(engine)
    try:
        _wait_for(lambda: running._idle, 5)
        with write_connection(engine) as connection:  # a write of this process
            queries.any_unmatched(connection)
        assert running._idle  # no live subscription: the write woke no one
        assert _rounds_in(running, 0.5) <= 1
        with write_connection(engine) as connection:
            queries.save_subscription(
                connection,
                "s1",
                topic="t",
                filters=(),
                endpoint="websocket:",
                headers=(),
                payload="id-only",
                subscriber={},
                start_tx=0,
            )
        assert not running._idle  # its commit woke the worker
        _wait_for(lambda: running.rounds >= 2 and not running._idle, 5)
        assert _rounds_in(running, 2.0) >= 3  # 0.1 s rounds again (idle: one a second)
    finally:
        asyncio.run(running.stop())


def test_a_subscription_saved_through_another_node_gets_the_later_events(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    running = _started(engine)  # this node's worker; the client's app is another node
    try:
        before = raise_alerts(client, 2)
        _wait_for(lambda: running._idle, 5)  # it knows of no live subscription
        subscribe(client, subscription(receiver.url))  # on the other node
        written = raise_alerts(client, 3)
        deadline = worker_module.IDLE_INTERVAL_S + 15  # its next look, and a loaded host
        _wait_for(lambda: len(receiver.event_numbers()) == 3, deadline)
    finally:
        asyncio.run(running.stop())
    assert receiver.event_numbers() == [1, 2, 3]
    assert receiver.focuses() == written
    assert not set(before) & set(receiver.focuses())


def _wait_for(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.02)
