"""Notifications end to end: a real server process delivers NEWS2 alerts to a real receiver
as they are written, and after being killed and started again it goes on numbering where it
stopped, with nothing lost and nothing twice."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from websockets.sync.client import ClientConnection, connect

from fixtures.critical_information import CITIZEN
from fixtures.server_process import ServerProcess
from samhandling.store import notification_queries as queries
from samhandling.store.database import make_engine, read_connection
from services.notifications.notification_kit import alert, subscription
from services.notifications.receiver import Receiver, events_of, kind_of

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
    # restarted at the same address, so its development issuer (whose URL is the server's)
    # is the same issuer: a subscription belongs to the client of one issuer
    second = ServerProcess(database_url, data_dir)
    second.port, second.base_url = first.port, first.base_url
    second.log_path = data_dir / f"server-{first.port}-restarted.log"
    second.start()
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


def _socket_bundles(socket: ClientConnection, events: int) -> list[dict[str, object]]:
    """Bundles from the socket until `events` events came (each read waits at most 20 s)."""
    bundles: list[dict[str, object]] = []
    while sum(len(events_of(b)) for b in bundles) < events:
        bundles.append(json.loads(socket.recv(timeout=20)))
    return bundles


def _binding(client: httpx.Client, server: ServerProcess, subscription_id: str) -> dict[str, str]:
    answer = client.post(
        f"/Subscription/{subscription_id}/$get-ws-binding-token", headers=server.headers()
    )
    assert answer.status_code == 200, answer.text
    return {
        p["name"]: p.get("valueString") or p.get("valueUrl") for p in answer.json()["parameter"]
    }


def test_websocket_channel_story(database_url: str, tmp_path: Path) -> None:
    server = ServerProcess(database_url, tmp_path / "data").start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            server.load_personas(client)
            body = subscription("", channel="websocket")
            del body["channel"]["endpoint"]  # a websocket subscription has none
            created = client.post(
                "/Subscription", json=body, headers={**FHIR_JSON, **server.headers()}
            )
            assert created.status_code == 201, created.text
            subscription_id = created.json()["id"]
            binding = _binding(client, server, subscription_id)
            assert binding["websocket-url"] == server.base_url.replace("http", "ws", 1) + (
                "/subscription-ws"
            )
            with connect(binding["websocket-url"]) as socket:
                socket.send("bind-with-token not-a-token")
                refusal = json.loads(socket.recv(timeout=20))
                assert refusal["resourceType"] == "OperationOutcome"
            with connect(binding["websocket-url"]) as socket:
                socket.send(f"bind-with-token {binding['token']}")
                handshake = json.loads(socket.recv(timeout=20))
                assert kind_of(handshake) == "handshake"
                written = _write_alerts(server, 3)
                bundles = _socket_bundles(socket, 3)
            numbered = [e for b in bundles for e in events_of(b)]
            assert numbered == list(zip([1, 2, 3], written, strict=True))
            missed = _write_alerts(server, 2)  # no socket bound: fetched by $events
            deadline = time.monotonic() + 20
            while True:
                found = client.get(
                    f"/Subscription/{subscription_id}/$events",
                    params={"eventsSinceNumber": "4"},
                    headers=server.headers(),
                ).json()
                if len(events_of(found)) == 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)  # waiting for the server's matcher, not the time of day
            assert events_of(found) == list(zip([4, 5], missed, strict=True))
            again = _binding(client, server, subscription_id)
            with connect(again["websocket-url"]) as socket:  # rebinding: what was not sent
                socket.send(f"bind-with-token {again['token']}")
                assert kind_of(json.loads(socket.recv(timeout=20))) == "handshake"
                resent = [e for b in _socket_bundles(socket, 2) for e in events_of(b)]
            assert resent == list(zip([4, 5], missed, strict=True))
    finally:
        server.stop()
