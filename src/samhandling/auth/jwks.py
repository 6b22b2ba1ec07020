"""Signing keys of trusted issuers: a static key set, or a remote JWKS fetched with httpx.

The remote source caches the key set, refetches it when it is older than `max_age`, and on
an unknown `kid` refetches at most once per `min_refresh` seconds (so a flood of tokens
with made-up kids cannot hammer the issuer); a failing issuer is also retried at most once
per `min_refresh` seconds. When a refresh fails, the stale keys keep
serving until `max_age` × 4; after that verification fails with 503.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx
from joserfc import jwk
from joserfc.errors import JoseError

log = logging.getLogger(__name__)

_SIGNING_KTYS = ("RSA", "EC")


class KeyNotFound(LookupError):
    """No key in the issuer's key set matches the token's `kid`."""


class KeysUnavailable(RuntimeError):
    """The issuer's key set could not be fetched and no usable cached copy exists."""


class KeySource(Protocol):
    """Where the verifier finds an issuer's public keys."""

    def get_key(self, kid: str | None) -> jwk.Key:
        """The public key with this kid (or the only key when kid is None)."""
        ...

    def key_at_hand(self, kid: str | None) -> jwk.Key | None:
        """The key `get_key` would give when it can be given without fetching anything
        (safe on the event loop); None when only `get_key` can say."""
        ...


def parse_jwks(document: Mapping[str, Any]) -> dict[str, jwk.Key]:
    """Public signing keys of a JWKS by kid; keys that are unusable are skipped."""
    keys: dict[str, jwk.Key] = {}
    raw = document.get("keys")
    if not isinstance(raw, list):
        raise ValueError("JWKS has no 'keys' list")
    for entry in raw:
        if not isinstance(entry, dict) or entry.get("kty") not in _SIGNING_KTYS:
            continue
        if entry.get("use", "sig") != "sig":
            continue
        public = {k: v for k, v in entry.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        try:
            key = jwk.import_key(public)
        except (JoseError, ValueError, TypeError):
            log.warning("skipping an unusable key in a JWKS (kid=%s)", entry.get("kid"))
            continue
        key.ensure_kid()
        keys[str(key.kid)] = key
    return keys


def _pick(keys: Mapping[str, jwk.Key], kid: str | None) -> jwk.Key | None:
    if kid is None:
        return next(iter(keys.values())) if len(keys) == 1 else None
    return keys.get(kid)


class StaticKeySource:
    """Keys given up front (the development issuer, tests, pinned keys)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._keys = parse_jwks(document)

    def get_key(self, kid: str | None) -> jwk.Key:
        """The key with this kid, else KeyNotFound."""
        key = _pick(self._keys, kid)
        if key is None:
            raise KeyNotFound(kid)
        return key

    def key_at_hand(self, kid: str | None) -> jwk.Key | None:
        """The key with this kid, or None."""
        return _pick(self._keys, kid)


class RemoteJwks:
    """A JWKS fetched from `uri`, cached, refreshed on unknown kid (rate-limited)."""

    def __init__(
        self,
        uri: str,
        client: httpx.Client,
        *,
        min_refresh_seconds: float = 60,
        max_age_seconds: float = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uri = uri
        self._client = client
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._keys: dict[str, jwk.Key] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._kid_refresh_at: float | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0

    def get_key(self, kid: str | None) -> jwk.Key:
        """The key with this kid; refetches when stale or when the kid is unknown."""
        with self._lock:
            if self._is_stale():
                if self._may_refresh(self._attempted_at):
                    self._refresh()
                if not self._usable():
                    raise KeysUnavailable(self.uri)
            key = _pick(self._keys, kid)
            if key is None and self._may_refresh(self._kid_refresh_at):
                self._kid_refresh_at = self._clock()
                self._refresh()
                key = _pick(self._keys, kid)
        if key is None:
            raise KeyNotFound(kid)
        return key

    def key_at_hand(self, kid: str | None) -> jwk.Key | None:
        """The cached key with this kid while the cache is fresh; None when `get_key` would
        have to fetch (stale, or the kid unknown)."""
        with self._lock:
            return None if self._is_stale() else _pick(self._keys, kid)

    def _is_stale(self) -> bool:
        age = self._age()
        return age is None or age >= self._max_age

    def _age(self) -> float | None:
        return None if self._fetched_at is None else self._clock() - self._fetched_at

    def _usable(self) -> bool:
        age = self._age()
        return age is not None and age < self._max_age * 4

    def _may_refresh(self, last: float | None) -> bool:
        return last is None or self._clock() - last >= self._min_refresh

    def _refresh(self) -> None:
        self._attempted_at = self._clock()
        self.fetch_count += 1
        try:
            response = self._client.get(self.uri, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("could not fetch JWKS from %s: %s", self.uri, type(exc).__name__)
            return
        self._keys = keys
        self._fetched_at = self._clock()
        log.info("fetched JWKS from %s (%d keys)", self.uri, len(keys))
