"""Helpers for the identity-service tests: Parameters bodies, posting, personas' principals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON
from samhandling.auth import DevIssuer
from samhandling.auth.claims import principal_from_claims
from samhandling.auth.dev.personas import PERSONAS
from samhandling.auth.principal import Principal

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
FHN = "urn:oid:2.16.578.1.12.4.1.4.3"


def parameters(*items: tuple[str, str, Any]) -> dict[str, Any]:
    """A Parameters resource from (name, key, value): key is e.g. valueString or resource."""
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": name, key: value} for name, key, value in items],
    }


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, content=orjson.dumps(body), headers=FHIR_JSON)


def create(client: TestClient, resource: dict[str, Any]) -> dict[str, Any]:
    response = post(client, f"/fhir/{resource['resourceType']}", resource)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def output(body: dict[str, Any], name: str) -> list[Any]:
    """The values of an output parameter (resource, value[x] or parts)."""
    found = []
    for parameter in body["parameter"]:
        if parameter["name"] == name:
            value = next((v for k, v in parameter.items() if k.startswith("value")), None)
            found.append(parameter.get("resource", value if value is not None else parameter))
    return found


def person(family: str, given: str, birth: str, gender: str, fnr: str | None = None) -> dict:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
        "gender": gender,
    }
    if fnr:
        patient["identifier"] = [{"system": FNR, "value": fnr}]
    return patient


def persona_principal(data_dir: Path, name: str, **options: Any) -> Principal:
    """The Principal the API builds from a dev-issuer token of the persona."""
    issuer = DevIssuer(data_dir, "http://testserver/dev-issuer")
    persona = PERSONAS[name]
    settings: dict[str, Any] = {
        "patient_fnr": None,
        "purpose": None,
        "dpop_jkt": None,
        "lifetime": 300,
        "reason": None,
        "scopes": None,
        "authorization_details": None,
        "client_id": None,
    }
    claims = issuer.claims_for(persona, **{**settings, **options})
    trusted = issuer.trusted_issuers()[1 if persona.kind == "citizen" else 0]
    return principal_from_claims(claims, trusted)
