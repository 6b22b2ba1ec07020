"""The development issuer: minted tokens verify, the token endpoint does private_key_jwt
and DPoP, and it refuses to run in production mode."""

from __future__ import annotations

import json
import stat
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from authkit import CLIENT_KEY, DPOP_KEY, OTHER_DPOP_KEY, attestation, proof
from joserfc import jwk, jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from samhandling.auth import (
    Authenticator,
    AuthError,
    AuthSettings,
    DevIssuer,
    DevIssuerDisabled,
    Principal,
    decide,
)
from samhandling.auth.dev.issuer import DEV_AUDIENCE
from samhandling.auth.dev.personas import PERSONAS
from samhandling.auth.dev.routes import dev_issuer_routes
from samhandling.auth.dev.token_endpoint import ASSERTION_TYPE, TokenEndpointError
from samhandling.auth.jose import peek

ISSUER_URL = "http://localhost:8080/dev-issuer"
API = "http://localhost:8080/fhir/Observation"
FNR = "05858540072"


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path, ISSUER_URL)


def authenticator(issuer: DevIssuer) -> Authenticator:
    settings = issuer.auth_settings()
    assert settings == AuthSettings(issuers=issuer.trusted_issuers(), audience=DEV_AUDIENCE)
    return Authenticator(settings)


def principal_of(issuer: DevIssuer, value: str) -> Principal:
    return authenticator(issuer).authenticate("GET", API, {"Authorization": f"Bearer {value}"})


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_every_persona_token_verifies(issuer: DevIssuer, name: str) -> None:
    p = principal_of(issuer, issuer.mint(name, patient_fnr=None, purpose=None))
    assert p.kind == PERSONAS[name].kind
    assert p.scopes.clinical


def test_clinician_persona_attests_care_for_the_patient(issuer: DevIssuer) -> None:
    p = principal_of(issuer, issuer.mint("hospital-physician", patient_fnr=FNR, purpose="TREAT"))
    assert p.hpr_number == "9100003"
    assert p.security_level == 4
    assert p.organisation.legal_entity == "991000046"
    assert p.organisation.department == "4001234"
    assert p.attestation is not None
    assert p.attestation.authorization_code == "LE"
    assert p.attestation.healthcare_service == "S03"
    assert p.patient_pids == (FNR,)
    resolved = p.with_patient_ids({FNR: "pat-1"})
    obs = {"resourceType": "Observation", "subject": {"reference": "Patient/pat-1"}}
    assert decide(resolved, "read", "Observation", resource=obs).effect == "allow"
    other = {"resourceType": "Observation", "subject": {"reference": "Patient/pat-2"}}
    assert decide(resolved, "read", "Observation", resource=other).effect == "deny"


def test_btg_persona_token_carries_a_reason(issuer: DevIssuer) -> None:
    p = principal_of(issuer, issuer.mint("gp", patient_fnr=None, purpose="BTG"))
    assert p.is_emergency and p.emergency_reason
    decision = decide(p, "search", "Observation")
    assert decision.allowed and decision.emergency


def test_btg_without_reason_is_denied(issuer: DevIssuer) -> None:
    p = principal_of(issuer, issuer.mint("gp", patient_fnr=None, purpose="ETREAT", reason=""))
    assert decide(p, "search", "Observation").rule == "emergency.reason"


def test_citizen_persona_is_the_patient(issuer: DevIssuer) -> None:
    p = principal_of(issuer, issuer.mint("citizen", patient_fnr=FNR, purpose=None))
    assert p.kind == "citizen" and p.pid == FNR
    assert p.issuer == ISSUER_URL + "/idporten"
    assert [a.relation for a in p.acts_for] == ["self"]


def test_parent_persona_acts_for_the_child(issuer: DevIssuer) -> None:
    p = principal_of(issuer, issuer.mint("parent", patient_fnr="07851950170", purpose=None))
    assert [a.relation for a in p.acts_for] == ["self", "parent"]
    assert p.acts_for[1].pid == "07851950170"
    assert p.acts_for[1].birth_date is not None


def test_system_persona(issuer: DevIssuer) -> None:
    p = principal_of(issuer, issuer.mint("system", patient_fnr=None, purpose=None))
    assert p.kind == "system" and p.pid is None
    assert [s.raw for s in p.scopes.clinical] == ["system/*.cruds"]
    assert p.client.orgnr_parent == "991000070"


def test_bad_mint_arguments(issuer: DevIssuer) -> None:
    with pytest.raises(KeyError):
        issuer.mint("dentist", patient_fnr=None, purpose=None)
    with pytest.raises(ValueError):
        issuer.mint("gp", patient_fnr=None, purpose="FUN")
    with pytest.raises(ValueError):
        issuer.mint("gp", patient_fnr="123", purpose=None)


def test_key_is_shared_through_the_data_directory(tmp_path: Path) -> None:
    cli = DevIssuer(tmp_path, ISSUER_URL)
    server = DevIssuer(tmp_path, ISSUER_URL)
    assert cli.jwks() == server.jwks()
    principal_of(server, cli.mint("gp", patient_fnr=None, purpose=None))
    key_file = tmp_path / "dev-issuer" / "signing-key.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "d" not in server.jwks()["keys"][0]


def test_rs256_issuer(tmp_path: Path) -> None:
    issuer = DevIssuer(tmp_path, ISSUER_URL, algorithm="RS256")
    assert issuer.jwks()["keys"][0]["kty"] == "RSA"
    principal_of(issuer, issuer.mint("gp", patient_fnr=None, purpose=None))


def test_tokens_of_another_dev_issuer_are_refused(tmp_path: Path, issuer: DevIssuer) -> None:
    stranger = DevIssuer(tmp_path / "elsewhere", ISSUER_URL)
    with pytest.raises(AuthError) as info:
        principal_of(issuer, stranger.mint("gp", patient_fnr=None, purpose=None))
    assert info.value.status == 401


@pytest.mark.parametrize("env", ["SAMHANDLING_ENV", "SAMHANDLING_MODE"])
def test_refuses_production_mode(
    tmp_path: Path, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    with pytest.raises(DevIssuerDisabled):
        DevIssuer(tmp_path, ISSUER_URL, production=True)
    with pytest.raises(DevIssuerDisabled):
        dev_issuer_routes(issuer, production=True)
    monkeypatch.setenv(env, "production")
    with pytest.raises(DevIssuerDisabled):
        DevIssuer(tmp_path, ISSUER_URL)
    with pytest.raises(DevIssuerDisabled):
        dev_issuer_routes(issuer)


# --- token endpoint ------------------------------------------------------------------


def assertion(issuer: DevIssuer, key: jwk.Key = CLIENT_KEY, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "epj-test",
        "sub": "epj-test",
        "aud": issuer.issuer_url,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    typ = claims.pop("typ", "client-authentication+jwt")
    header = {"alg": "ES256", "kid": key.kid, "typ": typ}
    return jwt.encode(header, claims, key, algorithms=["ES256"])


def form(issuer: DevIssuer, **overrides: str) -> dict[str, str]:
    values = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(issuer),
        "authorization_details": json.dumps([attestation("TREAT")]),
    }
    values.update(overrides)
    return values


@pytest.fixture
def registered(issuer: DevIssuer) -> DevIssuer:
    issuer.register_client(
        "epj-test", CLIENT_KEY.as_dict(private=True), persona_name="hospital-physician"
    )
    return issuer


def test_token_endpoint_issues_dpop_bound_token(registered: DevIssuer) -> None:
    dpop = proof(method="POST", url=registered.token_url)
    body = registered.token_endpoint(form(registered), dpop, registered.token_url)
    assert body["token_type"] == "DPoP"
    access = body["access_token"]
    claims = peek(access).claims
    assert claims["cnf"] == {"jkt": DPOP_KEY.thumbprint()}
    assert claims["client_id"] == "epj-test"
    assert claims["nhn:tillitsrammeverk:parameters"] == attestation("TREAT")
    auth = authenticator(registered)
    headers = {"Authorization": f"DPoP {access}", "DPoP": proof(access_token=access, url=API)}
    p = auth.authenticate("GET", API, headers)
    assert p.dpop_jkt == DPOP_KEY.thumbprint()
    assert p.attestation is not None and p.attestation.decision_ref
    with pytest.raises(AuthError):
        auth.authenticate("GET", API, {"Authorization": f"Bearer {access}"})
    with pytest.raises(AuthError):
        wrong = proof(OTHER_DPOP_KEY, access_token=access, url=API)
        auth.authenticate("GET", API, {"Authorization": f"DPoP {access}", "DPoP": wrong})


def test_token_endpoint_without_dpop_gives_bearer(registered: DevIssuer) -> None:
    body = registered.token_endpoint(
        form(registered, scope="user/*.crus"), None, registered.token_url
    )
    assert body["token_type"] == "Bearer"
    assert "cnf" not in peek(body["access_token"]).claims
    principal_of(registered, body["access_token"])


def test_client_registration_keeps_only_public_keys(registered: DevIssuer) -> None:
    stored = json.loads((registered.directory / "clients.json").read_text())
    assert "d" not in stored["epj-test"]["jwks"]["keys"][0]


def refused(
    issuer: DevIssuer, values: dict[str, str], dpop: str | None = None
) -> TokenEndpointError:
    with pytest.raises(TokenEndpointError) as info:
        issuer.token_endpoint(values, dpop, issuer.token_url)
    return info.value


def test_replayed_client_assertion(registered: DevIssuer) -> None:
    values = form(registered)
    registered.token_endpoint(values, None, registered.token_url)
    assert "used before" in refused(registered, values).description


@pytest.mark.parametrize(
    "overrides,fragment",
    [
        ({"typ": "JWT"}, "typ"),
        ({"aud": "https://elsewhere.test"}, "audience"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": int(time.time()) + 3600}, "lifetime"),
        ({"jti": None}, "jti"),
        ({"sub": "someone-else"}, "sub"),
        ({"iss": "unknown-client", "sub": "unknown-client"}, "unknown client"),
    ],
)
def test_bad_client_assertions(
    registered: DevIssuer, overrides: dict[str, Any], fragment: str
) -> None:
    error = refused(
        registered, form(registered, client_assertion=assertion(registered, **overrides))
    )
    assert error.error == "invalid_client" and error.status == 401
    assert fragment in error.description


def test_assertion_signed_by_another_key(registered: DevIssuer) -> None:
    forged = assertion(registered, key=OTHER_DPOP_KEY)
    assert refused(registered, form(registered, client_assertion=forged)).error == "invalid_client"


def test_other_token_request_errors(registered: DevIssuer) -> None:
    assert (
        refused(registered, form(registered, grant_type="password")).error
        == "unsupported_grant_type"
    )
    assert (
        refused(registered, form(registered, client_assertion_type="x")).error == "invalid_client"
    )
    assert refused(registered, form(registered, scope="system/*.cruds")).error == "invalid_scope"
    bad_details = form(registered, authorization_details="[{}]")
    assert refused(registered, bad_details).error == "invalid_authorization_details"
    wrong_htu = proof(method="POST", url=ISSUER_URL + "/other")
    assert refused(registered, form(registered), wrong_htu).error == "invalid_dpop_proof"


# --- routes ----------------------------------------------------------------------------


def test_routes(registered: DevIssuer) -> None:
    app = Starlette(routes=dev_issuer_routes(registered))
    with TestClient(app, base_url="http://localhost:8080") as client:
        assert client.get("/dev-issuer/jwks").json() == registered.jwks()
        config = client.get("/dev-issuer/.well-known/openid-configuration").json()
        assert config["issuer"] == ISSUER_URL
        assert config["token_endpoint"] == registered.token_url
        twin = client.get("/dev-issuer/idporten/.well-known/openid-configuration").json()
        assert twin["issuer"] == ISSUER_URL + "/idporten"
        dpop = proof(method="POST", url=registered.token_url)
        response = client.post("/dev-issuer/token", data=form(registered), headers={"DPoP": dpop})
        assert response.status_code == 200, response.text
        assert response.json()["token_type"] == "DPoP"
        assert response.headers["cache-control"] == "no-store"
        refused_response = client.post("/dev-issuer/token", data=form(registered, grant_type="x"))
        assert refused_response.status_code == 400
        assert refused_response.json()["error"] == "unsupported_grant_type"
        as_json = client.post("/dev-issuer/token", json=form(registered))
        assert as_json.status_code == 400
        # the htu is the issuer's own token URL, whatever Host the request names
        for_other_host = proof(method="POST", url="http://evil.example/dev-issuer/token")
        spoofed = client.post(
            "http://evil.example/dev-issuer/token",
            data=form(registered),
            headers={"DPoP": for_other_host},
        )
        assert spoofed.status_code == 400
        assert spoofed.json()["error"] == "invalid_dpop_proof"


def test_end_to_end_token_then_protected_call(registered: DevIssuer) -> None:
    auth = authenticator(registered)

    async def observations(request: Request) -> JSONResponse:
        try:
            principal = auth.authenticate(request.method, str(request.url), request.headers)
        except AuthError as error:
            return JSONResponse(error.outcome(), error.status, headers=error.headers)
        decision = decide(principal, "search", "Observation")
        return JSONResponse({"effect": decision.effect, "emergency": decision.emergency})

    routes = [*dev_issuer_routes(registered), Route("/fhir/Observation", observations)]
    with TestClient(Starlette(routes=routes), base_url="http://localhost:8080") as client:
        grant = proof(method="POST", url=registered.token_url)
        issued = client.post("/dev-issuer/token", data=form(registered), headers={"DPoP": grant})
        access = issued.json()["access_token"]
        call = proof(access_token=access, url=API)
        headers = {"Authorization": f"DPoP {access}", "DPoP": call}
        ok = client.get("/fhir/Observation?patient=1", headers=headers)
        assert ok.status_code == 200 and ok.json() == {"effect": "allow", "emergency": False}
        replay = client.get("/fhir/Observation", headers=headers)
        assert replay.status_code == 401
        assert 'error="invalid_dpop_proof"' in replay.headers["www-authenticate"]
        missing = client.get("/fhir/Observation")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith('Bearer realm="samhandling"')
        assert missing.json()["resourceType"] == "OperationOutcome"
