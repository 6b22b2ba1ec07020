"""The SMART App Launch discovery document (`.well-known/smart-configuration`)."""

from __future__ import annotations

from typing import Any

from samhandling.config import Settings

SCOPES = ["system/*.cruds", "user/*.cruds", "patient/*.rs", "system/*.*", "user/*.*"]


def smart_configuration(settings: Settings) -> dict[str, Any]:
    """What the server really supports: token verification of trusted issuers, DPoP."""
    document: dict[str, Any] = {
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        "scopes_supported": SCOPES,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "grant_types_supported": ["client_credentials"],
        "dpop_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
    }
    if settings.dev_issuer:
        document["issuer"] = settings.dev_issuer_url
        document["jwks_uri"] = settings.dev_issuer_url + "/jwks"
        document["token_endpoint"] = settings.dev_issuer_url + "/token"
    return document
