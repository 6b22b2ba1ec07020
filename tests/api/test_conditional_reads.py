"""Conditional read (R4 §3.1.0.2, RFC 9110 §13.1): If-None-Match and If-Modified-Since."""

from __future__ import annotations

from starlette.testclient import TestClient

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _patient(client: TestClient) -> tuple[str, dict[str, str]]:
    created = client.post("/fhir/Patient", json={"resourceType": "Patient"}, headers=FHIR_JSON)
    assert created.status_code == 201
    return created.json()["id"], dict(created.headers)


def test_if_none_match_compares_weakly_and_takes_lists(client: TestClient) -> None:
    pid, _ = _patient(client)
    url = f"/fhir/Patient/{pid}"
    for header in ('W/"1"', '"1"', 'W/"7", W/"1"', "*"):
        answer = client.get(url, headers={"If-None-Match": header})
        assert answer.status_code == 304, header
        assert answer.headers["ETag"] == 'W/"1"' and not answer.content
    assert client.get(url, headers={"If-None-Match": 'W/"2"'}).status_code == 200


def test_if_modified_since(client: TestClient) -> None:
    pid, _ = _patient(client)
    url = f"/fhir/Patient/{pid}"
    modified = client.get(url).headers["Last-Modified"]
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    early = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(url, headers={"If-Modified-Since": early}).status_code == 200
    nonsense = client.get(url, headers={"If-Modified-Since": "yesterday"})
    assert nonsense.status_code == 200  # an unparsable date is ignored (RFC 9110 §13.1.3)
    both = {"If-None-Match": 'W/"9"', "If-Modified-Since": modified}
    assert client.get(url, headers=both).status_code == 200  # If-None-Match wins


def test_vread_is_conditional_too(client: TestClient) -> None:
    pid, _ = _patient(client)
    url = f"/fhir/Patient/{pid}/_history/1"
    assert client.get(url, headers={"If-None-Match": 'W/"1"'}).status_code == 304


def test_the_capability_statement_says_so(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert patient["conditionalRead"] == "full-support"
