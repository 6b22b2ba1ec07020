"""Authentication at hand (on the event loop, no I/O): only a remembered Bearer token whose
issuer's keys need no fetching; everything else is left to the full check (issue 24)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from authkit import EC_KEY, HPR, JWKS_URI, RSA_KEY, URL, settings, token
from test_auth_jwks import FakeIssuer, bearer, remote_settings
from test_auth_token_memory import SwappableKeys

from samhandling.auth import Authenticator, AuthError, Principal
from samhandling.auth import authenticator as authenticator_module
from samhandling.auth.jwks import RemoteJwks
from samhandling.auth.tokens import TokenVerifier


def test_a_new_token_is_left_to_the_full_check_then_recalled_at_hand() -> None:
    auth = Authenticator(settings())
    value = token()
    assert auth.authenticate_at_hand("GET", URL, bearer(value)) is None
    checked = auth.authenticate("GET", URL, bearer(value))
    at_hand = auth.authenticate_at_hand("GET", URL, bearer(value))
    assert at_hand is not None
    assert at_hand == checked
    assert at_hand.hpr_number == HPR


def test_a_dpop_request_is_never_authenticated_at_hand() -> None:
    """Its proof's replay check is stored in the database: I/O, so a worker thread's job."""
    auth = Authenticator(settings())
    value = token()
    auth.authenticate("GET", URL, bearer(value))
    assert auth.authenticate_at_hand("GET", URL, {"Authorization": f"DPoP {value}"}) is None


def test_a_remembered_token_still_expires_at_hand() -> None:
    now = [time.time()]
    auth = Authenticator(settings(), clock=lambda: now[0])
    value = token()
    auth.authenticate("GET", URL, bearer(value))
    now[0] += 600 + auth.settings.clock_skew_seconds + 1
    with pytest.raises(AuthError) as refused:
        auth.authenticate_at_hand("GET", URL, bearer(value))
    assert (refused.value.status, refused.value.issue_code) == (401, "expired")
    assert auth.authenticate_at_hand("GET", URL, bearer(value)) is None  # forgotten


def test_malformed_credentials_are_refused_at_hand() -> None:
    with pytest.raises(AuthError) as refused:
        Authenticator(settings()).authenticate_at_hand("GET", URL, {"Authorization": "Basic x"})
    assert refused.value.status == 401


def test_stale_remote_keys_are_not_at_hand() -> None:
    """When the issuer's key set must be fetched again, only the full check may do it."""
    fake = FakeIssuer(RSA_KEY)
    now = [0.0]
    source = RemoteJwks(JWKS_URI, fake.client(), max_age_seconds=100, clock=lambda: now[0])
    assert source.key_at_hand(RSA_KEY.kid) is None  # never fetched
    source.get_key(RSA_KEY.kid)
    assert source.key_at_hand(RSA_KEY.kid) is not None
    now[0] = 150
    assert source.key_at_hand(RSA_KEY.kid) is None
    assert fake.requests == 1  # key_at_hand fetched nothing


def test_remote_issuer_tokens_are_recalled_at_hand_while_the_keys_are_fresh() -> None:
    fake = FakeIssuer(RSA_KEY)
    auth = Authenticator(remote_settings(), http_client=fake.client())
    value = token()
    auth.authenticate("GET", URL, bearer(value))
    assert auth.authenticate_at_hand("GET", URL, bearer(value)) is not None
    assert fake.requests == 1


def test_the_principal_is_built_once_per_remembered_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    original = authenticator_module.principal_from_claims

    def counted(*args: Any, **kwargs: Any) -> Principal:
        built.append("built")
        return original(*args, **kwargs)

    monkeypatch.setattr(authenticator_module, "principal_from_claims", counted)
    now = [time.time()]
    auth = Authenticator(settings(), clock=lambda: now[0])
    value = token()
    first = auth.authenticate("GET", URL, bearer(value))
    again = auth.authenticate_at_hand("GET", URL, bearer(value))
    assert again is first and built == ["built"]
    assert auth.authenticate("GET", URL, bearer(value)) is first and built == ["built"]
    now[0] += 600 + auth.settings.clock_skew_seconds + 1  # expired: refused, not recalled
    with pytest.raises(AuthError) as refused:
        auth.authenticate_at_hand("GET", URL, bearer(value))
    assert refused.value.issue_code == "expired"


def test_a_key_set_without_the_key_forgets_the_principal() -> None:
    keys = SwappableKeys(RSA_KEY)
    auth = Authenticator(settings())
    auth.tokens = TokenVerifier(auth.settings, dict.fromkeys(auth.key_sources, keys))
    value = token()
    first = auth.authenticate("GET", URL, bearer(value))
    assert auth.authenticate_at_hand("GET", URL, bearer(value)) is first
    keys.swap(EC_KEY)  # the issuer revoked RSA_KEY
    assert auth.authenticate_at_hand("GET", URL, bearer(value)) is None
    with pytest.raises(AuthError):
        auth.authenticate("GET", URL, bearer(value))
    assert len(auth.tokens.memory) == 0
    keys.swap(RSA_KEY)  # served again: verified anew, its principal built anew
    anew = auth.authenticate("GET", URL, bearer(value))
    assert anew == first and anew is not first
