"""Verification of JWT access tokens from the trusted issuers.

Order of checks: the compact form; `alg` on the allow-list (RS256, PS256, ES256 — `none`
and HMAC are refused before any key is looked at); `typ` accepted for the issuer; `iss`
one of the trusted issuers (read unverified only to pick the key source); the key by
`kid` (an unknown kid refreshes a remote JWKS once, rate-limited); the signature with
exactly that algorithm; then, on the *verified* claims, `iss`, `aud`, `exp` and `iat`
(both required), `nbf` with the configured clock skew, and a bound on the lifetime:
exp − iat (and so exp − now) at most `max_token_lifetime_seconds`.

A verified token is remembered (`VerifiedTokens`: bounded, keyed by the SHA-256 of the
whole token, signature included) so that the next request with the same token skips the
parsing and the signature check; the times (`exp`, `nbf`, `iat`) are checked again on every
use, and a remembered token is used only while its issuer still serves the very key that
verified it (a key dropped from the issuer's JWKS, or a refreshed JWKS, means verifying
anew). DPoP proofs are never remembered: each is new.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from samhandling.auth.jose import (
    JoseInvalid,
    check_algorithm,
    numeric,
    peek,
    typ_matches,
    verify_signature,
)
from samhandling.auth.jwks import KeyNotFound, KeySource, KeysUnavailable
from samhandling.auth.settings import AuthSettings, TrustedIssuer

if TYPE_CHECKING:
    from samhandling.auth.principal import Principal

log = logging.getLogger(__name__)


class TokenInvalid(ValueError):
    """The access token was refused; `reason` is safe to show and log."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


class IssuerKeysUnavailable(RuntimeError):
    """The issuer's keys could not be fetched (a server-side problem, not the client's)."""


@dataclass(frozen=True)
class VerifiedToken:
    """A verified access token: its header, claims and the issuer that signed it."""

    header: dict[str, Any]
    claims: dict[str, Any]
    issuer: TrustedIssuer
    #: the Principal its claims describe, by DPoP key binding, once built: it lives as long
    #: as this verified token is remembered (forgotten with it when it expires or its key
    #: leaves the issuer's key set; a token verified anew starts empty)
    principals: dict[str | None, Principal] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @property
    def jkt(self) -> str | None:
        """The `cnf.jkt` DPoP key binding, if the token is DPoP-bound."""
        cnf = self.claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        return jkt if isinstance(jkt, str) and jkt else None


@dataclass(frozen=True)
class _Remembered:
    verified: VerifiedToken
    key: Any  # the key that verified the signature


class VerifiedTokens:
    """The most recently verified tokens (at most `size`), by the SHA-256 of the token."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, _Remembered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: bytes) -> _Remembered | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is not None:
                self._entries.move_to_end(digest)
            return entry

    def put(self, digest: bytes, entry: _Remembered) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def __len__(self) -> int:
        return len(self._entries)


class TokenVerifier:
    """Verifies access tokens against the trusted issuers' keys."""

    def __init__(
        self,
        settings: AuthSettings,
        key_sources: Mapping[str, KeySource],
        memory: VerifiedTokens | None = None,
    ) -> None:
        self.settings = settings
        self._sources = dict(key_sources)
        self.memory = memory if memory is not None else VerifiedTokens()

    def verify(self, token: str, now: float) -> VerifiedToken:
        """The verified token, or TokenInvalid / IssuerKeysUnavailable."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        remembered = self.memory.get(digest)
        if remembered is not None:
            recalled = self._recall(digest, remembered, now)
            if recalled is not None:
                return recalled
        verified, key = self._verify(token, now)
        self.memory.put(digest, _Remembered(verified, key))
        return verified

    def recall(self, token: str, now: float) -> VerifiedToken | None:
        """The token when it is remembered and its issuer's key set is at hand (no I/O:
        safe on the event loop), its times and audience checked as by `verify`; None when
        only `verify` can decide (not remembered, or the key set must be fetched)."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        remembered = self.memory.get(digest)
        if remembered is None:
            return None
        verified = remembered.verified
        kid = verified.header.get("kid")
        source = self._sources[verified.issuer.issuer]
        if source.key_at_hand(kid if isinstance(kid, str) else None) is not remembered.key:
            return None  # `verify` forgets it, or fetches the keys
        try:
            self._check_claims(verified.claims, verified.issuer, now)
        except TokenInvalid:
            self.memory.forget(digest)
            raise
        return verified

    def _recall(self, digest: bytes, remembered: _Remembered, now: float) -> VerifiedToken | None:
        """A remembered token while its issuer still serves the key that verified it and its
        times hold; None when the key set changed (verify anew against it)."""
        verified = remembered.verified
        try:
            if self._key(verified.issuer, verified.header) is not remembered.key:
                self.memory.forget(digest)
                return None
            self._check_claims(verified.claims, verified.issuer, now)
        except (TokenInvalid, IssuerKeysUnavailable):
            self.memory.forget(digest)
            raise
        return verified

    def _verify(self, token: str, now: float) -> tuple[VerifiedToken, Any]:
        try:
            unverified = peek(token)
            alg = check_algorithm(unverified.header, self.settings.algorithms)
        except JoseInvalid as exc:
            raise TokenInvalid(str(exc)) from exc
        issuer = self._issuer_of(unverified.claims)
        if not typ_matches(unverified.header, issuer.token_types):
            raise TokenInvalid("token type (typ) is not an access token type")
        key = self._key(issuer, unverified.header)
        try:
            claims = verify_signature(token, key, alg)
        except JoseInvalid as exc:
            raise TokenInvalid(str(exc)) from exc
        self._check_claims(claims, issuer, now)
        return VerifiedToken(unverified.header, claims, issuer), key

    def _issuer_of(self, claims: dict[str, Any]) -> TrustedIssuer:
        iss = claims.get("iss")
        issuer = self.settings.issuer(iss) if isinstance(iss, str) else None
        if issuer is None:
            # The trusted issuers are public (SMART discovery); naming them tells a client
            # holding a token minted for another server which issuer this one expects.
            expected = ", ".join(i.issuer for i in self.settings.issuers)
            raise TokenInvalid(f"issuer is not trusted; this server accepts tokens from {expected}")
        return issuer

    def _key(self, issuer: TrustedIssuer, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenInvalid("kid is not a string")
        try:
            return self._sources[issuer.issuer].get_key(kid)
        except KeyNotFound as exc:
            raise TokenInvalid("signing key (kid) is unknown to the issuer") from exc
        except KeysUnavailable as exc:
            raise IssuerKeysUnavailable(issuer.issuer) from exc

    def _check_claims(self, claims: dict[str, Any], issuer: TrustedIssuer, now: float) -> None:
        if claims.get("iss") != issuer.issuer:
            raise TokenInvalid("issuer changed between header and payload")
        if not _audience_ok(claims.get("aud"), self.settings.audience):
            raise TokenInvalid("token is not meant for this audience")
        try:
            self._check_times(claims, now)
        except JoseInvalid as exc:
            raise TokenInvalid(str(exc)) from exc

    def _check_times(self, claims: dict[str, Any], now: float) -> None:
        skew = self.settings.clock_skew_seconds
        exp = numeric(claims, "exp")
        if exp is None:
            raise TokenInvalid("token has no expiry (exp)")
        if now >= exp + skew:
            raise TokenInvalid("token has expired", expired=True)
        nbf = numeric(claims, "nbf")
        if nbf is not None and now + skew < nbf:
            raise TokenInvalid("token is not valid yet (nbf)")
        # RFC 9068 §2.2: `iat` is REQUIRED in a JWT access token. Without it the lifetime
        # cannot be bounded (a token without iat and nbf once lived ten years; issue 16).
        iat = numeric(claims, "iat")
        if iat is None:
            raise TokenInvalid("token has no issue time (iat)")
        if now + skew < iat:
            raise TokenInvalid("token was issued in the future (iat)")
        # With iat at most `skew` ahead of now, this also bounds exp − now.
        if exp - iat > self.settings.max_token_lifetime_seconds:
            raise TokenInvalid("token lifetime is too long")


def _audience_ok(aud: Any, expected: str) -> bool:
    if isinstance(aud, str):
        return aud == expected
    if isinstance(aud, list):
        return expected in [a for a in aud if isinstance(a, str)]
    return False
