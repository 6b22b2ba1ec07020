"""JWKS fetching and caching against a fake remote issuer (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest
from authkit import AUDIENCE, EC_KEY, ISSUER, JWKS_URI, OTHER_RSA_KEY, RSA_KEY, URL, jwks_of, token
from joserfc import jwk

from samhandling.auth import Authenticator, AuthError, AuthSettings, TrustedIssuer
from samhandling.auth.jwks import KeyNotFound, KeysUnavailable, RemoteJwks, StaticKeySource


class FakeIssuer:
    """Serves a JWKS that the test can rotate, counting requests."""

    def __init__(self, *keys: jwk.Key) -> None:
        self.document = jwks_of(*keys)
        self.requests = 0
        self.fail = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URI
        self.requests += 1
        if self.fail:
            return httpx.Response(500)
        return httpx.Response(200, json=self.document)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


def remote_settings(**kw: object) -> AuthSettings:
    issuer = TrustedIssuer(ISSUER, JWKS_URI, "helseid")
    return AuthSettings(issuers=(issuer,), audience=AUDIENCE, **kw)  # type: ignore[arg-type]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_keys_are_fetched_once_and_cached() -> None:
    fake = FakeIssuer(RSA_KEY)
    auth = Authenticator(remote_settings(), http_client=fake.client())
    for _ in range(3):
        auth.authenticate("GET", URL, bearer(token()))
    assert fake.requests == 1


def test_unknown_kid_refreshes_once_then_401() -> None:
    fake = FakeIssuer(RSA_KEY)
    auth = Authenticator(remote_settings(), http_client=fake.client())
    auth.authenticate("GET", URL, bearer(token()))
    for _ in range(3):
        with pytest.raises(AuthError) as info:
            auth.authenticate("GET", URL, bearer(token(OTHER_RSA_KEY)))
        assert info.value.status == 401
        assert "kid" in info.value.description
    assert fake.requests == 2  # the initial fetch and one rate-limited refresh


def test_rotated_key_is_picked_up_on_unknown_kid() -> None:
    fake = FakeIssuer(RSA_KEY)
    auth = Authenticator(remote_settings(jwks_min_refresh_seconds=0), http_client=fake.client())
    auth.authenticate("GET", URL, bearer(token()))
    fake.document = jwks_of(RSA_KEY, EC_KEY)
    principal = auth.authenticate("GET", URL, bearer(token(EC_KEY, "ES256")))
    assert principal.hpr_number == "9100001"
    assert fake.requests == 2


def test_refresh_is_allowed_again_after_the_interval() -> None:
    fake = FakeIssuer(RSA_KEY)
    now = [0.0]
    source = RemoteJwks(JWKS_URI, fake.client(), min_refresh_seconds=60, clock=lambda: now[0])
    source.get_key(RSA_KEY.kid)
    with pytest.raises(KeyNotFound):
        source.get_key("unknown")
    with pytest.raises(KeyNotFound):
        source.get_key("unknown")
    assert fake.requests == 2
    now[0] = 61
    with pytest.raises(KeyNotFound):
        source.get_key("unknown")
    assert fake.requests == 3


def test_cache_expires_after_max_age() -> None:
    fake = FakeIssuer(RSA_KEY)
    now = [0.0]
    source = RemoteJwks(JWKS_URI, fake.client(), max_age_seconds=100, clock=lambda: now[0])
    source.get_key(RSA_KEY.kid)
    now[0] = 150
    source.get_key(RSA_KEY.kid)
    assert fake.requests == 2


def test_stale_keys_serve_while_the_issuer_is_down() -> None:
    fake = FakeIssuer(RSA_KEY)
    now = [0.0]
    source = RemoteJwks(JWKS_URI, fake.client(), max_age_seconds=100, clock=lambda: now[0])
    source.get_key(RSA_KEY.kid)
    fake.fail = True
    now[0] = 150
    assert source.get_key(RSA_KEY.kid).kid == RSA_KEY.kid
    now[0] = 500
    with pytest.raises(KeysUnavailable):
        source.get_key(RSA_KEY.kid)


def test_issuer_down_at_start_is_503() -> None:
    fake = FakeIssuer(RSA_KEY)
    fake.fail = True
    auth = Authenticator(remote_settings(), http_client=fake.client())
    with pytest.raises(AuthError) as info:
        auth.authenticate("GET", URL, bearer(token()))
    assert info.value.status == 503
    with pytest.raises(AuthError):
        auth.authenticate("GET", URL, bearer(token()))
    assert fake.requests == 1  # rate-limited: no hammering of a failing issuer


def test_unusable_and_symmetric_keys_in_a_jwks_are_ignored() -> None:
    document = jwks_of(RSA_KEY)
    document["keys"].append({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"})
    document["keys"].append({"kty": "RSA", "kid": "broken", "n": "AQAB"})
    document["keys"].append({**EC_KEY.as_dict(private=False), "use": "enc"})
    source = StaticKeySource(document)
    assert source.get_key(RSA_KEY.kid)
    for kid in ("hmac", "broken", EC_KEY.kid):
        with pytest.raises(KeyNotFound):
            source.get_key(kid)


def test_token_without_kid_uses_the_only_key() -> None:
    source = StaticKeySource(jwks_of(RSA_KEY))
    assert source.get_key(None).kid == RSA_KEY.kid
    with pytest.raises(KeyNotFound):
        StaticKeySource(jwks_of(RSA_KEY, EC_KEY)).get_key(None)


def test_remote_jwks_must_use_https() -> None:
    with pytest.raises(ValueError):
        TrustedIssuer(ISSUER, "http://helseid.test/jwks", "helseid")
    TrustedIssuer(ISSUER, "http://localhost:8080/dev-issuer/jwks", "helseid")
    with pytest.raises(ValueError):
        TrustedIssuer(ISSUER, None, "helseid")
