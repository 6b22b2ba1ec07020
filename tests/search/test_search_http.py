"""Search over HTTP: GET and POST, compartment and system search, errors as outcomes."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def put(client: TestClient, body: dict) -> None:
    url = f"/fhir/{body['resourceType']}/{body['id']}"
    response = client.put(url, content=orjson.dumps(body), headers=FHIR_JSON)
    assert response.status_code in (200, 201), response.text


def world(client: TestClient) -> None:
    put(client, {"resourceType": "Patient", "id": "p1", "name": [{"family": "Ødegård"}]})
    put(client, {"resourceType": "Patient", "id": "p2", "name": [{"family": "Berg"}]})
    for n, patient in enumerate(("p1", "p1", "p2")):
        put(
            client,
            {
                "resourceType": "Observation",
                "id": f"o{n}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "subject": {"reference": f"Patient/{patient}"},
                "effectiveDateTime": f"2024-03-0{n + 1}",
            },
        )
    put(client, {"resourceType": "Organization", "id": "org", "name": "Sykehuset"})


def ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"]


def test_get_and_post_give_the_same_results(client: TestClient) -> None:
    world(client)
    query = "code=http://loinc.org|8480-6&date=ge2024-03-02&_sort=date"
    got = client.get(f"/fhir/Observation?{query}").json()
    posted = client.post("/fhir/Observation/_search", content=query, headers=FORM).json()
    assert ids(got) == ids(posted) == ["o1", "o2"]
    mixed = client.post(
        "/fhir/Observation/_search?_sort=date", content="date=ge2024-03-02", headers=FORM
    ).json()
    assert ids(mixed) == ["o1", "o2"]


def test_compartment_search(client: TestClient) -> None:
    world(client)
    bundle = client.get("/fhir/Patient/p1/Observation?_sort=date").json()
    assert ids(bundle) == ["o0", "o1"]
    assert bundle["link"][0]["url"].startswith("http://testserver/fhir/Patient/p1/Observation?")
    everything = client.get("/fhir/Patient/p1/*").json()
    assert sorted(ids(everything)) == ["o0", "o1", "p1"]
    posted = client.post("/fhir/Patient/p2/Observation/_search", content="", headers=FORM).json()
    assert ids(posted) == ["o2"]
    assert client.get("/fhir/Patient/p1/Nonsense").status_code == 400


def test_history_still_answers_on_its_own_path(client: TestClient) -> None:
    world(client)
    history = client.get("/fhir/Patient/p1/_history").json()
    assert history["type"] == "history"


def test_system_search(client: TestClient) -> None:
    world(client)
    both = client.get("/fhir?_type=Patient,Organization&_sort=_id").json()
    assert ids(both) == ["org", "p1", "p2"]
    everything = client.get("/fhir?_id=p1,org").json()
    assert sorted(ids(everything)) == ["org", "p1"]
    named = client.get("/fhir?_type=Patient,Organization&name=sykehus").json()
    assert ids(named) == ["org"]
    posted = client.post("/fhir/_search", content="_type=Patient&name=odegard", headers=FORM).json()
    assert ids(posted) == ["p1"]
    assert client.get("/fhir?_type=Patient,Observation&name=x").status_code == 400


def test_errors_are_operation_outcomes(client: TestClient) -> None:
    response = client.get("/fhir/Patient?nonsense=1")
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    bad = client.get("/fhir/Patient?birthdate=2024-99")
    assert bad.status_code == 400 and "Invalid date" in bad.text
    lenient = client.get("/fhir/Patient?nonsense=1", headers={"Prefer": "handling=lenient"})
    assert lenient.status_code == 200
    assert lenient.json()["entry"][-1]["search"]["mode"] == "outcome"


def test_paging_links_over_http(client: TestClient) -> None:
    world(client)
    page = client.get("/fhir/Observation?_count=1&_sort=_id&_total=accurate").json()
    seen = ids(page)
    while nxt := [link["url"] for link in page["link"] if link["relation"] == "next"]:
        page = client.get(nxt[0].replace("http://testserver", "")).json()
        seen += ids(page)
    assert seen == ["o0", "o1", "o2"]
    assert page["total"] == 3
