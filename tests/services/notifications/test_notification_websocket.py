"""The websocket channel's binding token: only for a websocket subscription, only to who may
read it, valid five minutes, one at a time; a bound feed sends the numbered events."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from fixtures.fhir_app import BASE, FHIR_JSON, mint
from samhandling.fhir.instants import now_us
from samhandling.services.notifications.websocket import TOKEN_LIFETIME_US, bind
from samhandling.store.database import Engine
from services.notifications.notification_kit import (
    Clock,
    raise_alerts,
    subscribe,
    subscription,
    worker,
)
from services.notifications.receiver import events_of, kind_of


def _websocket_subscription(client: TestClient) -> str:
    body = subscription("", channel="websocket")
    del body["channel"]["endpoint"]
    return subscribe(client, body)


def _token(client: TestClient, subscription_id: str, headers: dict[str, str] | None = None) -> str:
    answer = client.post(
        f"/fhir/Subscription/{subscription_id}/$get-ws-binding-token", headers=headers or {}
    )
    assert answer.status_code == 200, answer.text
    return next(p["valueString"] for p in answer.json()["parameter"] if p["name"] == "token")


def test_a_bound_feed_sends_the_numbered_events(client: TestClient, engine: Engine) -> None:
    subscription_id = _websocket_subscription(client)
    assert client.get(f"/fhir/Subscription/{subscription_id}").json()["status"] == "active"
    feed = bind(engine, BASE, _token(client, subscription_id), now_us())
    assert feed is not None
    assert kind_of(feed.handshake()) == "handshake"
    written = raise_alerts(client, 2)
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 0  # the rest-hook sender leaves websockets alone
    delivering.close()
    bundles = feed.poll(now_us())
    assert bundles is not None
    assert [e for b in bundles for e in events_of(b)] == [(1, written[0]), (2, written[1])]
    assert feed.poll(now_us()) == []  # nothing twice


def test_a_token_binds_only_while_valid_and_only_the_latest(
    client: TestClient, engine: Engine
) -> None:
    subscription_id = _websocket_subscription(client)
    first = _token(client, subscription_id)
    second = _token(client, subscription_id)
    now = now_us()
    assert bind(engine, BASE, first, now) is None  # replaced
    assert bind(engine, BASE, second, now) is not None
    assert bind(engine, BASE, second, now + TOKEN_LIFETIME_US + 1) is None  # expired
    subscription_part, secret = second.rsplit(".", 1)
    # change the secret's first character to one it is not (a fixed "x" equals it 1 in 64)
    forged = f"{subscription_part}.{'y' if secret[0] == 'x' else 'x'}{secret[1:]}"
    assert bind(engine, BASE, forged, now) is None
    assert bind(engine, BASE, "", now) is None


def test_no_token_for_a_rest_hook_or_for_another_citizen(
    client: TestClient, tmp_path: Path
) -> None:
    rest_hook = subscribe(client, subscription("https://receiver.example/hook"))
    url = f"/fhir/Subscription/{rest_hook}/$get-ws-binding-token"
    assert client.post(url).status_code == 422
    scopes = ("patient/*.rs", "patient/Subscription.cru")
    owner = {"Authorization": f"Bearer {mint(tmp_path, 'citizen', scopes=scopes)}", **FHIR_JSON}
    other = {"Authorization": f"Bearer {mint(tmp_path, 'parent', scopes=scopes)}", **FHIR_JSON}
    body = subscription(
        "", channel="websocket", filters=("Communication?patient=Patient/persona-citizen",)
    )
    del body["channel"]["endpoint"]
    theirs = subscribe(client, body, owner)
    assert _token(client, theirs, owner)
    refused = client.post(f"/fhir/Subscription/{theirs}/$get-ws-binding-token", headers=other)
    assert refused.status_code in (403, 404), refused.text
