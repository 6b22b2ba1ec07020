"""Hostile input gets a 4xx OperationOutcome, never a 500 (issue 16, items 8-10).

Each case ran into a 500 (or minutes of work) before; the `client` fixture runs every
test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import time

import orjson
import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON

BIG = "99999999999999999999999"  # beyond 64 bits


def outcome(response, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    if code is not None:
        assert body["issue"][0]["code"] == code, body
    return body


def create_patient(client: TestClient) -> str:
    body = orjson.dumps({"resourceType": "Patient", "name": [{"family": "Nordmann"}]})
    response = client.post("/fhir/Patient", content=body, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def count_patients(client: TestClient) -> int:
    return int(client.get("/fhir/Patient?_total=accurate").json()["total"])


# --------------------------------------------------------------------- bodies (item 10)


@pytest.mark.parametrize("depth", [101, 300, 600])
def test_deeply_nested_body_is_400(client: TestClient, depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    body = b'{"resourceType":"Patient","extension":' + nested + b"}"
    result = outcome(client.post("/fhir/Patient", content=body, headers=FHIR_JSON), 400)
    assert "100 levels" in result["issue"][0]["diagnostics"]
    bundle = b'{"resourceType":"Bundle","type":"batch","entry":' + nested + b"}"
    outcome(client.post("/fhir", content=bundle, headers=FHIR_JSON), 400)


def test_nul_in_body_strings_is_400_and_nothing_is_written(client: TestClient) -> None:
    for name in ({"family": "a\x00b"}, {"fam\x00ily": "ab"}):
        body = orjson.dumps({"resourceType": "Patient", "name": [name]})
        outcome(client.post("/fhir/Patient", content=body, headers=FHIR_JSON), 400, "invalid")
    # an escaped backslash before `u0000` is text, not a NUL
    body = orjson.dumps({"resourceType": "Patient", "name": [{"family": "a\\u0000b"}]})
    assert client.post("/fhir/Patient", content=body, headers=FHIR_JSON).status_code == 201
    assert count_patients(client) == 1


@pytest.mark.parametrize(
    "query", ["_id=a%00b", "identifier=a%00b", "name=a%00b", "a%00b=1", "_count=1%00"]
)
def test_nul_in_search_is_400(client: TestClient, query: str) -> None:
    outcome(client.get(f"/fhir/Patient?{query}"), 400, "invalid")
    outcome(client.get(f"/fhir/Patient/_history?{query}"), 400, "invalid")


def test_nul_in_if_none_exist_is_400(client: TestClient) -> None:
    body = orjson.dumps({"resourceType": "Patient"})
    headers = {**FHIR_JSON, "If-None-Exist": "identifier=a%00b"}
    outcome(client.post("/fhir/Patient", content=body, headers=headers), 400, "invalid")
    assert count_patients(client) == 0


def test_integers_beyond_64_bits_are_4xx(client: TestClient) -> None:
    pid = create_patient(client)
    outcome(client.get(f"/fhir/Patient/{pid}/_history/{BIG}"), 404)
    outcome(client.get(f"/fhir/Patient/{pid}/_history/2147483648"), 404)
    outcome(client.get(f"/fhir/Patient/{pid}/_history/²"), 404)
    for query in (
        f"_snapshot={BIG}",
        f"_after={BIG}:Patient:{pid}:1",
        f"_after=1:Patient:{pid}:{BIG}",
        "_snapshot=²",
        f"_count={BIG}",
    ):
        outcome(client.get(f"/fhir/Patient/_history?{query}"), 400, "invalid")
        outcome(client.get(f"/fhir/_history?{query}"), 400, "invalid")
    for query in (f"_snapshot={BIG}", f"_offset={BIG}", f"_count={BIG}", "_count=²"):
        outcome(client.get(f"/fhir/Patient?{query}"), 400, "invalid")


def bundle(client: TestClient, kind: str, *entries: dict) -> object:  # type: ignore[type-arg]
    body = orjson.dumps({"resourceType": "Bundle", "type": kind, "entry": list(entries)})
    return client.post("/fhir", content=body, headers=FHIR_JSON)


@pytest.mark.parametrize("kind", ["batch", "transaction"])
@pytest.mark.parametrize(
    "entry",
    [
        {"request": {"method": ["POST"], "url": "Patient"}},
        {"request": {"method": {"POST": 1}, "url": "Patient"}},
        {"request": {"method": "POST", "url": ["Patient"]}},
        {"fullUrl": {"a": 1}, "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": ["urn:uuid:1"], "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "POST", "url": "Patient", "ifNoneExist": ["identifier=1"]}},
        {"request": {"method": "PUT", "url": "Patient/a", "ifMatch": {"W/": 1}}},
    ],
)
def test_bundle_entries_of_the_wrong_shape_are_400(
    client: TestClient, kind: str, entry: dict
) -> None:  # type: ignore[type-arg]
    entry = {"resource": {"resourceType": "Patient", "id": "a"}, **entry}
    outcome(bundle(client, kind, entry), 400)  # type: ignore[arg-type]
    assert count_patients(client) == 0


def test_two_transaction_entries_with_the_same_if_none_exist_are_400(client: TestClient) -> None:
    resource = {"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "1"}]}
    request = {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:x|1"}
    entry = {"resource": resource, "request": request}
    for _ in range(2):  # deterministic: the same answer every time
        result = outcome(bundle(client, "transaction", entry, entry), 400, "invalid")
        assert "same criteria" in result["issue"][0]["diagnostics"]
    assert count_patients(client) == 0


# ------------------------------------------------------------------- patches (item 8)

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def fhirpath_patch(*paths: str) -> bytes:
    operations = [
        {
            "name": "operation",
            "part": [
                {"name": "type", "valueCode": "replace"},
                {"name": "path", "valueString": path},
                {"name": "value", "valueCode": "female"},
            ],
        }
        for path in paths
    ]
    return orjson.dumps({"resourceType": "Parameters", "parameter": operations})


def assert_unchanged(client: TestClient, pid: str) -> None:
    current = client.get(f"/fhir/Patient/{pid}").json()
    assert current["meta"]["versionId"] == "1" and len(current["name"]) == 1


def test_json_patch_that_doubles_the_resource_is_422_before_the_work(client: TestClient) -> None:
    pid = create_patient(client)
    copies = orjson.dumps([{"op": "copy", "from": "/name", "path": "/name/-"}] * 40)
    started = time.monotonic()
    response = client.patch(f"/fhir/Patient/{pid}", content=copies, headers=JSON_PATCH)
    assert time.monotonic() - started < 5
    result = outcome(response, 422, "too-costly")
    assert "above the limit of 200000" in result["issue"][0]["diagnostics"]  # the body limit
    assert_unchanged(client, pid)


def test_json_patch_with_too_many_operations_is_400(client: TestClient) -> None:
    pid = create_patient(client)
    tests = orjson.dumps([{"op": "test", "path": "/id", "value": pid}] * 101)
    response = client.patch(f"/fhir/Patient/{pid}", content=tests, headers=JSON_PATCH)
    assert (
        "at most 100 operations" in outcome(response, 400, "too-costly")["issue"][0]["diagnostics"]
    )
    tests = orjson.dumps([{"op": "test", "path": "/id", "value": pid}] * 100)
    assert client.patch(f"/fhir/Patient/{pid}", content=tests, headers=JSON_PATCH).is_success


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("Patient" + ".where(true" * 21 + ")" * 21 + ".gender", "nests deeper than 6"),
        ("Patient.name" + ".select($this.combine($this))" * 15 + ".family", "select()"),
        ("Patient.name.where(%resource.name.exists()).family", "%-constants"),
        ("Patient.name | Patient.name", "union"),
        ("Patient.descendants().gender", "descendants()"),
        ("Patient" + ".where(true)" * 50 + ".gender", "longer than 500"),
    ],
)
def test_costly_fhirpath_patch_paths_are_400_at_once(
    client: TestClient, path: str, why: str
) -> None:
    pid = create_patient(client)
    started = time.monotonic()
    response = client.patch(f"/fhir/Patient/{pid}", content=fhirpath_patch(path), headers=FHIR_JSON)
    assert time.monotonic() - started < 2
    assert why in outcome(response, 400, "too-costly")["issue"][0]["diagnostics"]
    assert_unchanged(client, pid)


def test_fhirpath_patch_operations_are_bounded(client: TestClient) -> None:
    pid = create_patient(client)
    url = f"/fhir/Patient/{pid}"
    outcome(
        client.patch(url, content=fhirpath_patch(*["Patient.gender"] * 101), headers=FHIR_JSON),
        400,
        "too-costly",
    )
    long_paths = ["Patient" + ".where(true)" * 20 + ".gender"] * 25  # 25 x 234 characters
    outcome(
        client.patch(url, content=fhirpath_patch(*long_paths), headers=FHIR_JSON), 400, "too-costly"
    )
    ok = client.patch(
        url, content=fhirpath_patch(*["Patient.name[0].family"] * 100), headers=FHIR_JSON
    )
    assert ok.status_code == 200, ok.text


def test_fhirpath_patch_work_grows_with_the_resource(client: TestClient) -> None:
    names = [{"family": f"Nordmann{i}", "given": ["Kari", "Ola"]} for i in range(3000)]
    body = orjson.dumps({"resourceType": "Patient", "name": names})  # about 150 kB
    pid = client.post("/fhir/Patient", content=body, headers=FHIR_JSON).json()["id"]
    url = f"/fhir/Patient/{pid}"
    response = client.patch(
        url, content=fhirpath_patch(*["Patient.gender"] * 100), headers=FHIR_JSON
    )
    assert "operations × bytes" in outcome(response, 422, "too-costly")["issue"][0]["diagnostics"]
    response = client.patch(
        url, content=fhirpath_patch(*["Patient.name[0].family"] * 10), headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text


def test_json_patch_in_a_bundle_is_bounded_too(client: TestClient) -> None:
    pid = create_patient(client)
    copies = orjson.dumps([{"op": "copy", "from": "/name", "path": "/name/-"}] * 40)
    binary = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(copies).decode(),
    }
    entry = {"resource": binary, "request": {"method": "PATCH", "url": f"Patient/{pid}"}}
    outcome(bundle(client, "transaction", entry), 422, "too-costly")
    assert_unchanged(client, pid)
    bad = {**binary, "data": "not base64!"}
    outcome(bundle(client, "transaction", {**entry, "resource": bad}), 400, "invalid")


# -------------------------------------------------------------------- searches (item 9)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_search_with_too_many_parameters_is_400(client: TestClient) -> None:
    many = "&".join(f"name=a{i}" for i in range(101))
    result = outcome(client.get(f"/fhir/Patient?{many}"), 400, "too-costly")
    assert "at most 100 parameters" in result["issue"][0]["diagnostics"]
    outcome(client.post("/fhir/Patient/_search", content=many, headers=FORM), 400, "too-costly")
    # the same limit in a Bundle and in If-None-Exist
    entry = {"request": {"method": "GET", "url": f"Patient?{many}"}}
    response = bundle(client, "batch", entry)
    assert response.json()["entry"][0]["response"]["status"].startswith("400")  # type: ignore[attr-defined]
    headers = {**FHIR_JSON, "If-None-Exist": many}
    body = orjson.dumps({"resourceType": "Patient"})
    outcome(client.post("/fhir/Patient", content=body, headers=headers), 400, "too-costly")
    assert count_patients(client) == 0
    fine = "&".join(f"name=a{i}" for i in range(100))
    assert client.get(f"/fhir/Patient?{fine}").status_code == 200


def test_search_with_too_many_values_is_400(client: TestClient) -> None:
    values = ",".join(f"a{i}" for i in range(101))
    result = outcome(client.get(f"/fhir/Patient?name={values}"), 400, "too-costly")
    assert "at most 100 values" in result["issue"][0]["diagnostics"]
    fine = ",".join(f"a{i}" for i in range(100))
    assert client.get(f"/fhir/Patient?name={fine}").status_code == 200


def test_post_search_body_is_bounded(client: TestClient) -> None:
    huge = "name=" + "a" * 300_000  # the test client's body limit is 200 kB
    outcome(client.post("/fhir/Patient/_search", content=huge, headers=FORM), 413)
    outcome(client.post("/fhir/Patient/_search", content=b"name=\xff\xfe", headers=FORM), 400)


def test_search_with_too_many_chains_is_400(client: TestClient) -> None:
    has = "&".join(f"_has:Observation:subject:code=c{i}" for i in range(11))
    result = outcome(client.get(f"/fhir/Patient?{has}"), 400, "too-costly")
    assert "at most 10 chained or _has" in result["issue"][0]["diagnostics"]
    chains = "&".join(f"subject:Patient.name=n{i}" for i in range(11))
    outcome(client.get(f"/fhir/Observation?{chains}"), 400, "too-costly")
    fine = "&".join(f"_has:Observation:subject:code=c{i}" for i in range(10))
    assert client.get(f"/fhir/Patient?{fine}").status_code == 200


@pytest.mark.parametrize("body", [b"null", b"1", b'"Patient"', b"true"])
def test_a_scalar_body_is_400(client: TestClient, body: bytes) -> None:
    outcome(client.post("/fhir/Patient", content=body, headers=FHIR_JSON), 400)
