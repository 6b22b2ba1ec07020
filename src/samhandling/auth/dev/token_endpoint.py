"""The dev issuer's token endpoint: `client_credentials` with `private_key_jwt`.

The client assertion must have `typ: client-authentication+jwt`, an allow-listed `alg`,
`iss` = `sub` = the registered client id, `aud` = the issuer or the token endpoint URL, a
`jti` never seen before, and a lifetime of at most 5 minutes; it is verified against the
client's registered public keys. A `DPoP` proof header (htm POST, htu the token URL) binds
the token to its key (`cnf.jkt`, token_type DPoP). `authorization_details` (JSON) of type
`nhn:tillitsrammeverk:parameters` is copied into the token claim of that name. A dev-only
form field `persona` picks the persona (default: the one the client was registered with);
`patient` and `purpose` work as for `samhandling token`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samhandling.auth.claims import TRUST_FRAMEWORK
from samhandling.auth.dev.personas import PERSONAS
from samhandling.auth.dpop import DPoPInvalid, DPoPVerifier, InMemoryReplayCache
from samhandling.auth.jose import JoseInvalid, check_algorithm, numeric, peek, verify_signature
from samhandling.auth.jose import typ_matches as _typ_matches
from samhandling.auth.jwks import KeyNotFound, StaticKeySource
from samhandling.auth.settings import ALLOWED_ALGORITHMS

if TYPE_CHECKING:
    from samhandling.auth.dev.issuer import DevIssuer

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_TYP = ("client-authentication+jwt", "application/client-authentication+jwt")
MAX_ASSERTION_LIFETIME = 300
CLOCK_SKEW = 30
TOKEN_LIFETIME = 3600


class TokenEndpointError(Exception):
    """An OAuth error response (RFC 6749 §5.2); `body()` is the JSON to send."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """The error response body."""
        return {"error": self.error, "error_description": self.description}


class TokenEndpoint:
    """Client registry and token-request handling for a DevIssuer."""

    def __init__(self, issuer: DevIssuer, clients_file: Path) -> None:
        self.issuer = issuer
        self._file = clients_file
        self._lock = threading.Lock()
        self._assertions = InMemoryReplayCache()
        self.dpop = DPoPVerifier(InMemoryReplayCache(), clock_skew_seconds=CLOCK_SKEW)

    def _clients(self) -> dict[str, Any]:
        if not self._file.exists():
            return {}
        loaded = json.loads(self._file.read_text())
        return loaded if isinstance(loaded, dict) else {}

    def register(self, client_id: str, keys: Mapping[str, Any], persona_name: str) -> None:
        """Store a client's public key(s) (a JWK or a JWKS) and default persona."""
        if persona_name not in PERSONAS:
            raise ValueError(f"unknown persona {persona_name!r}")
        jwks = dict(keys) if "keys" in keys else {"keys": [dict(keys)]}
        StaticKeySource(jwks)  # validates; private members are dropped below
        public = {"keys": [_public(k) for k in jwks["keys"]]}
        with self._lock:
            clients = self._clients()
            clients[client_id] = {"jwks": public, "persona": persona_name}
            self._file.write_text(json.dumps(clients, indent=2))
            self._file.chmod(0o600)

    def handle(self, form: Mapping[str, str], dpop_header: str | None, url: str) -> dict[str, Any]:
        """Issue a token for a valid request, else raise TokenEndpointError."""
        if form.get("grant_type") != "client_credentials":
            raise TokenEndpointError("unsupported_grant_type", "only client_credentials")
        now = time.time()
        client_id, client = self._authenticate(form, now)
        jkt = self._bind(dpop_header, url, now)
        persona_name = form.get("persona") or client.get("persona", "system")
        if persona_name not in PERSONAS:
            raise TokenEndpointError("invalid_request", "unknown persona")
        scopes = _scopes(form.get("scope"), PERSONAS[persona_name].scopes)
        try:
            token = self.issuer.mint(
                persona_name,
                patient_fnr=form.get("patient") or None,
                purpose=form.get("purpose") or None,
                dpop_jkt=jkt,
                lifetime=TOKEN_LIFETIME,
                scopes=scopes,
                authorization_details=authorization_details(form.get("authorization_details")),
                client_id=client_id,
            )
        except ValueError as exc:
            raise TokenEndpointError("invalid_request", str(exc)) from exc
        return {
            "access_token": token,
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": " ".join(scopes),
        }

    def _authenticate(self, form: Mapping[str, str], now: float) -> tuple[str, dict[str, Any]]:
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise TokenEndpointError(
                "invalid_client", "private_key_jwt client assertion required", 401
            )
        assertion = form["client_assertion"]
        try:
            unverified = peek(assertion)
            alg = check_algorithm(unverified.header, ALLOWED_ALGORITHMS)
        except JoseInvalid as exc:
            raise TokenEndpointError("invalid_client", str(exc), 401) from exc
        if not _typ_matches(unverified.header, ASSERTION_TYP):
            raise TokenEndpointError(
                "invalid_client", "assertion typ must be client-authentication+jwt", 401
            )
        client_id = str(unverified.claims.get("iss") or "")
        client = self._clients().get(client_id)
        if not isinstance(client, dict) or form.get("client_id", client_id) != client_id:
            raise TokenEndpointError("invalid_client", "unknown client", 401)
        claims = self._verify_assertion(assertion, alg, client, unverified.header.get("kid"))
        self._check_assertion(claims, client_id, now)
        return client_id, client

    def _verify_assertion(
        self, assertion: str, alg: str, client: dict[str, Any], kid: Any
    ) -> dict[str, Any]:
        try:
            key = StaticKeySource(client["jwks"]).get_key(kid if isinstance(kid, str) else None)
            return verify_signature(assertion, key, alg)
        except (KeyNotFound, JoseInvalid, ValueError) as exc:
            raise TokenEndpointError(
                "invalid_client", "client assertion signature is invalid", 401
            ) from exc

    def _check_assertion(self, claims: dict[str, Any], client_id: str, now: float) -> None:
        def fail(why: str) -> TokenEndpointError:
            return TokenEndpointError("invalid_client", why, 401)

        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise fail("assertion iss and sub must be the client id")
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not {self.issuer.issuer_url, self.issuer.token_url} & {
            a for a in auds if isinstance(a, str)
        }:
            raise fail("assertion audience must be the issuer")
        try:
            exp, iat = numeric(claims, "exp"), numeric(claims, "iat") or numeric(claims, "nbf")
        except JoseInvalid as exc:
            raise fail(str(exc)) from exc
        if exp is None or now >= exp + CLOCK_SKEW:
            raise fail("assertion has expired or has no exp")
        if exp - (iat if iat is not None else now) > MAX_ASSERTION_LIFETIME:
            raise fail("assertion lifetime is too long")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise fail("assertion has no jti")
        if not self._assertions.add(f"{client_id}|{jti}", exp + CLOCK_SKEW, now):
            raise fail("assertion has been used before")

    def _bind(self, proof: str | None, url: str, now: float) -> str | None:
        if not proof:
            return None
        try:
            return self.dpop.verify(proof, method="POST", url=url, now=now).jkt
        except DPoPInvalid as exc:
            raise TokenEndpointError("invalid_dpop_proof", str(exc)) from exc


def _public(key: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k not in ("d", "p", "q", "dp", "dq", "qi", "oth", "k")}


def _scopes(requested: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not requested:
        return allowed
    wanted = tuple(dict.fromkeys(requested.split()))
    extra = [s for s in wanted if s not in allowed and s != "openid"]
    if extra:
        raise TokenEndpointError("invalid_scope", "scope not allowed for this persona")
    return wanted


def authorization_details(raw: str | None) -> dict[str, Any] | None:
    """The one `nhn:tillitsrammeverk:parameters` entry of an `authorization_details`
    form field (JSON), None without the field; TokenEndpointError when malformed."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise TokenEndpointError("invalid_authorization_details", "not JSON") from exc
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, dict) and isinstance(i.get("type"), str) for i in items):
        raise TokenEndpointError("invalid_authorization_details", "each entry needs a type")
    ours = [i for i in items if i["type"] == TRUST_FRAMEWORK]
    if len(ours) != 1:
        raise TokenEndpointError(
            "invalid_authorization_details", f"exactly one entry of type {TRUST_FRAMEWORK} expected"
        )
    return ours[0]
