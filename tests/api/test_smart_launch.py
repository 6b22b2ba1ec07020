"""SMART App Launch, standalone with `launch/patient`, by a public browser app registered
with the development issuer (`smart-apps.json`), and CORS for the configured origins."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import FHIR_JSON, app_settings, mint
from samhandling.api.app import create_app
from samhandling.demo import population_bundles
from samhandling.services import default_platform
from samhandling.web.oidc import pkce_pair

APP = "https://app.example"
CALLBACK = APP + "/callback"


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    apps = tmp_path / "dev-issuer" / "smart-apps.json"
    apps.parent.mkdir(parents=True)
    apps.write_text(json.dumps({"smart-app": {"redirect_uris": [CALLBACK]}}))
    settings = app_settings(database_url, tmp_path, cors_origins=(APP,))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        system = {**FHIR_JSON, "Authorization": f"Bearer {mint(tmp_path)}"}
        for bundle in population_bundles(0, seed=7, hooks=default_platform().demo_hooks):
            assert client.post("/fhir", json=bundle, headers=system).status_code == 200
        yield client


def test_a_public_app_launches_standalone_with_the_patient(client: TestClient) -> None:
    smart = client.get("/fhir/.well-known/smart-configuration").json()
    assert {"launch-standalone", "context-standalone-patient"} <= set(smart["capabilities"])
    assert smart["code_challenge_methods_supported"] == ["S256"]
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "smart-app",
        "redirect_uri": CALLBACK,
        "scope": "openid launch/patient patient/*.rs",
        "state": "app-state",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "aud": "http://testserver/fhir",
    }
    authorize = urlsplit(smart["authorization_endpoint"]).path
    page = client.get(authorize, params=params)
    assert page.status_code == 200 and "Logg inn som testperson" in page.text
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert request_id is not None
    chosen = client.post(
        authorize,
        data={"request_id": request_id.group(1), "persona": "citizen", "patient": ""},
        follow_redirects=False,
    )
    assert chosen.status_code == 303 and chosen.headers["location"].startswith(CALLBACK)
    query = parse_qs(urlsplit(chosen.headers["location"]).query)
    assert query["state"] == ["app-state"]
    answer = client.post(
        urlsplit(smart["token_endpoint"]).path,
        data={
            "grant_type": "authorization_code",
            "client_id": "smart-app",
            "code": query["code"][0],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["patient"] == "persona-citizen" and "id_token" in token
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/fhir/Patient/persona-citizen", headers=bearer).status_code == 200
    assert client.get("/fhir/Patient/persona-parent", headers=bearer).status_code == 404


def test_cors_answers_the_configured_origins_only(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = client.options("/fhir/Patient", headers={"Origin": APP, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options(
        "/fhir/Patient", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers
    read = client.get("/fhir/metadata", headers={"Origin": APP})
    assert read.headers["access-control-allow-origin"] == APP
    assert "access-control-allow-credentials" not in read.headers
