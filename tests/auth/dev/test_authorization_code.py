"""The development issuer's authorization code flow: PKCE, one-time codes, the login page's
request ids, refresh tokens with a new attestation (auth/dev/authorization.py)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from samhandling.auth import DevIssuer
from samhandling.auth.claims import ACTS_FOR
from samhandling.auth.dev.authorization import (
    AuthorizationServer,
    AuthorizeRedirect,
    AuthorizeRefused,
    s256,
)
from samhandling.auth.dev.personas import PERSONAS
from samhandling.auth.dev.token_endpoint import TokenEndpointError
from samhandling.web.oidc import pkce_pair

CALLBACK = "https://web.example/login/callback"
SECRET = "s3cret-of-the-web-client"
CITIZEN_FNR = "05858540072"


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path, "https://issuer.example/dev-issuer")


@pytest.fixture
def server(issuer: DevIssuer) -> AuthorizationServer:
    codes = AuthorizationServer(issuer, patient_id_of=lambda fnr: f"patient-of-{fnr[:6]}")
    codes.register("web", (CALLBACK,), SECRET)
    codes.register("smart-app", ("https://app.example/cb",))  # public: PKCE only
    return codes


def authorize(
    server: AuthorizationServer, challenge: str, client: str = "web", **extra: str
) -> str:
    params = {
        "response_type": "code",
        "client_id": client,
        "redirect_uri": CALLBACK if client == "web" else "https://app.example/cb",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "openid profile",
        **extra,
    }
    request_id, _ = server.begin(params)
    return request_id


def code_for(server: AuthorizationServer, challenge: str, persona: str = "gp", **extra: str) -> str:
    request_id = authorize(server, challenge, **extra)
    url = server.complete({"request_id": request_id, "persona": persona, "patient": ""})
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


def basic(client: str = "web", secret: str = SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client}:{secret}".encode()).decode()


def exchange(server: AuthorizationServer, code: str, verifier: str, **form: str) -> Any:
    fields = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        **form,
    }
    return server.token(fields, basic())


def claims_of(issuer: DevIssuer, token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, KeySet.import_key_set(issuer.jwks())).claims)


def test_the_code_is_exchanged_once_with_the_right_verifier(
    server: AuthorizationServer, issuer: DevIssuer
) -> None:
    verifier, challenge = pkce_pair()
    assert s256(verifier) == challenge
    code = code_for(server, challenge)
    answer = exchange(server, code, verifier)
    claims = claims_of(issuer, answer["access_token"])
    assert claims["client_id"] == "web" and claims["iss"] == issuer.issuer_url
    care = claims["nhn:tillitsrammeverk:parameters"]["care_relationship"]
    assert "purpose_of_use" not in care  # logged in without a purpose: no patient data
    id_token = claims_of(issuer, answer["id_token"])
    assert id_token["aud"] == "web" and id_token["nonce"] == "n-1"
    with pytest.raises(TokenEndpointError, match="unknown, used or expired"):
        exchange(server, code, verifier)  # a code is used once


def test_a_forged_verifier_is_refused_and_burns_the_code(server: AuthorizationServer) -> None:
    verifier, challenge = pkce_pair()
    code = code_for(server, challenge)
    forged, _ = pkce_pair()
    with pytest.raises(TokenEndpointError, match="PKCE"):
        exchange(server, code, forged)
    with pytest.raises(TokenEndpointError, match="unknown, used or expired"):
        exchange(server, code, verifier)


def test_client_authentication_and_redirect_uri_are_checked(server: AuthorizationServer) -> None:
    verifier, challenge = pkce_pair()
    code = code_for(server, challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    with pytest.raises(TokenEndpointError) as wrong_secret:
        server.token(form, basic(secret="guess"))
    assert wrong_secret.value.status == 401
    with pytest.raises(TokenEndpointError, match="redirect_uri"):
        server.token({**form, "redirect_uri": "https://web.example/other"}, basic())


def test_authorize_requests_that_may_not_be_redirected_are_shown_not_followed(
    server: AuthorizationServer,
) -> None:
    _, challenge = pkce_pair()
    with pytest.raises(AuthorizeRefused, match="redirect_uri"):
        authorize(server, challenge, redirect_uri="https://evil.example/cb")
    with pytest.raises(AuthorizeRefused, match="client_id"):
        authorize(server, challenge, client_id="nobody")
    with pytest.raises(AuthorizeRedirect) as plain:
        authorize(server, challenge, code_challenge_method="plain")
    assert plain.value.url.startswith(CALLBACK + "?error=invalid_request")
    with pytest.raises(AuthorizeRedirect):
        authorize(server, challenge, state="")


def test_the_login_page_names_its_request_by_an_unguessable_id(
    server: AuthorizationServer,
) -> None:
    with pytest.raises(AuthorizeRefused, match="unknown or has expired"):
        server.complete({"request_id": "guessed", "persona": "gp"})
    _, challenge = pkce_pair()
    request_id = authorize(server, challenge)
    with pytest.raises(AuthorizeRefused, match="persona"):
        server.complete({"request_id": request_id, "persona": "system"})  # not a login persona


def test_a_refresh_carries_the_declared_purpose_and_patient(
    server: AuthorizationServer, issuer: DevIssuer
) -> None:
    verifier, challenge = pkce_pair()
    answer = exchange(server, code_for(server, challenge), verifier)
    details = (
        '{"type": "nhn:tillitsrammeverk:parameters", "care_relationship": {"purpose_of_use":'
        ' {"code": "BTG"}, "purpose_of_use_details": {"text": "bevisstløs"}}, "patients":'
        f' [{{"identifier": {{"id": "{CITIZEN_FNR}"}}}}],'
        ' "practitioner": {"legal_entity": {"id": "999999999"}}}'
    )
    refresh = {"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]}
    renewed = server.token({**refresh, "authorization_details": details}, basic())
    attestation = claims_of(issuer, renewed["access_token"])["nhn:tillitsrammeverk:parameters"]
    assert attestation["care_relationship"]["purpose_of_use"]["code"] == "BTG"
    assert attestation["care_relationship"]["purpose_of_use_details"]["text"] == "bevisstløs"
    assert attestation["patients"][0]["identifier"]["id"] == CITIZEN_FNR
    # the organisation is the persona's, whatever the client claims
    assert attestation["practitioner"]["legal_entity"]["id"] == "991000011"
    with pytest.raises(TokenEndpointError, match="unknown or expired"):
        server.token(refresh, basic())  # rotated: the old refresh token is spent
    again = server.token({**refresh, "refresh_token": renewed["refresh_token"]}, basic())
    kept = claims_of(issuer, again["access_token"])["nhn:tillitsrammeverk:parameters"]
    assert kept["care_relationship"]["purpose_of_use"]["code"] == "BTG"  # kept on refresh


def test_emergency_access_without_a_reason_is_refused(server: AuthorizationServer) -> None:
    verifier, challenge = pkce_pair()
    answer = exchange(server, code_for(server, challenge), verifier)
    details = '{"type": "nhn:tillitsrammeverk:parameters", "care_relationship":'
    details += ' {"purpose_of_use": {"code": "ETREAT"}}}'
    with pytest.raises(TokenEndpointError, match="reason"):
        server.token(
            {
                "grant_type": "refresh_token",
                "refresh_token": answer["refresh_token"],
                "authorization_details": details,
            },
            basic(),
        )


def test_a_public_smart_app_gets_the_launch_patient(
    server: AuthorizationServer, issuer: DevIssuer
) -> None:
    verifier, challenge = pkce_pair()
    request_id = authorize(
        server, challenge, client="smart-app", scope="openid launch/patient patient/*.rs"
    )
    url = server.complete({"request_id": request_id, "persona": "citizen", "patient": ""})
    code = parse_qs(urlsplit(url).query)["code"][0]
    answer = server.token(
        {
            "grant_type": "authorization_code",
            "client_id": "smart-app",
            "code": code,
            "redirect_uri": "https://app.example/cb",
            "code_verifier": verifier,
        },
        None,
    )
    assert answer["patient"] == "patient-of-058585"
    claims = claims_of(issuer, answer["access_token"])
    assert claims["patient"] == "patient-of-058585" and claims["scope"] == "patient/*.rs"
    assert claims["pid"] == CITIZEN_FNR


def test_the_attorney_acts_for_whom_the_register_names_with_no_age_rule(
    issuer: DevIssuer,
) -> None:
    grantor, stranger = "02904128913", "05858540072"
    register = {"14836815271": [(grantor, "power-of-attorney")]}
    codes = AuthorizationServer(issuer, relations_of=lambda fnr: register.get(fnr, []))
    codes.register("web", (CALLBACK,), SECRET)
    verifier, challenge = pkce_pair()
    request_id = authorize(codes, challenge)
    # the attorney speaks for the register's grantor only, whoever the form names
    url = codes.complete({"request_id": request_id, "persona": "attorney", "patient": stranger})
    code = parse_qs(urlsplit(url).query)["code"][0]
    claims = claims_of(issuer, exchange(codes, code, verifier)["access_token"])
    assert claims["pid"] == "14836815271"  # ID-porten shaped
    acts_for = claims[ACTS_FOR]
    assert acts_for == [
        {"pid": grantor, "relation": "power-of-attorney", "birth_date": "1941-10-02"}
    ]
    none: dict[str, Any] = dict.fromkeys(
        ("purpose", "dpop_jkt", "reason", "scopes", "authorization_details", "client_id")
    )
    cli = issuer.claims_for(PERSONAS["attorney"], patient_fnr=None, lifetime=60, **none)
    assert cli[ACTS_FOR] == acts_for  # `samhandling token --persona attorney` says the same
    with pytest.raises(ValueError, match="grantor"):
        issuer.claims_for(PERSONAS["attorney"], patient_fnr=stranger, lifetime=60, **none)
