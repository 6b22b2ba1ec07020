"""Configuration of token verification: the trusted issuers and the accepted audience."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

#: Signature algorithms accepted for access tokens, DPoP proofs and client assertions.
#: Never `none`, never an HMAC algorithm (a public key must never become a shared secret).
ALLOWED_ALGORITHMS: tuple[str, ...] = ("RS256", "PS256", "ES256")

IssuerKind = Literal["helseid", "idporten"]


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens are accepted.

    `kind` says how claims are read: 'helseid' (health personnel and systems, HelseID claim
    set) or 'idporten' (citizens: `pid`, `acr`). Keys come from `static_jwks` when given,
    otherwise from `jwks_uri` (fetched and cached). `token_types` are the accepted JOSE
    `typ` values of its access tokens (compared case-insensitively).
    """

    issuer: str
    jwks_uri: str | None
    kind: IssuerKind
    static_jwks: dict[str, Any] | None = None
    token_types: tuple[str, ...] = ("at+jwt", "application/at+jwt")

    def __post_init__(self) -> None:
        if self.kind not in ("helseid", "idporten"):
            raise ValueError(f"unknown issuer kind {self.kind!r}")
        if self.jwks_uri is None and self.static_jwks is None:
            raise ValueError(f"issuer {self.issuer} needs jwks_uri or static_jwks")
        if self.jwks_uri is not None and not _secure(self.jwks_uri):
            raise ValueError(f"jwks_uri of {self.issuer} must use https (or be on localhost)")


def _secure(uri: str) -> bool:
    parts = urlsplit(uri)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    return parts.scheme == "https" or (parts.scheme == "http" and local)


@dataclass(frozen=True)
class AuthSettings:
    """How requests are authenticated.

    - `audience`: the `aud` every access token must carry.
    - `clock_skew_seconds`: leeway for exp / nbf / iat checks.
    - `require_dpop`: refuse plain Bearer tokens.
    - `dpop_max_age_seconds`: how old a DPoP proof's `iat` may be (its `jti` is remembered
      for this long plus the skew).
    - `jwks_min_refresh_seconds`: an unknown `kid` refetches a JWKS at most this often.
    - `jwks_max_age_seconds`: a cached JWKS is refetched after this long.
    - `max_token_lifetime_seconds`: tokens with a longer exp − iat are refused.
    """

    issuers: tuple[TrustedIssuer, ...]
    audience: str
    clock_skew_seconds: int = 30
    require_dpop: bool = False
    dpop_max_age_seconds: int = 120
    jwks_min_refresh_seconds: int = 60
    jwks_max_age_seconds: int = 3600
    max_token_lifetime_seconds: int = 24 * 3600
    realm: str = "samhandling"
    algorithms: tuple[str, ...] = ALLOWED_ALGORITHMS

    def __post_init__(self) -> None:
        bad = [a for a in self.algorithms if a not in ALLOWED_ALGORITHMS]
        if bad:
            raise ValueError(f"algorithms not allowed: {bad}")
        if not self.audience:
            raise ValueError("audience must be set")

    def issuer(self, iss: str) -> TrustedIssuer | None:
        """The trusted issuer with exactly this `iss`, if any."""
        return next((i for i in self.issuers if i.issuer == iss), None)
