"""DPoP (RFC 9449): bound tokens need a matching, fresh, unreplayed proof."""

from __future__ import annotations

import time

import pytest
from authkit import DPOP_KEY, OTHER_DPOP_KEY, URL, proof, settings, token
from joserfc import jwt

from samhandling.auth import Authenticator, AuthError, InMemoryReplayCache, Principal
from samhandling.auth.dpop import normalise_htu

JKT = DPOP_KEY.thumbprint()


def bound_token() -> str:
    return token(cnf={"jkt": JKT})


def call(
    auth: Authenticator,
    value: str,
    dpop: str | None,
    *,
    method: str = "GET",
    url: str = URL,
    scheme: str = "DPoP",
) -> Principal:
    headers = {"Authorization": f"{scheme} {value}"}
    if dpop is not None:
        headers["DPoP"] = dpop
    return auth.authenticate(method, url, headers)


def refused(auth: Authenticator, value: str, dpop: str | None, **kw: str) -> AuthError:
    with pytest.raises(AuthError) as info:
        call(auth, value, dpop, **kw)
    assert info.value.status == 401
    challenge = info.value.www_authenticate or ""
    assert "DPoP" in challenge
    if dpop:
        assert dpop not in challenge and dpop not in info.value.description
    return info.value


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator(settings())


def test_bound_token_with_valid_proof(auth: Authenticator) -> None:
    value = bound_token()
    principal = call(auth, value, proof(access_token=value))
    assert principal.dpop_jkt == JKT


def test_rsa_proof_key_is_accepted(auth: Authenticator) -> None:
    from authkit import OTHER_RSA_KEY

    value = token(cnf={"jkt": OTHER_RSA_KEY.thumbprint()})
    call(auth, value, proof(OTHER_RSA_KEY, access_token=value))


def test_htu_ignores_query_and_normalises_host_and_port(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(access_token=value, url="HTTPS://FHIR.test:443/fhir/Observation")
    call(auth, value, dpop, url=URL + "?patient=123#x")


def test_proof_for_another_url(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(access_token=value, url="https://fhir.test/fhir/Patient")
    assert "htu" in refused(auth, value, dpop).description


def test_proof_for_another_method(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(access_token=value, method="POST")
    assert "htm" in refused(auth, value, dpop).description


def test_replayed_jti(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(access_token=value)
    call(auth, value, dpop)
    error = refused(auth, value, dpop)
    assert "replay" in error.description
    assert 'error="invalid_dpop_proof"' in (error.www_authenticate or "")


def test_same_jti_in_a_new_proof_is_also_replay(auth: Authenticator) -> None:
    value = bound_token()
    call(auth, value, proof(access_token=value, jti="fixed-jti-0001"))
    refused(auth, value, proof(access_token=value, jti="fixed-jti-0001"))


def test_bound_token_presented_as_bearer(auth: Authenticator) -> None:
    value = bound_token()
    with pytest.raises(AuthError) as info:
        call(auth, value, proof(access_token=value), scheme="Bearer")
    assert "presented as Bearer" in info.value.description


def test_bound_token_without_proof(auth: Authenticator) -> None:
    assert "missing" in refused(auth, bound_token(), None).description


def test_proof_signed_by_another_key_than_cnf_jkt(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(OTHER_DPOP_KEY, access_token=value)
    assert "cnf.jkt" in refused(auth, value, dpop).description


def test_proof_whose_jwk_header_is_not_the_signing_key(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(OTHER_DPOP_KEY, access_token=value, embed=DPOP_KEY)
    assert "signature" in refused(auth, value, dpop).description


def test_ath_mismatch(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(access_token=bound_token())
    assert "ath" in refused(auth, value, dpop).description


def test_missing_ath(auth: Authenticator) -> None:
    value = bound_token()
    assert "ath" in refused(auth, value, proof()).description


def test_stale_iat(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(access_token=value, iat=time.time() - 600)
    assert "iat" in refused(auth, value, dpop).description


def test_future_iat(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(access_token=value, iat=time.time() + 600)
    assert "iat" in refused(auth, value, dpop).description


def test_wrong_proof_typ(auth: Authenticator) -> None:
    value = bound_token()
    assert "typ" in refused(auth, value, proof(access_token=value, typ="JWT")).description


def test_private_key_in_proof_header(auth: Authenticator) -> None:
    value = bound_token()
    body = {"jti": "x" * 16, "htm": "GET", "htu": URL, "iat": int(time.time())}
    head = {"alg": "ES256", "typ": "dpop+jwt", "jwk": DPOP_KEY.as_dict(private=True)}
    dpop = jwt.encode(head, body, DPOP_KEY, algorithms=["ES256"])
    assert "public jwk" in refused(auth, value, dpop).description


def test_two_proofs_joined_are_refused(auth: Authenticator) -> None:
    value = bound_token()
    dpop = proof(access_token=value)
    refused(auth, value, dpop + ", " + dpop)


def test_dpop_scheme_with_unbound_token(auth: Authenticator) -> None:
    value = token()
    assert "not DPoP-bound" in refused(auth, value, proof(access_token=value)).description


def test_shared_replay_store_is_used() -> None:
    class Store:
        def __init__(self) -> None:
            self.keys: dict[str, float] = {}

        def add(self, key: str, expires_at: float, now: float) -> bool:
            if key in self.keys:
                return False
            self.keys[key] = expires_at
            return True

    store = Store()
    node_a = Authenticator(settings(), replay_cache=store)
    node_b = Authenticator(settings(), replay_cache=store)
    value = bound_token()
    dpop = proof(access_token=value)
    call(node_a, value, dpop)
    refused(node_b, value, dpop)
    assert len(store.keys) == 1
    assert all(len(k) == 64 for k in store.keys)  # hashed: no jti or key material stored


def test_in_memory_replay_cache_expiry_and_bound() -> None:
    cache = InMemoryReplayCache(max_entries=3)
    assert cache.add("a", 1010, now=1000)
    assert not cache.add("a", 1010, now=1000)
    assert cache.add("a", 1020, now=1011)
    for key in "bcd":
        assert cache.add(key, 1100, now=1011)
    assert len(cache) <= 3


def test_normalise_htu() -> None:
    assert normalise_htu("HTTP://Example.COM:80/a?b#c") == "http://example.com/a"
    assert normalise_htu("https://example.com:8443") == "https://example.com:8443/"
