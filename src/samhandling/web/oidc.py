"""The web views as an OpenID Connect client: the authorization code flow with PKCE.

* Each login gets a fresh `state` (the callback must bring it back: RFC 6749 §10.12),
  `nonce` (the ID token must carry it: OIDC Core §3.1.2.1) and PKCE verifier (S256,
  RFC 7636), all kept server-side; only the state travels through the browser.
* The code is exchanged at the provider's token endpoint with the verifier; the client
  authenticates with its secret (`client_secret_basic`) or, as HelseID asks of its
  clients, with `private_key_jwt` (a short-lived assertion signed with its key, RFC 7523).
* The ID token is checked (OIDC Core §3.1.3.7): signature by the provider's keys, `iss`,
  `aud` = this client, `exp`, `nonce`. The access token is not opened here: the platform
  verifies it like any API token each time it is used (`FrontEndParts.principal_of`).
* A refresh (RFC 6749 §6) may carry `authorization_details`: how a clinician declares the
  purpose of use (the trust framework's attestation) after logging in.

The provider is the development issuer, or any OpenID provider by its issuer URL
(`SAMHANDLING_WEB_OIDC_ISSUER`; discovery at `/.well-known/openid-configuration`).
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwk, jwt

from samhandling.auth.jose import JoseInvalid, check_algorithm, peek, sha256_b64url
from samhandling.auth.jose import verify_signature as verify_jws
from samhandling.auth.jwks import KeyNotFound, KeySource, RemoteJwks, StaticKeySource
from samhandling.auth.settings import ALLOWED_ALGORITHMS

TIMEOUT = 10.0
CLOCK_SKEW = 60
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class LoginFailed(Exception):
    """The provider refused, or its answer does not hold up: the user must log in again."""


@dataclass(frozen=True)
class Provider:
    """Where the provider's endpoints are and which issuers its ID tokens may name."""

    issuers: tuple[str, ...]
    authorization_endpoint: str
    token_endpoint: str
    keys: KeySource


@dataclass(frozen=True)
class LoginStart:
    """A login under way: the secrets kept server-side, and the URL to send the user to."""

    state: str
    nonce: str
    verifier: str
    url: str


@dataclass(frozen=True)
class Tokens:
    """The token endpoint's answer, checked."""

    access_token: str
    refresh_token: str | None
    expires_at: float
    name: str | None = None
    launch_patient: str | None = None


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier (43 characters of base64url: 256 random bits) and its S256 challenge."""
    verifier = secrets.token_urlsafe(32)
    return verifier, sha256_b64url(verifier)


def discover(issuer: str, http: httpx.Client) -> Provider:
    """A provider from its discovery document (OIDC Discovery §4)."""
    answer = http.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=TIMEOUT)
    answer.raise_for_status()
    document = answer.json()
    if document.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise LoginFailed("the discovery document names another issuer")
    return Provider(
        (document["issuer"],),
        document["authorization_endpoint"],
        document["token_endpoint"],
        RemoteJwks(document["jwks_uri"], http),
    )


def dev_provider(issuer_url: str, citizen_issuer_url: str, jwks: Mapping[str, Any]) -> Provider:
    """The development issuer (and its ID-porten-like twin, which signs citizens' tokens)."""
    return Provider(
        (issuer_url, citizen_issuer_url),
        issuer_url + "/authorize",
        issuer_url + "/token",
        StaticKeySource(jwks),
    )


class OidcClient:
    """One confidential client of one provider."""

    def __init__(
        self,
        provider: Provider,
        client_id: str,
        redirect_uri: str,
        *,
        secret: str | None = None,
        key_file: str | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.provider = provider
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._secret = secret
        self._key = jwk.import_key(json.loads(Path(key_file).read_text())) if key_file else None
        self._http = http or httpx.Client(timeout=TIMEOUT)

    def start(self, scopes: tuple[str, ...]) -> LoginStart:
        """A new login: fresh state, nonce and verifier, and the authorize URL."""
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": " ".join(scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return LoginStart(state, nonce, verifier, f"{self.provider.authorization_endpoint}?{query}")

    def exchange(self, code: str, verifier: str, nonce: str) -> Tokens:
        """The code for tokens; the ID token must verify and carry `nonce`."""
        answer = self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            }
        )
        claims = self.check_id_token(answer.get("id_token"), nonce)
        return _tokens(answer, claims.get("name"))

    def refresh(self, refresh_token: str, authorization_details: Any = None) -> Tokens:
        """New tokens; with `authorization_details`, a new attestation (purpose of use)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if authorization_details is not None:
            form["authorization_details"] = json.dumps(authorization_details)
        return _tokens(self._token_request(form), None)

    def check_id_token(self, token: Any, nonce: str) -> dict[str, Any]:
        """OIDC Core §3.1.3.7: signature, issuer, audience, expiry and nonce."""
        if not isinstance(token, str):
            raise LoginFailed("the provider sent no ID token")
        try:
            unverified = peek(token)
            alg = check_algorithm(unverified.header, ALLOWED_ALGORITHMS)
            kid = unverified.header.get("kid")
            key = self.provider.keys.get_key(kid if isinstance(kid, str) else None)
            claims = verify_jws(token, key, alg)
        except (JoseInvalid, KeyNotFound, ValueError) as exc:
            raise LoginFailed("the ID token does not verify") from exc
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") not in self.provider.issuers or self.client_id not in audiences:
            raise LoginFailed("the ID token is for another issuer or client")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + CLOCK_SKEW < time.time():
            raise LoginFailed("the ID token has expired")
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
            claims["nonce"], nonce
        ):
            raise LoginFailed("the ID token's nonce is not this login's")
        return claims

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        auth: httpx.BasicAuth | None = None
        if self._key is not None:
            form = {
                **form,
                "client_id": self.client_id,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self._assertion(),
            }
        elif self._secret is not None:
            auth = httpx.BasicAuth(self.client_id, self._secret)
        else:
            form = {**form, "client_id": self.client_id}
        try:
            answer = self._http.post(
                self.provider.token_endpoint,
                data=form,
                headers=headers,
                auth=auth or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise LoginFailed("the provider did not answer") from exc
        if answer.status_code != 200:
            error = _error_of(answer)
            raise LoginFailed(f"the provider refused: {error}")
        body = answer.json()
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise LoginFailed("the provider's answer has no access token")
        return body

    def _assertion(self) -> str:
        """A private_key_jwt client assertion (RFC 7523 §3), valid for 60 seconds."""
        assert self._key is not None
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.provider.token_endpoint,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        alg = "ES256" if self._key.key_type == "EC" else "RS256"
        header = {"alg": alg, "typ": "client-authentication+jwt", "kid": self._key.kid}
        return jwt.encode(header, claims, self._key, algorithms=[alg])


def _tokens(answer: dict[str, Any], name: Any) -> Tokens:
    expires_in = answer.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
    refresh = answer.get("refresh_token")
    patient = answer.get("patient")
    return Tokens(
        answer["access_token"],
        refresh if isinstance(refresh, str) else None,
        time.time() + lifetime,
        name if isinstance(name, str) else None,
        patient if isinstance(patient, str) else None,
    )


def _error_of(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    return str(body.get("error", answer.status_code)) if isinstance(body, dict) else "?"
