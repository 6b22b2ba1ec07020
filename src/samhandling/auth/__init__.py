"""Authentication and authorisation: HelseID/ID-porten-style JWT access tokens (Bearer and
DPoP), the Principal built from them, the deny-by-default policy `decide`, and the
built-in development issuer.

Integration:

    auth = Authenticator(AuthSettings(issuers=..., audience=...))
    principal = auth.authenticate(method, url, headers)        # AuthError(401/503)
    principal = principal.with_patient_ids(resolve(principal.patient_pids))
    decision = decide(principal, "read", "Observation", resource=obs)
    if not decision.allowed: raise forbidden(decision.reason)  # 403
"""

from samhandling.auth.authenticator import Authenticator
from samhandling.auth.dev.issuer import DevIssuer, DevIssuerDisabled
from samhandling.auth.dpop import DPoPVerifier, InMemoryReplayCache, ReplayCache
from samhandling.auth.errors import AuthError, forbidden
from samhandling.auth.policy import Decision, ServiceRules, decide, filter_resources
from samhandling.auth.principal import (
    ActingFor,
    Attestation,
    ClientInfo,
    GrantStanding,
    Organisation,
    PatientRef,
    Principal,
    mask_pid,
)
from samhandling.auth.scopes import ScopeSet, SmartScope, parse_scopes
from samhandling.auth.settings import ALLOWED_ALGORITHMS, AuthSettings, TrustedIssuer

__all__ = [
    "ALLOWED_ALGORITHMS",
    "ActingFor",
    "Attestation",
    "AuthError",
    "AuthSettings",
    "Authenticator",
    "ClientInfo",
    "DPoPVerifier",
    "Decision",
    "DevIssuer",
    "DevIssuerDisabled",
    "GrantStanding",
    "InMemoryReplayCache",
    "Organisation",
    "PatientRef",
    "Principal",
    "ReplayCache",
    "ScopeSet",
    "ServiceRules",
    "SmartScope",
    "TrustedIssuer",
    "decide",
    "filter_resources",
    "forbidden",
    "mask_pid",
    "parse_scopes",
]
