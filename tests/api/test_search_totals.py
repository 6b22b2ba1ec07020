"""Searches over HTTP give `total` by default when it is cheap (issue 14): clients that
show "N results" need no `_total=accurate`; `_total=none` still leaves it out."""

from __future__ import annotations

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.audit.storage.tables import audit_event
from samhandling.audit.stored_form import event_of


def _patients(client: TestClient, count: int) -> None:
    entries = [
        {
            "resource": {
                "resourceType": "Patient",
                "gender": "female",
                "name": [{"family": f"P{i}"}],
            },
            "request": {"method": "POST", "url": "Patient"},
        }
        for i in range(count)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    assert client.post("/fhir", json=bundle, headers=FHIR_JSON).status_code == 200


def test_total_is_given_without_asking(client: TestClient) -> None:
    _patients(client, 12)
    for query in ("gender=female&_count=5", "gender=female&_count=5&_sort=-_lastUpdated"):
        first = client.get(f"/fhir/Patient?{query}").json()
        assert first["total"] == 12 and len(first["entry"]) == 5
        links = {link["relation"]: link["url"] for link in first["link"]}
        second = client.get(links["next"].removeprefix("http://testserver")).json()
        assert second["total"] == 12
        assert "total" not in client.get(f"/fhir/Patient?{query}&_total=none").json()


def test_counting_does_not_record_the_uncounted_as_shown(client: TestClient) -> None:
    """The matches beyond the page are counted, not shown: the audit record of the search
    names the page's three, not the batch checked for it nor all thirty."""
    _patients(client, 30)
    assert client.get("/fhir/Patient?gender=female&_count=3").json()["total"] == 30
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(
            select(audit_event.c.content).where(audit_event.c.interaction == "search")
        ).all()
    (event,) = [event_of(row[0]) for row in rows]
    shown = [e for e in event["entity"] if e["role"]["code"] == "4"]  # domain resources
    assert len(shown) == 3
