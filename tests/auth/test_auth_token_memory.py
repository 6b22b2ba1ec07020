"""Remembered tokens: a verified token skips the signature check next time, never the rest."""

from __future__ import annotations

import time

import pytest
from authkit import EC_KEY, ISSUER, RSA_KEY, jwks_of, settings, token
from joserfc import jwk

from samhandling.auth.jwks import StaticKeySource
from samhandling.auth.tokens import TokenInvalid, TokenVerifier, VerifiedTokens


class SwappableKeys:
    """A key source whose key set the test replaces, as a JWKS refresh would."""

    def __init__(self, *keys: jwk.Key) -> None:
        self.source = StaticKeySource(jwks_of(*keys))

    def swap(self, *keys: jwk.Key) -> None:
        self.source = StaticKeySource(jwks_of(*keys))

    def get_key(self, kid: str | None) -> jwk.Key:
        return self.source.get_key(kid)

    def key_at_hand(self, kid: str | None) -> jwk.Key | None:
        return self.source.key_at_hand(kid)


def _verifier(keys: SwappableKeys, size: int = 16) -> TokenVerifier:
    auth = settings()
    sources = {ISSUER: keys, **{i.issuer: keys for i in auth.issuers if i.issuer != ISSUER}}
    return TokenVerifier(auth, sources, VerifiedTokens(size))


def test_a_verified_token_is_remembered_and_recalled() -> None:
    verifier = _verifier(SwappableKeys(RSA_KEY))
    value, now = token(), time.time()
    first = verifier.verify(value, now)
    assert len(verifier.memory) == 1
    assert verifier.verify(value, now + 1) is first


def test_a_remembered_token_still_expires() -> None:
    verifier = _verifier(SwappableKeys(RSA_KEY))
    value, now = token(), time.time()
    verifier.verify(value, now)
    with pytest.raises(TokenInvalid) as refused:
        verifier.verify(value, now + 600 + verifier.settings.clock_skew_seconds)
    assert refused.value.expired
    assert len(verifier.memory) == 0


def test_a_key_dropped_by_the_issuer_refuses_its_remembered_tokens() -> None:
    keys = SwappableKeys(RSA_KEY, EC_KEY)
    verifier = _verifier(keys)
    value, now = token(), time.time()
    verifier.verify(value, now)
    keys.swap(EC_KEY)  # the issuer rotated RSA_KEY out
    with pytest.raises(TokenInvalid, match="signing key"):
        verifier.verify(value, now)
    assert len(verifier.memory) == 0


def test_a_refreshed_key_set_verifies_the_token_anew() -> None:
    keys = SwappableKeys(RSA_KEY)
    verifier = _verifier(keys)
    value, now = token(), time.time()
    first = verifier.verify(value, now)
    keys.swap(RSA_KEY)  # the same key, fetched again: new key objects
    again = verifier.verify(value, now)
    assert again is not first and again.claims == first.claims
    assert verifier.verify(value, now) is again


def test_a_token_with_another_signature_is_not_recalled() -> None:
    verifier = _verifier(SwappableKeys(RSA_KEY))
    value, now = token(), time.time()
    verifier.verify(value, now)
    head, body, signature = value.split(".")
    forged = f"{head}.{body}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(TokenInvalid, match="signature"):
        verifier.verify(forged, now)


def test_the_memory_is_bounded() -> None:
    verifier = _verifier(SwappableKeys(RSA_KEY), size=2)
    now = time.time()
    for _ in range(3):
        verifier.verify(token(), now)
    assert len(verifier.memory) == 2


def test_size_zero_remembers_nothing() -> None:
    verifier = _verifier(SwappableKeys(RSA_KEY), size=0)
    verifier.verify(token(), time.time())
    assert len(verifier.memory) == 0
