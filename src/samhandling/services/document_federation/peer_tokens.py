"""The gateway's access tokens at its peers: OAuth 2 client credentials, `private_key_jwt`.

The client assertion (RFC 7523) is signed with the peer's configured private key, `typ`
`client-authentication+jwt`, `iss` = `sub` = the client id, `aud` the peer's token
endpoint, a one-minute lifetime and a fresh `jti`. The consumer's purpose of use travels as
HelseID does it: `authorization_details` of type `nhn:tillitsrammeverk:parameters`
(`consumer_attestation`), which the peer's issuer puts into the token, so the peer's policy
judges the request by the consumer's purpose. Tokens are kept per peer and attestation
until shortly before they expire, never written to a log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from joserfc import jwt

from samhandling.auth.claims import TRUST_FRAMEWORK
from samhandling.auth.principal import Principal
from samhandling.services.document_federation.peers import Peer

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60
PURPOSE_SYSTEM = "urn:oid:2.16.840.1.113883.1.11.20448"
ORGANISATION_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
#: a token is used for at most this long (an attestation older than an hour is stale)
MAX_TOKEN_AGE = 300


class PeerRefused(Exception):
    """The peer's token endpoint refused the gateway (the reason is safe to show)."""


def consumer_attestation(principal: Principal | None) -> dict[str, Any] | None:
    """The consumer's purpose of use (and emergency reason, healthcare service and
    organisation) as trust-framework `authorization_details`; None without a purpose."""
    attestation = principal.attestation if principal else None
    if principal is None or attestation is None or not attestation.purpose_of_use:
        return None
    care: dict[str, Any] = {
        "purpose_of_use": {"code": attestation.purpose_of_use, "system": PURPOSE_SYSTEM}
    }
    if attestation.reason:
        care["purpose_of_use_details"] = {"text": attestation.reason}
    if attestation.healthcare_service:
        care["healthcare_service"] = {"code": attestation.healthcare_service}
    organisation = principal.organisation
    practitioner = {
        level: {"id": number, "system": ORGANISATION_SYSTEM}
        for level, number in (
            ("legal_entity", organisation.legal_entity),
            ("point_of_care", organisation.point_of_care),
        )
        if number
    }
    return {"type": TRUST_FRAMEWORK, "care_relationship": care, "practitioner": practitioner}


class PeerTokens:
    """Access tokens at the peers, fetched when needed and kept while fresh."""

    def __init__(self, client: httpx.AsyncClient, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    async def token(self, peer: Peer, attestation: dict[str, Any] | None) -> str:
        """A valid access token at `peer` carrying `attestation` (PeerRefused if refused)."""
        key = (peer.name, json.dumps(attestation, sort_keys=True))
        now = self.clock()
        kept = self._tokens.get(key)
        if kept is not None and kept[1] > now:
            return kept[0]
        token, lifetime = await self._request(peer, attestation, now)
        self._tokens[key] = (token, now + min(lifetime - 30, MAX_TOKEN_AGE))
        return token

    def forget(self, peer: Peer) -> None:
        """Drop the peer's tokens (after it refused one)."""
        for key in [k for k in self._tokens if k[0] == peer.name]:
            del self._tokens[key]

    async def _request(
        self, peer: Peer, attestation: dict[str, Any] | None, now: float
    ) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(peer, now),
        }
        if peer.scope:
            form["scope"] = peer.scope
        if attestation is not None:
            form["authorization_details"] = json.dumps([attestation])
        response = await self.client.post(peer.token_url, data=form)
        if response.status_code != 200:
            raise PeerRefused(f"its token endpoint answered {response.status_code}")
        try:
            body = response.json()
            token, lifetime = body["access_token"], float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise PeerRefused("its token endpoint gave no access token") from None
        if not isinstance(token, str) or str(body.get("token_type", "")).lower() != "bearer":
            raise PeerRefused("its token endpoint gave no bearer token")
        return token, lifetime


def client_assertion(peer: Peer, now: float) -> str:
    """The signed client assertion for one token request at `peer`."""
    issued = int(now)
    claims = {
        "iss": peer.client_id,
        "sub": peer.client_id,
        "aud": peer.token_url,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
        "jti": str(uuid.uuid4()),
    }
    header = {"alg": peer.algorithm, "kid": peer.key.kid, "typ": "client-authentication+jwt"}
    return jwt.encode(header, claims, peer.key, algorithms=[peer.algorithm])
