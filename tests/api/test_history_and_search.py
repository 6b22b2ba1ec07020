"""History (instance, type, system; _since, _at, _count, paging) and the basic searches."""

from __future__ import annotations

import time

import orjson
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON


def create(client: TestClient, body: dict) -> dict:
    response = client.post(
        f"/fhir/{body['resourceType']}", content=orjson.dumps(body), headers=FHIR_JSON
    )
    assert response.status_code == 201, response.text
    return response.json()


def follow(client: TestClient, url: str) -> dict:
    return client.get(url.replace("http://testserver", "")).json()


def test_history_paging_is_stable_while_writes_happen(client: TestClient) -> None:
    ids = [create(client, {"resourceType": "Patient", "gender": "male"})["id"] for _ in range(7)]
    page = client.get("/fhir/Patient/_history?_count=3").json()
    seen = [e["resource"]["id"] for e in page["entry"]]
    create(client, {"resourceType": "Patient", "gender": "female"})  # must not shift the pages
    while next_link := [link for link in page["link"] if link["relation"] == "next"]:
        page = follow(client, next_link[0]["url"])
        seen += [e["resource"]["id"] for e in page["entry"]]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 7


def test_system_history_and_since(client: TestClient) -> None:
    create(client, {"resourceType": "Patient"})
    time.sleep(0.01)
    middle = client.get("/fhir/_history").json()["entry"][0]["response"]["lastModified"]
    time.sleep(0.01)
    later = create(client, {"resourceType": "Organization", "name": "Haukeland"})
    all_history = client.get("/fhir/_history").json()
    assert all_history["total"] == 2
    since = client.get(f"/fhir/_history?_since={later['meta']['lastUpdated']}").json()
    assert [e["resource"]["id"] for e in since["entry"]] == [later["id"]]
    assert client.get(f"/fhir/_history?_since={middle}").json()["total"] == 2


def test_history_at(client: TestClient) -> None:
    patient = create(client, {"resourceType": "Patient", "gender": "male"})
    time.sleep(0.01)
    client.put(
        f"/fhir/Patient/{patient['id']}",
        content=orjson.dumps({**patient, "gender": "female"}),
        headers=FHIR_JSON,
    )
    at = client.get(
        f"/fhir/Patient/{patient['id']}/_history?_at={patient['meta']['lastUpdated']}"
    ).json()
    assert [e["resource"]["gender"] for e in at["entry"]] == ["male"]


def test_history_of_unknown_resource_is_404(client: TestClient) -> None:
    assert client.get("/fhir/Patient/nobody/_history").status_code == 404


def test_search_by_id_identifier_and_last_updated(client: TestClient) -> None:
    kari = create(
        client,
        {"resourceType": "Patient", "identifier": [{"system": "urn:example:mrn", "value": "77"}]},
    )
    create(
        client,
        {"resourceType": "Patient", "identifier": [{"system": "urn:example:mrn", "value": "78"}]},
    )
    by_id = client.get(f"/fhir/Patient?_id={kari['id']}").json()
    assert [e["resource"]["id"] for e in by_id["entry"]] == [kari["id"]]
    by_identifier = client.get("/fhir/Patient?identifier=urn:example:mrn|77").json()
    assert by_identifier["total"] == 1
    assert client.get("/fhir/Patient?identifier=77,78").json()["total"] == 2
    assert client.get("/fhir/Patient?_lastUpdated=gt2000-01-01").json()["total"] == 2
    assert client.get("/fhir/Patient?_lastUpdated=lt2000-01-01").json()["total"] == 0
    posted = client.post(
        "/fhir/Patient/_search",
        content="identifier=urn:example:mrn|77",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ).json()
    assert posted["total"] == 1 and posted["entry"][0]["resource"]["id"] == kari["id"]


def test_search_paging_links(client: TestClient) -> None:
    for _ in range(5):
        create(client, {"resourceType": "Patient"})
    page = client.get("/fhir/Patient?_count=2").json()
    seen = [e["resource"]["id"] for e in page["entry"]]
    while next_link := [link for link in page["link"] if link["relation"] == "next"]:
        page = follow(client, next_link[0]["url"])
        seen += [e["resource"]["id"] for e in page["entry"]]
    assert len(seen) == len(set(seen)) == 5
