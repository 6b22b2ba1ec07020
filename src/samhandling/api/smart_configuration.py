"""The SMART App Launch discovery document (`.well-known/smart-configuration`)."""

from __future__ import annotations

from typing import Any

from samhandling.config import Settings

SCOPES = ["system/*.cruds", "user/*.cruds", "patient/*.rs", "system/*.*", "user/*.*"]
#: What the development issuer's authorization code flow adds (SMART App Launch 2.0 §2.0.2:
#: standalone launch with a patient picked at login, OpenID Connect, refresh tokens).
LAUNCH_CAPABILITIES = [
    "launch-standalone",
    "context-standalone-patient",
    "client-public",
    "client-confidential-symmetric",
    "sso-openid-connect",
    "permission-offline",
    "permission-patient",
    "permission-user",
]
LAUNCH_SCOPES = ["openid", "fhirUser", "profile", "launch/patient", "offline_access"]


def smart_configuration(settings: Settings) -> dict[str, Any]:
    """What the server really supports: token verification of trusted issuers, DPoP, and
    with the development issuer its endpoints, including the standalone launch."""
    document: dict[str, Any] = {
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        "scopes_supported": SCOPES,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "grant_types_supported": ["client_credentials"],
        "dpop_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
    }
    if settings.dev_issuer:
        issuer = settings.dev_issuer_url
        document.update(
            {
                "issuer": issuer,
                "jwks_uri": issuer + "/jwks",
                "token_endpoint": issuer + "/token",
                "authorization_endpoint": issuer + "/authorize",
                "capabilities": [*document["capabilities"], *LAUNCH_CAPABILITIES],
                "scopes_supported": [*SCOPES, *LAUNCH_SCOPES],
                "grant_types_supported": [
                    "client_credentials",
                    "authorization_code",
                    "refresh_token",
                ],
                "token_endpoint_auth_methods_supported": [
                    "private_key_jwt",
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "code_challenge_methods_supported": ["S256"],
                "response_types_supported": ["code"],
            }
        )
    return document
