"""Delivery from the outbox to a real receiver: in order, no gap, nothing twice, nothing
lost across a restart or an outage of the receiver, nothing the subscriber may not read."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN
from fixtures.document_sharing import created, provide_bundle
from fixtures.fhir_app import FHIR_JSON, mint
from samhandling.services import default_platform
from samhandling.services.notifications import DeliveryWorker
from samhandling.services.notifications.delivery import LEASE_US
from samhandling.services.notifications.matching import match_batch
from samhandling.store import notification_queries as queries
from samhandling.store import notification_sender_queries as sender_queries
from samhandling.store.database import Engine, write_connection
from services.notifications.notification_kit import (
    OTHER_PATIENT,
    Clock,
    raise_alerts,
    subscribe,
    subscription,
    worker,
)
from services.notifications.receiver import Receiver, events_of

DOCUMENT_TOPIC = "https://samhandling.no/fhir/SubscriptionTopic/document"

CITIZEN_SUBSCRIBER = {
    "kind": "citizen",
    "issuer": "https://idporten.test",
    "subject": "citizen",
    "scopes": "patient/*.rs",
    "security_level": 4,
    "acts_for": [
        {"relation": "self", "patient_id": CITIZEN, "birth_date": "1985-05-05", "masked_pid": "x"}
    ],
}


def _status(client: TestClient, subscription_id: str) -> dict[str, dict[str, object]]:
    body = client.get(f"/fhir/Subscription/{subscription_id}/$status").json()
    return {p["name"]: p for p in body["parameter"]}


def test_events_arrive_in_order_with_no_gap(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    before = raise_alerts(client, 2)  # before the subscription: not announced
    subscribe(client, subscription(receiver.url))
    written = raise_alerts(client, 5)
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 5
    assert delivering.run_once() == 0
    delivering.close()
    assert receiver.event_numbers() == [1, 2, 3, 4, 5]
    assert receiver.focuses() == written
    assert not set(before) & set(receiver.focuses())
    assert receiver.kinds() == ["handshake", "event-notification"]
    bundle = receiver.bundles[1]
    assert bundle["type"] == "history"
    assert [e["fullUrl"].split("/fhir/")[1] for e in bundle["entry"][1:]] == written
    assert "resource" not in bundle["entry"][1]  # id-only: no content


def test_a_stopped_worker_loses_nothing_and_repeats_nothing(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscribe(client, subscription(receiver.url))
    first = raise_alerts(client, 3)
    one = worker(engine, Clock())
    one.run_once()
    one.close()  # stopped; more is written while no worker runs
    second = raise_alerts(client, 4)
    two = worker(engine, Clock())
    two.run_once()
    two.close()
    assert receiver.event_numbers() == list(range(1, 8))
    assert receiver.focuses() == first + second


def test_events_a_killed_worker_held_are_sent_once_its_lease_expires(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscribe(client, subscription(receiver.url))
    written = raise_alerts(client, 2)
    clock = Clock()
    platform = default_platform()
    match_batch(engine, platform.topics, platform.policy_rules, clock())
    with write_connection(engine) as connection:  # a process leases them, then is killed
        assert len(sender_queries.claim_due(connection, "killed", clock(), LEASE_US)) == 1
    restarted = worker(engine, clock)
    assert restarted.run_once() == 0  # the lease still holds
    clock.advance(LEASE_US / 1_000_000 + 1)
    assert restarted.run_once() == 2
    restarted.close()
    assert receiver.event_numbers() == [1, 2]
    assert receiver.focuses() == written


def test_a_receiver_down_gets_everything_when_it_returns(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscription_id = subscribe(client, subscription(receiver.url))
    clock = Clock()
    delivering = worker(engine, clock)
    delivering.run_once()  # the handshake
    receiver.down = True
    written = raise_alerts(client, 3)
    for _ in range(10):  # an hour of retries with back-off
        delivering.run_once()
        clock.advance(360)
    status = _status(client, subscription_id)
    assert status["status"]["valueCode"] == "active"
    assert "503" in str(status["error"])
    receiver.down = False
    written += raise_alerts(client, 1)
    clock.advance(3600)
    delivering.run_once()
    delivering.close()
    assert receiver.event_numbers() == [1, 2, 3, 4]
    assert receiver.focuses() == written
    assert "error" not in _status(client, subscription_id)


def test_a_subscription_failing_for_a_day_turns_error_and_its_owner_resumes_it(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    body = subscription(receiver.url)
    subscription_id = subscribe(client, body)
    clock = Clock()
    delivering = worker(engine, clock)
    delivering.run_once()  # the handshake
    receiver.down = True
    raise_alerts(client, 2)
    for _ in range(30):
        delivering.run_once()
        clock.advance(3600)
    status = _status(client, subscription_id)
    assert status["status"]["valueCode"] == "error"
    assert "failing since" in str(status["error"])
    stored = client.get(f"/fhir/Subscription/{subscription_id}").json()
    assert stored["status"] == "error"
    assert "503" in stored["error"]
    receiver.down = False
    resumed = client.put(
        f"/fhir/Subscription/{subscription_id}",
        json={**body, "id": subscription_id, "status": "requested"},
        headers={"Content-Type": "application/fhir+json"},
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "requested"  # until its handshake
    delivering.run_once()
    delivering.close()
    assert receiver.event_numbers() == [1, 2]
    assert receiver.kinds() == ["handshake", "handshake", "event-notification"]
    assert client.get(f"/fhir/Subscription/{subscription_id}").json()["status"] == "active"


def test_events_fetched_by_number(client: TestClient, engine: Engine, receiver: Receiver) -> None:
    subscription_id = subscribe(client, subscription(receiver.url))
    written = raise_alerts(client, 4)
    delivering = worker(engine, Clock())
    delivering.run_once()
    delivering.close()
    response = client.get(
        f"/fhir/Subscription/{subscription_id}/$events",
        params={"eventsSinceNumber": "2", "eventsUntilNumber": "3"},
    )
    assert response.status_code == 200, response.text
    bundle = response.json()
    status = {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}
    assert status["type"]["valueCode"] == "query-event"
    focuses = [e["fullUrl"].split("/fhir/")[1] for e in bundle["entry"][1:]]
    assert focuses == written[1:3]


def test_a_system_is_not_told_of_what_its_scopes_do_not_cover(
    client: TestClient, engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    narrow = mint(tmp_path, "system", scopes=("system/Subscription.cruds", "system/Observation.rs"))
    subscribe(client, subscription(receiver.url), {"Authorization": f"Bearer {narrow}"})
    raise_alerts(client, 2)
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 0
    delivering.close()
    assert receiver.event_numbers() == []


def test_a_citizen_is_told_only_of_what_they_may_read(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    # A citizen subscription without a patient filter cannot be made through the API (see
    # test_notification_citizens); delivery still judges each event, shown on a recorded one.
    subscription_id = subscribe(client, subscription(receiver.url))
    with write_connection(engine) as connection:
        state = queries.subscription_state(connection, subscription_id)
        assert state is not None
        queries.save_subscription(
            connection,
            subscription_id,
            topic=state.topic,
            filters=(),
            endpoint=receiver.url,
            headers=(),
            payload="id-only",
            subscriber=CITIZEN_SUBSCRIBER,
            start_tx=state.start_tx,
        )
    others = raise_alerts(client, 2, OTHER_PATIENT)
    own = raise_alerts(client, 1, CITIZEN)
    delivering = worker(engine, Clock())
    delivering.run_once()
    delivering.close()
    assert receiver.focuses() == own
    assert receiver.event_numbers() == [1]
    assert not set(others) & set(receiver.focuses())


def test_a_patient_filter_selects_one_patients_events(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    body = subscription(receiver.url, filters=(f"Communication?patient=Patient/{CITIZEN}",))
    subscribe(client, body)
    raise_alerts(client, 2, OTHER_PATIENT)
    own = raise_alerts(client, 2, CITIZEN)
    delivering = worker(engine, Clock())
    delivering.run_once()
    delivering.close()
    assert receiver.focuses() == own
    assert receiver.event_numbers() == [1, 2]


def test_two_workers_never_deliver_an_event_twice(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscriptions = [subscribe(client, subscription(receiver.url)) for _ in range(3)]
    written = raise_alerts(client, 30)
    workers = [worker(engine, Clock()), worker(engine, Clock())]

    def rounds(delivering: DeliveryWorker) -> None:
        for _ in range(20):
            delivering.run_once()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(rounds, workers))
    for delivering in workers:
        delivering.close()
    received: dict[str, list[int]] = {}
    for bundle in receiver.bundles:
        status = {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}
        reference = status["subscription"]["valueReference"]["reference"]
        numbers = [n for n, _ in events_of(bundle)]
        received.setdefault(reference.rsplit("/", 1)[1], []).extend(numbers)
    assert sorted(received) == sorted(subscriptions)
    for numbers in received.values():
        assert numbers == list(range(1, len(written) + 1))


def test_a_provided_document_is_announced_on_the_document_topic(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    subscribe(client, subscription(receiver.url, DOCUMENT_TOPIC))
    bundle, _ = provide_bundle(CITIZEN)
    answer = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert answer.status_code == 200, answer.text
    (document_id,) = created(answer.json(), "DocumentReference")
    delivering = worker(engine, Clock())
    assert delivering.run_once() == 1
    delivering.close()
    assert receiver.focuses() == [f"DocumentReference/{document_id}"]
