"""Test helpers for the auth tests: keys, token and DPoP proof builders, settings."""

from __future__ import annotations

import time
import uuid
from typing import Any

from joserfc import jwk, jwt

from samhandling.auth import AuthSettings, TrustedIssuer
from samhandling.auth.jose import sha256_b64url

ISSUER = "https://helseid.test"
CITIZEN_ISSUER = "https://idporten.test"
JWKS_URI = "https://helseid.test/.well-known/jwks"
AUDIENCE = "samhandling"
URL = "https://fhir.test/fhir/Observation"
PID = "12837510110"
HPR = "9100001"

RSA_KEY = jwk.RSAKey.generate_key(2048, auto_kid=True)
EC_KEY = jwk.ECKey.generate_key("P-256", auto_kid=True)
OTHER_RSA_KEY = jwk.RSAKey.generate_key(2048, auto_kid=True)
CLIENT_KEY = jwk.ECKey.generate_key("P-256", auto_kid=True)
DPOP_KEY = jwk.ECKey.generate_key("P-256", auto_kid=True)
OTHER_DPOP_KEY = jwk.ECKey.generate_key("P-256", auto_kid=True)

#: every token and proof the helpers make, so the log check can look for them
ISSUED: list[str] = []


def jwks_of(*keys: jwk.Key) -> dict[str, Any]:
    """A public JWKS of these keys."""
    return {"keys": [k.as_dict(private=False) for k in keys]}


def settings(**overrides: Any) -> AuthSettings:
    """Settings trusting ISSUER (static RSA+EC keys) and CITIZEN_ISSUER."""
    issuers = (
        TrustedIssuer(ISSUER, None, "helseid", static_jwks=jwks_of(RSA_KEY, EC_KEY)),
        TrustedIssuer(CITIZEN_ISSUER, None, "idporten", static_jwks=jwks_of(RSA_KEY)),
    )
    values: dict[str, Any] = {"issuers": issuers, "audience": AUDIENCE}
    values.update(overrides)
    return AuthSettings(**values)


def attestation(purpose: str = "TREAT", **care: Any) -> dict[str, Any]:
    """A trust-framework attestation like NHN's clients send."""
    return {
        "type": "nhn:tillitsrammeverk:parameters",
        "practitioner": {
            "authorization": {"code": "LE", "system": "urn:oid:2.16.578.1.12.4.1.1.9060"},
            "legal_entity": {"id": "991000046", "system": "urn:oid:2.16.578.1.12.4.1.4.101"},
            "point_of_care": {"id": "991000054", "system": "urn:oid:2.16.578.1.12.4.1.4.101"},
            "department": {"id": "4001234", "system": "urn:oid:2.16.578.1.12.4.1.4.102"},
        },
        "care_relationship": {
            "healthcare_service": {"code": "S03", "system": "urn:oid:2.16.578.1.12.4.1.1.8655"},
            "purpose_of_use": {"code": purpose, "system": "urn:oid:2.16.840.1.113883.1.11.20448"},
            "decision_ref": {"id": "5b0c6c7e-0000-4000-8000-000000000001", "user_selected": True},
            **care,
        },
        "patients": [{"point_of_care": {"id": "991000054"}}],
    }


def claims(**overrides: Any) -> dict[str, Any]:
    """HelseID-shaped access-token claims for a hospital physician."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "pairwise-sub-1",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        "client_id": "epj-1",
        "scope": ["openid", "user/*.crus", "nhn:kjernejournal/api"],
        "helseid://claims/identity/pid": PID,
        "helseid://claims/identity/security_level": "4",
        "helseid://claims/identity/network": "helsenett",
        "helseid://claims/hpr/hpr_number": HPR,
        "helseid://claims/client/client_name": "Test EPJ",
        "helseid://claims/client/claims/orgnr_parent": "991000046",
        "helseid://claims/client/claims/orgnr_child": "991000054",
        "helseid://claims/client/claims/orgnr_supplier": "991000100",
        "name": "Henrik Sykehuslege",
        "nhn:tillitsrammeverk:parameters": attestation(),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(
    key: jwk.Key = RSA_KEY, alg: str = "RS256", header: dict[str, Any] | None = None, **claim: Any
) -> str:
    """A signed access token."""
    head = {"alg": alg, "kid": key.kid, "typ": "at+jwt", **(header or {})}
    value = jwt.encode(head, claims(**claim), key, algorithms=[alg])
    ISSUED.append(value)
    return value


def proof(
    key: jwk.Key = DPOP_KEY,
    *,
    method: str = "GET",
    url: str = URL,
    access_token: str | None = None,
    iat: float | None = None,
    jti: str | None = None,
    typ: str = "dpop+jwt",
    embed: jwk.Key | None = None,
) -> str:
    """A DPoP proof signed by `key` (with `embed`'s public key in the header if given)."""
    body: dict[str, Any] = {
        "jti": jti or str(uuid.uuid4()),
        "htm": method,
        "htu": url,
        "iat": int(iat if iat is not None else time.time()),
    }
    if access_token is not None:
        body["ath"] = sha256_b64url(access_token)
    public = (embed or key).as_dict(private=False)
    alg = "ES256" if key.key_type == "EC" else "RS256"
    value = jwt.encode({"alg": alg, "typ": typ, "jwk": public}, body, key, algorithms=[alg])
    ISSUED.append(value)
    return value
