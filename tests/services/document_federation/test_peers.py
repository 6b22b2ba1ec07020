"""The peers file, the gateway's client assertions and its content links."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwk

from fixtures.fhir_app import app_settings
from samhandling.api.app import create_app
from samhandling.auth.dev.issuer import DevIssuer
from samhandling.auth.jose import peek
from samhandling.config import settings_from_env, settings_to_env
from samhandling.services.document_federation import gateway_of
from samhandling.services.document_federation.content_links import ContentLinks
from samhandling.services.document_federation.peer_tokens import client_assertion
from samhandling.services.document_federation.peers import (
    PeerConfigurationError,
    load_peers,
)
from samhandling.services.search_federation import NO_FEDERATION

KEY = jwk.ECKey.generate_key("P-256", auto_kid=True)


def peers_file(tmp_path: Path, *entries: dict[str, Any]) -> Path:
    (tmp_path / "peer.jwk.json").write_text(json.dumps(KEY.as_dict(private=True)))
    path = tmp_path / "peers.json"
    path.write_text(json.dumps({"peers": list(entries)}))
    return path


def entry(**changes: Any) -> dict[str, Any]:
    value = {
        "name": "area-a",
        "base_url": "http://127.0.0.1:8081/fhir/",
        "token_url": "http://127.0.0.1:8081/dev-issuer/token",
        "client_id": "federation-b",
        "private_key_file": "peer.jwk.json",
        "timeout_seconds": 2,
    }
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


def test_a_peer_is_read_with_its_key_which_never_shows(tmp_path: Path) -> None:
    (peer,) = load_peers(peers_file(tmp_path, entry()))
    assert peer.base_url == "http://127.0.0.1:8081/fhir"
    assert peer.timeout_seconds == 2.0
    assert peer.algorithm == "ES256"
    secret = KEY.as_dict(private=True)["d"]
    assert secret not in repr(peer)


@pytest.mark.parametrize(
    "changes,fragment",
    [
        ({"name": "Area A"}, "peer name"),
        ({"base_url": "ftp://x/fhir"}, "base_url"),
        ({"base_url": "http://user:pw@x/fhir"}, "base_url"),
        ({"token_url": None}, "token_url"),
        ({"client_id": ""}, "client_id"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": 600}, "timeout_seconds"),
        ({"private_key_file": "missing.json"}, "no usable private JWK"),
        ({"scope": 3}, "scope"),
    ],
)
def test_an_unusable_peer_refuses_to_start(
    tmp_path: Path, changes: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(PeerConfigurationError, match=fragment):
        load_peers(peers_file(tmp_path, entry(**changes)))


def test_a_public_key_is_not_enough_and_the_error_does_not_show_the_file(tmp_path: Path) -> None:
    path = peers_file(tmp_path, entry(private_key_file="public.json"))
    (tmp_path / "public.json").write_text(json.dumps(KEY.as_dict(private=False)))
    with pytest.raises(PeerConfigurationError, match="private EC or RSA JWK"):
        load_peers(path)


def test_two_peers_of_one_name_refuse(tmp_path: Path) -> None:
    with pytest.raises(PeerConfigurationError, match="same name"):
        load_peers(peers_file(tmp_path, entry(), entry()))


def test_no_peers_file_is_no_federation(tmp_path: Path) -> None:
    class Settings:
        document_peers = ""

    assert gateway_of(Settings()) is NO_FEDERATION


def test_the_client_assertion_is_accepted_by_the_peers_issuer(tmp_path: Path) -> None:
    """The dev issuer (the peer's token endpoint) verifies the gateway's assertion and puts
    the consumer's purpose of use into the token it issues."""
    issuer = DevIssuer(tmp_path / "a", "http://127.0.0.1:8081/dev-issuer")
    issuer.register_client("federation-b", KEY.as_dict(private=True), persona_name="system")
    (peer,) = load_peers(peers_file(tmp_path, entry(token_url=issuer.token_url)))
    assertion = client_assertion(peer, 1_900_000_000.0)
    claims = peek(assertion).claims
    assert claims["iss"] == claims["sub"] == "federation-b"
    assert claims["aud"] == issuer.token_url
    assert claims["exp"] - claims["iat"] == 60
    details = {
        "type": "nhn:tillitsrammeverk:parameters",
        "care_relationship": {"purpose_of_use": {"code": "TREAT"}},
    }
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(peer, time.time()),
        "authorization_details": json.dumps([details]),
    }
    answer = issuer.token_endpoint(form, None, issuer.token_url)
    token_claims = peek(answer["access_token"]).claims
    assert token_claims["client_id"] == "federation-b"
    assert token_claims["nhn:tillitsrammeverk:parameters"] == details


def test_content_links_are_good_for_their_consumer_path_and_time_only(tmp_path: Path) -> None:
    links = ContentLinks.in_directory(tmp_path, "https://gw/fhir")
    again = ContentLinks.in_directory(tmp_path, "https://gw/fhir")  # another process
    url = links.link("area-a", "Binary/1", "12837510110", now=1000.0)
    assert url.startswith("https://gw/fhir/_federation/area-a/Binary/1?exp=4600&sig=")
    sig = url.split("sig=")[1]
    assert again.valid("area-a", "Binary/1", "12837510110", "4600", sig, now=2000.0)
    assert not links.valid("area-a", "Binary/2", "12837510110", "4600", sig, now=2000.0)
    assert not links.valid("area-c", "Binary/1", "12837510110", "4600", sig, now=2000.0)
    assert not links.valid("area-a", "Binary/1", "23906830078", "4600", sig, now=2000.0)
    assert not links.valid("area-a", "Binary/1", "12837510110", "9999", sig, now=2000.0)
    assert not links.valid("area-a", "Binary/1", "12837510110", "4600", sig, now=4601.0)
    assert not links.valid("area-a", "Binary/1", "12837510110", "x", sig, now=2000.0)
    key = tmp_path / "federation" / "content-link.key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_the_peers_file_is_a_setting_that_reaches_worker_processes() -> None:
    settings = settings_from_env({"SAMHANDLING_DOCUMENT_PEERS": "/etc/samhandling/peers.json"})
    assert settings.document_peers == "/etc/samhandling/peers.json"
    assert settings_from_env(settings_to_env(settings)).document_peers == settings.document_peers
    assert settings_from_env({}).document_peers == ""


def test_a_server_with_an_unusable_peers_file_does_not_start(tmp_path: Path) -> None:
    bad = peers_file(tmp_path, entry(base_url="not a url"))
    with pytest.raises(PeerConfigurationError, match="area-a: base_url"):
        create_app(
            app_settings(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, document_peers=str(bad))
        )
