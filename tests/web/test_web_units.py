"""The web views' defences in isolation: PKCE, state, nonce, sessions, CSRF, cookies,
redirect targets, narratives, languages (src/samhandling/web)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from fixtures.tampering import altered_signature
from samhandling.auth import DevIssuer
from samhandling.auth.dev.authorization import s256
from samhandling.auth.dev.personas import persona
from samhandling.auth.principal import RELATIONS
from samhandling.interactions.web_sessions import SessionRecords
from samhandling.web.display import access_rows, narrative, when
from samhandling.web.oidc import (
    LoginFailed,
    LoginStart,
    OidcClient,
    Tokens,
    dev_provider,
    pkce_pair,
)
from samhandling.web.security import (
    Cookies,
    content_security_policy,
    local_path,
    secure_cookies,
)
from samhandling.web.sessions import (
    IDLE_SECONDS,
    MAX_SECONDS,
    ClinicalContext,
    SessionStore,
    signing_key,
)
from samhandling.web.texts import language, texts


@pytest.fixture
def store(engine: Engine) -> SessionStore:
    return SessionStore(SessionRecords(engine), "the-signing-key")


def start(state: str = "the-state") -> LoginStart:
    verifier, _ = pkce_pair()
    return LoginStart(state, "the-nonce", verifier, "https://issuer/authorize")


def tokens() -> Tokens:
    return Tokens("access", "refresh", time.time() + 300)


def test_pkce_pairs_are_fresh_s256_pairs() -> None:
    pairs = {pkce_pair() for _ in range(50)}
    assert len(pairs) == 50
    for verifier, challenge in pairs:
        assert 43 <= len(verifier) <= 128 and challenge == s256(verifier) != verifier


def test_a_login_is_finished_once_and_only_with_its_state(store: SessionStore) -> None:
    reference = store.begin_login(start(), "/citizen")
    with pytest.raises(KeyError, match="state"):
        store.finish_login(reference, "forged-state")
    with pytest.raises(KeyError, match="no login"):  # a failed attempt used it up
        store.finish_login(reference, "the-state")
    reference = store.begin_login(start(), "/citizen")
    found, back = store.finish_login(reference, "the-state")
    assert found.nonce == "the-nonce" and back == "/citizen"
    with pytest.raises(KeyError):
        store.finish_login(reference, "the-state")
    with pytest.raises(KeyError):
        store.finish_login("never-issued", "the-state")


def test_cookie_values_are_signed_references(engine: Engine) -> None:
    store = SessionStore(SessionRecords(engine), "the-signing-key")
    other = SessionStore(SessionRecords(engine), "another-key")
    session = store.create(tokens())
    value = store.sign(session.id)
    assert "access" not in value and store.unsign(value) == session.id
    assert store.unsign(altered_signature(value)) is None  # altered
    assert other.unsign(value) is None  # signed by another key
    assert store.unsign(value, max_age=-1) is None  # too old
    assert store.unsign(None) is None


def test_sessions_get_new_ids_end_and_time_out(store: SessionStore) -> None:
    now = 1_800_000_000.0
    first, second = store.create(tokens(), now), store.create(tokens(), now)
    assert first.id != second.id and first.csrf != second.csrf
    found = store.get(first.id, now + 10)
    assert found is not None and (found.csrf, found.tokens) == (first.csrf, first.tokens)
    store.end(first)
    assert store.get(first.id, now + 10) is None
    assert store.get(second.id, now + IDLE_SECONDS - 1) is not None  # used: the clock restarts
    assert store.get(second.id, now + 2 * IDLE_SECONDS - 2) is not None
    assert store.get(second.id, now + 3 * IDLE_SECONDS) is None  # idle too long: gone
    third = store.create(tokens(), now)
    for minutes in range(0, MAX_SECONDS // 60, 20):  # in use all day, but not for ever
        assert store.get(third.id, now + minutes * 60) is not None
    assert store.get(third.id, now + MAX_SECONDS + 1) is None


def test_another_node_reads_the_session_and_the_database_holds_no_reference(
    engine: Engine, tmp_path: Path
) -> None:
    """Two stores on one database stand for two nodes: a session made or changed on one
    is the other's; the row holds neither the reference nor a token in the clear."""
    key = signing_key("", tmp_path)
    assert (
        signing_key("", tmp_path) == key
        and (tmp_path / "web-session-key").stat().st_mode & 0o077 == 0
    )
    one, two = (SessionStore(SessionRecords(engine), key) for _ in range(2))
    session = one.create(Tokens("the-access-token", "the-refresh-token", time.time() + 300))
    session.context = ClinicalContext("ETREAT", "Bevisstløs")
    one.save(session)
    seen = two.get(two.unsign(one.sign(session.id)))
    assert seen is not None and seen.context == session.context and seen.csrf == session.csrf
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text("SELECT * FROM web_session"))]
    dumped = repr(rows)
    for secret in (session.id, "the-access-token", "the-refresh-token", "Bevisstløs"):
        assert secret not in dumped
    two.end(seen)  # logged out on one node: gone on the other
    assert one.get(session.id) is None


def test_csrf_tokens_belong_to_their_session(store: SessionStore) -> None:
    mine, theirs = store.create(tokens()), store.create(tokens())
    assert mine.csrf_matches(mine.csrf)
    assert not mine.csrf_matches(theirs.csrf)
    assert not mine.csrf_matches("")
    assert not mine.csrf_matches(None)


def test_cookies_are_secure_except_plain_http_on_loopback() -> None:
    assert Cookies(secure=True).session == "__Host-samhandling-session"
    assert Cookies(secure=False).session == "samhandling-session"
    assert secure_cookies("https://samhandling.example")
    assert secure_cookies("http://samhandling.example")  # never plain on a network
    assert not secure_cookies("http://localhost:8080")
    assert not secure_cookies("http://127.0.0.1:9999")
    assert not secure_cookies("http://[::1]:8080")


def test_redirect_targets_stay_on_the_site() -> None:
    assert local_path("/citizen?patient=x") == "/citizen?patient=x"
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil", "", None, "evil"):
        assert local_path(hostile) == "/"


def test_the_content_security_policy_allows_no_script_and_no_inline_style() -> None:
    policy = content_security_policy()
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy


def test_narratives_lose_scripts_styles_links_and_attributes() -> None:
    div = (
        '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">Penicillin'
        '<script>alert(1)</script><a href="javascript:alert(2)">klikk</a>'
        '<img src="x" onerror="alert(3)"/><span style="color:red">rød</span></p></div>'
    )
    shown = str(narrative({"text": {"div": div}}))
    assert "Penicillin" in shown and "rød" in shown
    for banned in ("script", "onclick", "javascript", "onerror", "<img", "<a ", "style"):
        assert banned not in shown
    assert narrative({}) is None


def test_the_access_log_pages_by_its_after_value() -> None:
    body = {
        "parameter": [
            {"name": "access", "part": [{"name": "action", "valueString": "leste"}]},
            {"name": "next", "valueUri": "http://x/fhir/Patient/p/$access-log?_after=12%3A34"},
        ]
    }
    rows, after = access_rows(body)
    assert rows[0]["action"] == "leste" and rows[0]["role"] is None and after == "12:34"


def test_times_are_shown_in_norwegian_local_time() -> None:
    assert when("2026-07-01T10:00:00+00:00") == "2026-07-01 12:00"
    assert when("2026-01-01T10:00:00Z") == "2026-01-01 11:00"
    assert when("2026-01-01") == "2026-01-01"


def test_the_language_is_the_switch_then_accept_language_then_bokmal() -> None:
    assert language("en", {"accept-language": "nb"}) == "en"
    assert language(None, {"accept-language": "en-GB,en;q=0.9"}) == "en"
    assert language(None, {"accept-language": "nn-NO"}) == "nb"
    assert language("xx", {}) == "nb"


def test_an_id_token_must_carry_the_nonce_the_audience_and_the_issuer(tmp_path: Path) -> None:
    issuer = DevIssuer(tmp_path, "https://issuer.example/dev-issuer")
    provider = dev_provider(issuer.issuer_url, issuer.citizen_issuer_url, issuer.jwks())
    client = OidcClient(provider, "web", "https://web.example/login/callback", secret="s")
    claims = issuer.claims_for(
        persona("citizen"),
        patient_fnr=None,
        purpose=None,
        dpop_jkt=None,
        lifetime=60,
        reason=None,
        scopes=None,
        authorization_details=None,
        client_id="web",
    )
    good = issuer.id_token(claims, "web", "n-1")
    assert client.check_id_token(good, "n-1")["aud"] == "web"
    with pytest.raises(LoginFailed, match="nonce"):
        client.check_id_token(good, "another-login")
    with pytest.raises(LoginFailed, match="another issuer or client"):
        client.check_id_token(issuer.id_token(claims, "other-client", "n-1"), "n-1")
    with pytest.raises(LoginFailed, match="does not verify"):
        client.check_id_token(altered_signature(good), "n-1")
    other = DevIssuer(tmp_path / "other", "https://issuer.example/dev-issuer")
    with pytest.raises(LoginFailed, match="does not verify"):
        client.check_id_token(other.id_token(claims, "web", "n-1"), "n-1")


def test_every_relation_a_token_may_carry_has_words_in_both_languages() -> None:
    """The people a citizen acts for are named by their relation (a parent's child, a power
    of attorney, a guardianship) on the pages, in bokmål and English."""
    for lang in ("nb", "en"):
        words = texts(lang)
        for relation in RELATIONS:
            if relation != "self":
                assert words["relation_" + relation], (lang, relation)
    assert texts("nb")["relation_power-of-attorney"] == "har gitt deg fullmakt"
