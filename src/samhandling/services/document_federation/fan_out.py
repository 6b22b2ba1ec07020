"""Asking the peers: one search each, in parallel, each within its own timeout.

Every request to a peer carries `FEDERATION_HEADER`, so the peer answers from its own area
only and never asks its own peers in turn (no loops). A peer's whole part of a search, its
token included, is bounded by its `timeout_seconds`; a peer that does not answer in time,
cannot be reached, refuses or answers nonsense becomes a `PeerAnswer` saying so, never an
exception and never silence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from samhandling.fhir import json_codec
from samhandling.services.document_federation.merge import PeerAnswer
from samhandling.services.document_federation.peer_tokens import PeerRefused, PeerTokens
from samhandling.services.document_federation.peers import Peer
from samhandling.services.search_federation import FEDERATION_HEADER

log = logging.getLogger("samhandling.federation")
FHIR_JSON = "application/fhir+json"


class AnswerTooLarge(Exception):
    """A peer's answer exceeded the gateway's limit."""


class PeerSearch:
    """Searches at the peers over one HTTP client, with the gateway's tokens."""

    def __init__(self, client: httpx.AsyncClient, tokens: PeerTokens, max_bytes: int) -> None:
        self.client = client
        self.tokens = tokens
        self.max_bytes = max_bytes

    async def ask_all(
        self,
        peers: Sequence[Peer],
        resource_type: str,
        params: list[tuple[str, str]],
        attestation: dict[str, Any] | None,
    ) -> list[PeerAnswer]:
        """Every peer's answer, in the order of `peers`; all asked at once."""
        asked = (self.ask(peer, resource_type, params, attestation) for peer in peers)
        return list(await asyncio.gather(*asked))

    async def ask_pages(
        self, pages: Sequence[tuple[Peer, str]], attestation: dict[str, Any] | None
    ) -> list[PeerAnswer]:
        """Every peer's next page (its `next` URL, already checked to be at its base), in
        the order of `pages`; all asked at once."""
        asked = (self.ask(peer, url, None, attestation) for peer, url in pages)
        return list(await asyncio.gather(*asked))

    async def ask(
        self,
        peer: Peer,
        resource_type_or_url: str,
        params: list[tuple[str, str]] | None,
        attestation: dict[str, Any] | None,
    ) -> PeerAnswer:
        """One peer's answer within its timeout (never raises for the peer's failures):
        a search of a type with `params`, or (`params` None) the page at a URL."""
        url = resource_type_or_url
        if params is not None:
            url = f"{peer.base_url}/{resource_type_or_url}"
        try:
            async with asyncio.timeout(peer.timeout_seconds):
                answer = await self._search(peer, url, params, attestation)
        except (TimeoutError, httpx.TimeoutException):
            answer = _failed(peer, "timeout", f"did not answer within {peer.timeout_seconds:g} s")
        except httpx.ConnectError:
            answer = _failed(peer, "unreachable", "could not be reached")
        except PeerRefused as exc:
            answer = _failed(peer, "refused", f"refused the gateway: {exc}")
        except AnswerTooLarge:
            answer = _failed(peer, "failed", f"answered more than {self.max_bytes} bytes")
        except httpx.HTTPError as exc:
            answer = _failed(peer, "failed", f"failed ({type(exc).__name__})")
        log.info("federated search: peer %s %s", peer.name, answer.status)
        return answer

    async def _search(
        self,
        peer: Peer,
        url: str,
        params: list[tuple[str, str]] | None,
        attestation: dict[str, Any] | None,
    ) -> PeerAnswer:
        token = await self.tokens.token(peer, attestation)
        headers = {"Authorization": f"Bearer {token}", "Accept": FHIR_JSON, FEDERATION_HEADER: "1"}
        query = httpx.QueryParams(tuple(params)) if params is not None else None
        async with self.client.stream("GET", url, params=query, headers=headers) as response:
            raw = await read_limited(response, self.max_bytes)
        if response.status_code == 401:
            self.tokens.forget(peer)
        if response.status_code != 200:
            why = _diagnostics(raw)
            status = "refused" if response.status_code in (401, 403) else "failed"
            detail = f"answered HTTP {response.status_code}" + (f" ({why})" if why else "")
            return _failed(peer, status, detail)
        bundle = searchset(raw)
        if bundle is None:
            return _failed(peer, "failed", "answered with something other than a searchset")
        return PeerAnswer(peer.name, peer.base_url, "answered", bundle=bundle)


async def read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    """The body, refused past `max_bytes` (AnswerTooLarge) before it is all read."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise AnswerTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def searchset(raw: bytes) -> dict[str, Any] | None:
    """The peer's searchset Bundle, or None when the answer is not one."""
    try:
        bundle = json_codec.parse(raw)
    except ValueError:
        return None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None
    if bundle.get("type") != "searchset" or not isinstance(bundle.get("entry", []), list):
        return None
    return bundle


def _diagnostics(raw: bytes) -> str:
    """The first diagnostics of a peer's OperationOutcome, shortened (else "")."""
    try:
        outcome = json_codec.parse(raw)
        text = outcome["issue"][0].get("diagnostics", "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""
    return text[:200] if isinstance(text, str) else ""


def _failed(peer: Peer, status: Any, detail: str) -> PeerAnswer:
    return PeerAnswer(peer.name, peer.base_url, status, detail)
