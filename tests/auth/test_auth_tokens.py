"""Access-token verification: every way a token can be bad is a 401 with a challenge."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from authkit import (
    AUDIENCE,
    CITIZEN_ISSUER,
    EC_KEY,
    OTHER_RSA_KEY,
    RSA_KEY,
    URL,
    claims,
    settings,
    token,
)
from joserfc import jwt

from samhandling.auth import Authenticator, AuthError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(obj: dict[str, object]) -> str:
    return _b64(json.dumps(obj).encode())


def authenticate(value: str | None, scheme: str = "Bearer", **kw: object) -> object:
    auth = Authenticator(settings(**kw))
    headers = {"Authorization": f"{scheme} {value}"} if value is not None else {}
    return auth.authenticate("GET", URL, headers)


def refused(value: str | None, scheme: str = "Bearer", **kw: object) -> AuthError:
    with pytest.raises(AuthError) as info:
        authenticate(value, scheme, **kw)
    error = info.value
    assert error.status == 401
    assert error.www_authenticate
    if value:
        assert value not in error.description
        assert value not in error.www_authenticate
    return error


def test_valid_rs256_token_is_accepted() -> None:
    principal = authenticate(token())
    assert principal.kind == "clinician"  # type: ignore[attr-defined]


@pytest.mark.parametrize("alg,key", [("PS256", RSA_KEY), ("ES256", EC_KEY)])
def test_ps256_and_es256_are_accepted(alg: str, key: object) -> None:
    assert authenticate(token(key, alg)).hpr_number == "9100001"  # type: ignore[attr-defined, arg-type]


def test_no_token_gives_challenge_without_error_code() -> None:
    error = refused(None)
    assert error.www_authenticate == (
        'Bearer realm="samhandling", DPoP realm="samhandling", algs="ES256 PS256 RS256"'
    )


def test_malformed_authorization_header() -> None:
    with pytest.raises(AuthError) as info:
        Authenticator(settings()).authenticate("GET", URL, {"authorization": "Basic dXNlcjpwdw=="})
    assert info.value.status == 401
    assert 'error="invalid_request"' in (info.value.www_authenticate or "")


def test_expired_token() -> None:
    now = int(time.time())
    error = refused(token(iat=now - 7200, nbf=now - 7200, exp=now - 3600))
    assert "expired" in error.description
    assert error.issue_code == "expired"
    assert 'Bearer realm="samhandling", error="invalid_token"' in (error.www_authenticate or "")


def test_expiry_within_clock_skew_is_accepted() -> None:
    now = int(time.time())
    authenticate(token(iat=now - 600, nbf=now - 600, exp=now - 10))


def test_token_without_exp_is_refused() -> None:
    assert "exp" in refused(token(exp=None)).description


def test_not_yet_valid_token() -> None:
    now = int(time.time())
    assert "nbf" in refused(token(nbf=now + 600, iat=now, exp=now + 1200)).description


def test_token_issued_in_the_future() -> None:
    now = int(time.time())
    assert "iat" in refused(token(nbf=None, iat=now + 600, exp=now + 1200)).description


def test_too_long_lifetime() -> None:
    now = int(time.time())
    refused(token(exp=now + 3 * 86400))


def test_token_without_iat_is_refused() -> None:
    """Issue 16 #6: without iat and nbf a ten-year token escaped the lifetime bound."""
    now = int(time.time())
    assert "iat" in refused(token(iat=None, nbf=None, exp=now + 10 * 365 * 86400)).description
    assert "iat" in refused(token(iat=None, exp=now + 600)).description


def test_wrong_issuer() -> None:
    assert "issuer" in refused(token(iss="https://evil.test")).description


def test_issuer_kind_mismatch_token_type() -> None:
    refused(token(header={"typ": "JWT"}))


@pytest.mark.parametrize("typ", ["dpop+jwt", "client-authentication+jwt", None])
def test_wrong_or_missing_typ(typ: str | None) -> None:
    head = {"alg": "RS256", "kid": RSA_KEY.kid}
    if typ:
        head["typ"] = typ
    value = jwt.encode(head, claims(), RSA_KEY, algorithms=["RS256"], default_type=None)
    assert "typ" in refused(value).description


def test_wrong_audience() -> None:
    assert "audience" in refused(token(aud="another-api")).description


def test_audience_list_containing_ours_is_accepted() -> None:
    authenticate(token(aud=["other", AUDIENCE]))


def test_alg_none_is_refused() -> None:
    value = f"{_segment({'alg': 'none', 'typ': 'at+jwt'})}.{_segment(claims())}."
    refused(value)
    value_sig = f"{_segment({'alg': 'none', 'typ': 'at+jwt'})}.{_segment(claims())}.x"
    assert "algorithm" in refused(value_sig).description


def test_hs256_signed_with_the_rsa_public_key_is_refused() -> None:
    public_pem = RSA_KEY.as_pem(private=False)
    signing_input = (
        f"{_segment({'alg': 'HS256', 'kid': RSA_KEY.kid, 'typ': 'at+jwt'})}.{_segment(claims())}"
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert "algorithm" in refused(f"{signing_input}.{_b64(mac)}").description


def test_algorithm_confusion_es256_header_with_rsa_kid() -> None:
    good = token()
    _header, payload, signature = good.split(".")
    forged = (
        f"{_segment({'alg': 'ES256', 'kid': RSA_KEY.kid, 'typ': 'at+jwt'})}.{payload}.{signature}"
    )
    refused(forged)


def test_unknown_kid_with_static_keys() -> None:
    assert "kid" in refused(token(OTHER_RSA_KEY)).description


def test_tampered_payload() -> None:
    header, _, signature = token().split(".")
    tampered = claims(**{"helseid://claims/hpr/hpr_number": "9999999"})
    assert "signature" in refused(f"{header}.{_segment(tampered)}.{signature}").description


def test_signed_by_another_key_with_our_kid() -> None:
    value = jwt.encode(
        {"alg": "RS256", "kid": RSA_KEY.kid, "typ": "at+jwt"},
        claims(),
        OTHER_RSA_KEY,
        algorithms=["RS256"],
    )
    assert "signature" in refused(value).description


def test_garbage_tokens() -> None:
    for value in ["abc", "a.b.c", "e30.e30.", "W10.e30.c2ln"]:
        refused(value)


def test_crit_header_is_refused() -> None:
    refused(token(header={"crit": ["kid"]}))


def test_bearer_refused_when_dpop_required() -> None:
    error = refused(token(), require_dpop=True)
    assert (error.www_authenticate or "").startswith("DPoP ")


def test_citizen_token_from_idporten_like_issuer() -> None:
    value = token(
        iss=CITIZEN_ISSUER,
        pid="05858540072",
        acr="idporten-loa-high",
        scope="patient/*.rs",
        **{"helseid://claims/identity/pid": None, "nhn:tillitsrammeverk:parameters": None},
    )
    principal = authenticate(value)
    assert principal.kind == "citizen"  # type: ignore[attr-defined]
    assert principal.security_level == 4  # type: ignore[attr-defined]


def test_person_token_without_valid_pid_is_refused() -> None:
    value = token(iss=CITIZEN_ISSUER, pid="123", **{"helseid://claims/identity/pid": None})
    assert "person identifier" in refused(value).description


def test_error_carries_operation_outcome() -> None:
    error = refused(token(aud="x"))
    outcome = error.outcome()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "login"
    assert error.headers["WWW-Authenticate"] == error.www_authenticate
