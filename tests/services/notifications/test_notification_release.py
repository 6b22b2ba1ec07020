"""A lab result held back from a citizen by its release delay is announced to them when the
delay ends, judged by the policy at that later time: never if it was blocked meanwhile, and
once it is released again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from fixtures.critical_information import CITIZEN
from fixtures.fhir_app import FHIR_JSON, mint
from fixtures.lab_results import created_ids, reason, submission
from samhandling.fhir.instants import now_us
from samhandling.store.database import Engine
from services.notifications.notification_kit import LAB_RESULT, Clock, subscribe, subscription
from services.notifications.notification_kit import worker as delivery_worker
from services.notifications.receiver import Receiver

DAY = 24 * 3600
CITIZEN_SCOPES = ("patient/*.rs", "patient/Subscription.cru")


def _citizen_subscription(client: TestClient, receiver: Receiver, tmp_path: Path) -> str:
    """The citizen's own lab-result subscription, made through the API."""
    token = mint(tmp_path, "citizen", scopes=CITIZEN_SCOPES)
    body = subscription(
        receiver.url, LAB_RESULT, filters=(f"DiagnosticReport?patient=Patient/{CITIZEN}",)
    )
    return subscribe(client, body, {"Authorization": f"Bearer {token}"})


def _microbiology_result(client: TestClient, clock: Clock) -> str:
    """A microbiology report (released to the citizen 7 days after `issued`), issued now."""
    issued = datetime.fromtimestamp(clock() / 1e6, UTC).replace(microsecond=0)
    response = client.post("/fhir", json=submission(CITIZEN, issued, "MBIO"), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    return created_ids(response.json())["DiagnosticReport"][0]


def _clinician(client: TestClient, report: str, operation: str, tmp_path: Path) -> None:
    gp = {"Authorization": f"Bearer {mint(tmp_path, 'gp')}", **FHIR_JSON}
    url = f"/fhir/DiagnosticReport/{report}/${operation}"
    answer = client.post(url, json=reason("vil snakke med pasienten først"), headers=gp)
    assert answer.status_code == 200, answer.text


def test_a_delayed_result_is_announced_when_its_delay_ends(
    client: TestClient, engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    _citizen_subscription(client, receiver, tmp_path)
    clock = Clock(now_us())
    report = _microbiology_result(client, clock)
    delivering = delivery_worker(engine, clock)
    assert delivering.run_once() == 0  # written: not yet for the citizen
    clock.advance(7 * DAY - 60)
    assert delivering.run_once() == 0  # a minute before its release
    clock.advance(61)
    assert delivering.run_once() == 1
    clock.advance(DAY)
    assert delivering.run_once() == 0  # once only
    delivering.close()
    assert receiver.focuses() == [f"DiagnosticReport/{report}"]
    assert receiver.event_numbers() == [1]


def test_a_result_blocked_during_its_delay_is_never_announced_until_released(
    client: TestClient, engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    _citizen_subscription(client, receiver, tmp_path)
    clock = Clock(now_us())
    report = _microbiology_result(client, clock)
    delivering = delivery_worker(engine, clock)
    delivering.run_once()
    clock.advance(3 * DAY)
    _clinician(client, report, "block", tmp_path)
    delivering.run_once()
    clock.advance(30 * DAY)  # long past its delay: still blocked
    assert delivering.run_once() == 0
    assert receiver.event_numbers() == []
    _clinician(client, report, "unblock", tmp_path)  # released by the clinician
    clock.advance(1)
    assert delivering.run_once() == 1
    delivering.close()
    assert receiver.focuses() == [f"DiagnosticReport/{report}"]
    assert receiver.event_numbers() == [1]
