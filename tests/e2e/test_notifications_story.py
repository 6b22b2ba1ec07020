"""Notifications end to end: a real server process delivers NEWS2 alerts to a real receiver
as they are written, and after being killed and started again it goes on numbering where it
stopped, with nothing lost and nothing twice."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from fixtures.critical_information import CITIZEN
from fixtures.server_process import ServerProcess
from samhandling.store import notification_queries as queries
from samhandling.store.database import make_engine, read_connection
from services.notifications.notification_kit import alert, subscription
from services.notifications.receiver import Receiver

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _write_alerts(server: ServerProcess, count: int) -> list[str]:
    written = []
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for i in range(count):
            response = client.post(
                "/Communication",
                json=alert(CITIZEN, f"NEWS2 {i}"),
                headers={**FHIR_JSON, **server.headers()},
            )
            assert response.status_code == 201, response.text
            written.append(f"Communication/{response.json()['id']}")
    return written


def _until_received(receiver: Receiver, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.event_numbers()) < count:
        assert time.monotonic() < deadline, f"received only {receiver.event_numbers()}"
        time.sleep(0.05)  # waiting for another process, not for the time of day


def _until_recorded(database_url: str, subscription_id: str, number: int) -> None:
    """Until the server recorded the delivery (a kill before that sends those events again,
    after the lease of the killed process expires: at least once)."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + 20
    try:
        while True:
            with read_connection(engine) as connection:
                state = queries.subscription_state(connection, subscription_id)
            if state is not None and state.delivered_through >= number:
                return
            assert time.monotonic() < deadline, "the delivery was never recorded"
            time.sleep(0.05)
    finally:
        engine.dispose()


def test_notifications_story(database_url: str, tmp_path: Path) -> None:
    receiver = Receiver().start()
    data_dir = tmp_path / "data"
    first = ServerProcess(database_url, data_dir).start()
    try:
        with httpx.Client(base_url=first.base_url, timeout=30) as client:
            first.load_personas(client)
            created = client.post(
                "/Subscription",
                json=subscription(receiver.url),
                headers={**FHIR_JSON, **first.headers()},
            )
            assert created.status_code == 201, created.text
            subscription_id = created.json()["id"]
        written = _write_alerts(first, 3)
        _until_received(receiver, 3)
        _until_recorded(database_url, subscription_id, 3)
    finally:
        first.kill()
    second = ServerProcess(database_url, data_dir).start()
    try:
        written += _write_alerts(second, 2)
        _until_received(receiver, 5)
        with httpx.Client(base_url=second.base_url, timeout=30) as client:
            status = client.get(
                f"/Subscription/{subscription_id}/$status", headers=second.headers()
            ).json()
    finally:
        second.stop()
        receiver.stop()
    assert receiver.event_numbers() == [1, 2, 3, 4, 5]
    assert receiver.focuses() == written
    parameters = {p["name"]: p for p in status["parameter"]}
    assert parameters["events-since-subscription-start"]["valueString"] == "5"
    assert parameters["status"]["valueCode"] == "active"
