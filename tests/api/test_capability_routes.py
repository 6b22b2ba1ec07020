"""The CapabilityStatement says what the server does, route by route (issue 14).

For every resource type and every interaction the statement lists, the server has a route
(the answer is not 405 and not the router's 404); for interactions it does not list, the
answer is 405. Every operation it lists resolves to an OperationDefinition by url and by id,
and works at exactly the levels that definition names.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.services import default_platform

PROBE = "capability-probe"
ALL_INTERACTIONS = (
    "read", "vread", "update", "patch", "delete", "history-instance", "history-type",
    "create", "search-type",
)  # fmt: skip


@pytest.fixture
def client_settings() -> dict[str, object]:
    return {"publish_definitions": True}


@pytest.fixture
def statement(client: TestClient) -> dict[str, Any]:
    response = client.get("/fhir/metadata", headers={"Authorization": ""})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _request(client: TestClient, rtype: str, interaction: str) -> httpx.Response:
    instance = f"/fhir/{rtype}/{PROBE}"
    patch = {"Content-Type": "application/json-patch+json"}
    calls = {
        "read": lambda: client.get(instance),
        "vread": lambda: client.get(f"{instance}/_history/1"),
        "update": lambda: client.put(instance, content=b"{}", headers=FHIR_JSON),
        "patch": lambda: client.patch(instance, content=b"[]", headers=patch),
        "delete": lambda: client.delete(instance),
        "history-instance": lambda: client.get(f"{instance}/_history"),
        "history-type": lambda: client.get(f"/fhir/{rtype}/_history"),
        "create": lambda: client.post(f"/fhir/{rtype}", content=b"{}", headers=FHIR_JSON),
        "search-type": lambda: client.get(f"/fhir/{rtype}", params={"_count": "1"}),
    }
    return calls[interaction]()


def _diagnostics(response: httpx.Response) -> str:
    try:
        return " ".join(i.get("diagnostics", "") for i in response.json().get("issue", []))
    except ValueError:
        return ""


def _routed(response: httpx.Response) -> bool:
    """The server has a route for the request (whatever it then thought of it)."""
    unknown = response.status_code == 404 and (
        _diagnostics(response) == "Not Found" or "Unknown operation" in _diagnostics(response)
    )
    return response.status_code != 405 and not unknown


def test_every_listed_interaction_has_a_route_and_no_other(
    client: TestClient, statement: dict[str, Any]
) -> None:
    resources = statement["rest"][0]["resource"]
    assert len(resources) > 140
    wrong: list[str] = []
    for entry in resources:
        listed = {i["code"] for i in entry["interaction"]}
        for interaction in ALL_INTERACTIONS:
            response = _request(client, entry["type"], interaction)
            if interaction in listed and not _routed(response):
                wrong.append(f"{entry['type']} {interaction}: {response.status_code}")
            if interaction not in listed and response.status_code != 405:
                wrong.append(f"{entry['type']} {interaction} is not listed, yet answered")
    assert wrong == []


def test_the_audit_trail_is_listed_read_only(statement: dict[str, Any]) -> None:
    audit = next(r for r in statement["rest"][0]["resource"] if r["type"] == "AuditEvent")
    assert [i["code"] for i in audit["interaction"]] == ["read", "search-type"]
    assert "_sort" in audit["documentation"]


def _definition(client: TestClient, url: str) -> dict[str, Any]:
    found = client.get("/fhir/OperationDefinition", params={"url": url}).json()
    assert [e["resource"]["url"] for e in found.get("entry", [])] == [url], url
    definition: dict[str, Any] = found["entry"][0]["resource"]
    by_id = client.get(f"/fhir/OperationDefinition/{definition['id']}")
    assert by_id.status_code == 200 and by_id.json()["url"] == url
    return definition


def _invoke(client: TestClient, path: str) -> list[httpx.Response]:
    parameters = b'{"resourceType": "Parameters"}'
    return [client.get(path), client.post(path, content=parameters, headers=FHIR_JSON)]


def test_every_listed_operation_resolves_and_works_at_its_levels(
    client: TestClient, statement: dict[str, Any]
) -> None:
    rest = statement["rest"][0]
    listed = [(r["type"], op) for r in rest["resource"] for op in r.get("operation", [])]
    listed += [(None, op) for op in rest.get("operation", [])]
    assert len(listed) >= 16
    for rtype, operation in listed:
        names = [op["name"] for t, op in listed if t == rtype]
        assert names.count(operation["name"]) == 1, f"{rtype} ${operation['name']} twice"
        definition = _definition(client, operation["definition"])
        assert definition["code"] == operation["name"]
        assert definition["system"] is (rtype is None)
        if rtype is None:  # a system-level operation ($export) has the system route only
            assert any(_routed(r) for r in _invoke(client, f"/fhir/${operation['name']}"))
            continue
        paths = {
            "type": f"/fhir/{rtype}/${operation['name']}",
            "instance": f"/fhir/{rtype}/{PROBE}/${operation['name']}",
        }
        for level, path in paths.items():
            routed = any(_routed(r) for r in _invoke(client, path))
            assert routed is definition[level], f"{path}: {definition[level]=}"


def test_operation_definitions_are_read_only(client: TestClient) -> None:
    url = "/fhir/OperationDefinition/samhandling-Patient-match"
    changed = {**client.get(url).json(), "description": "changed"}
    assert client.put(url, json=changed, headers=FHIR_JSON).status_code == 405
    assert client.delete(url).status_code == 405
    # the core specification's own definition (id Patient-match) does not collide with ours
    core = {
        **changed,
        "id": "Patient-match",
        "url": "http://hl7.org/fhir/OperationDefinition/Patient-match",
    }
    written = client.put("/fhir/OperationDefinition/Patient-match", json=core, headers=FHIR_JSON)
    assert written.status_code == 201, written.text


def test_security_names_the_smart_endpoints(client: TestClient, statement: dict[str, Any]) -> None:
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    (oauth,) = security["extension"]
    assert oauth["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    smart = client.get("/.well-known/smart-configuration", headers={"Authorization": ""}).json()
    assert uris == {"token": smart["token_endpoint"], "authorize": smart["authorization_endpoint"]}


def test_includes_are_listed_per_type(statement: dict[str, Any]) -> None:
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert "Patient:general-practitioner" in resources["Patient"]["searchInclude"]
    assert "Observation:subject" in resources["Patient"]["searchRevInclude"]
    assert "Observation:subject" not in resources["Organization"]["searchRevInclude"]
    params = {p["name"] for p in resources["Patient"]["searchParam"]}
    assert {"_id", "_lastUpdated", "identifier"} <= params and "_query" not in params


def test_the_operation_definitions_match_the_registry() -> None:
    levels: dict[tuple[str | None, str], set[str]] = {}
    for operation in default_platform().operations().all():
        levels.setdefault((operation.resource_type, operation.name), set()).add(operation.level)
    defined = {
        (d.get("resource", [None])[0], d["code"]): {
            k for k in ("system", "type", "instance") if d[k]
        }
        for d in default_platform().operation_definitions()
    }
    assert defined == levels
