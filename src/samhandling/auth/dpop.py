"""DPoP proofs (RFC 9449 §4.3) and the replay cache for their `jti`.

A proof is a JWT with `typ: dpop+jwt`, an allow-listed asymmetric `alg` and the public
key in its `jwk` header; it is signed by that key and carries `jti`, `htm` (the HTTP
method), `htu` (the request URL without query and fragment), `iat` (recent) and, at a
resource server, `ath` = base64url(SHA-256(access token)). Its key thumbprint (RFC 7638)
must equal the token's `cnf.jkt`. A `jti` is accepted once: the replay cache remembers it
for the proof's lifetime. `ReplayCache` is a protocol: the server passes a store shared by
all its worker processes and nodes (the database, `store/dpop_replay.py`); the in-memory
cache here holds within one process only (the development issuer, unit tests).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from joserfc import jwk
from joserfc.errors import JoseError

from samhandling.auth.jose import (
    JoseInvalid,
    check_algorithm,
    numeric,
    peek,
    sha256_b64url,
    typ_matches,
    verify_signature,
)
from samhandling.auth.settings import ALLOWED_ALGORITHMS

DPOP_TYP = "dpop+jwt"
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class DPoPInvalid(ValueError):
    """The DPoP proof was refused; the message is safe to show and log."""


class ReplayCache(Protocol):
    """Remembers seen proof identifiers until they expire."""

    def add(self, key: str, expires_at: float, now: float) -> bool:
        """Remember `key` until `expires_at` (epoch seconds); False if it was seen before and
        has not expired by `now`. Must be atomic across everything sharing the cache."""
        ...


class InMemoryReplayCache:
    """A process-local replay cache with expiry and a size bound (oldest dropped first)."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._entries: dict[str, float] = {}
        self._max = max_entries
        self._lock = threading.Lock()

    def add(self, key: str, expires_at: float, now: float) -> bool:
        """Add `key`; False when it is present and not yet expired."""
        with self._lock:
            seen = self._entries.get(key)
            if seen is not None and seen > now:
                return False
            if len(self._entries) >= self._max:
                self._purge(now)
            self._entries[key] = expires_at
            return True

    def _purge(self, now: float) -> None:
        for k in [k for k, exp in self._entries.items() if exp <= now]:
            del self._entries[k]
        while len(self._entries) >= self._max:
            self._entries.pop(next(iter(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class DPoPProof:
    """A verified proof: the key thumbprint (jkt), jti and issue time."""

    jkt: str
    jti: str
    iat: float
    public_jwk: dict[str, Any]


def normalise_htu(url: str) -> str:
    """Scheme://host[:port]/path — lower-case scheme and host, default port dropped,
    query and fragment removed (RFC 9449 §4.3 and RFC 3986 §6.2.2/6.2.3)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


class DPoPVerifier:
    """Verifies DPoP proofs and refuses replayed ones."""

    def __init__(
        self,
        replay_cache: ReplayCache | None = None,
        *,
        max_age_seconds: int = 120,
        clock_skew_seconds: int = 30,
        algorithms: Collection[str] = ALLOWED_ALGORITHMS,
    ) -> None:
        self.replay_cache: ReplayCache = replay_cache or InMemoryReplayCache()
        self.max_age = max_age_seconds
        self.skew = clock_skew_seconds
        self.algorithms = tuple(algorithms)

    def verify(
        self,
        proof: str,
        *,
        method: str,
        url: str,
        now: float,
        access_token: str | None = None,
        expected_jkt: str | None = None,
    ) -> DPoPProof:
        """Check the proof for this request; DPoPInvalid with a safe reason otherwise."""
        if not proof or "," in proof or " " in proof.strip():
            raise DPoPInvalid("exactly one DPoP proof header is required")
        key, alg, public = self._key_of(proof)
        try:
            claims = verify_signature(proof, key, alg)
        except JoseInvalid as exc:
            raise DPoPInvalid("DPoP proof signature is invalid") from exc
        jti, iat = self._check_claims(claims, method=method, url=url, now=now)
        if access_token is not None and not _same(claims.get("ath"), sha256_b64url(access_token)):
            raise DPoPInvalid("DPoP proof ath does not match the access token")
        jkt = key.thumbprint()
        if expected_jkt is not None and not _same(jkt, expected_jkt):
            raise DPoPInvalid("DPoP proof key does not match the token binding (cnf.jkt)")
        replay_key = hashlib.sha256(f"{jkt}|{jti}".encode()).hexdigest()
        if not self.replay_cache.add(replay_key, iat + self.max_age + 2 * self.skew, now):
            raise DPoPInvalid("DPoP proof has been used before (jti replay)")
        return DPoPProof(jkt=jkt, jti=jti, iat=iat, public_jwk=public)

    def _key_of(self, proof: str) -> tuple[jwk.Key, str, dict[str, Any]]:
        try:
            unverified = peek(proof.strip())
            alg = check_algorithm(unverified.header, self.algorithms)
        except JoseInvalid as exc:
            raise DPoPInvalid(f"malformed DPoP proof: {exc}") from exc
        if not typ_matches(unverified.header, (DPOP_TYP,)):
            raise DPoPInvalid("DPoP proof typ must be dpop+jwt")
        public = unverified.header.get("jwk")
        if not isinstance(public, dict) or any(m in public for m in _PRIVATE_MEMBERS):
            raise DPoPInvalid("DPoP proof needs a public jwk header")
        try:
            key = jwk.import_key(public)
        except (JoseError, ValueError, TypeError) as exc:
            raise DPoPInvalid("DPoP proof jwk is not a usable key") from exc
        if key.key_type not in ("RSA", "EC"):
            raise DPoPInvalid("DPoP proof key type is not accepted")
        return key, alg, public

    def _check_claims(
        self, claims: dict[str, Any], *, method: str, url: str, now: float
    ) -> tuple[str, float]:
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
            raise DPoPInvalid("DPoP proof jti is missing or malformed")
        if claims.get("htm") != method.upper():
            raise DPoPInvalid("DPoP proof htm does not match the request method")
        if not _same_url(claims.get("htu"), url):
            raise DPoPInvalid("DPoP proof htu does not match the request URL")
        try:
            iat = numeric(claims, "iat")
        except JoseInvalid as exc:
            raise DPoPInvalid("DPoP proof iat is not a number") from exc
        if iat is None:
            raise DPoPInvalid("DPoP proof has no iat")
        if iat > now + self.skew or iat < now - self.max_age - self.skew:
            raise DPoPInvalid("DPoP proof iat is outside the accepted window")
        return jti, iat


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and hmac.compare_digest(a.encode(), b.encode())


def _same_url(htu: Any, url: str) -> bool:
    if not isinstance(htu, str):
        return False
    try:
        return normalise_htu(htu) == normalise_htu(url)
    except ValueError:
        return False
