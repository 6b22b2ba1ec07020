"""Reading a document's content at its home: the peer's `Binary` read, streamed through.

The gateway asks with its own token at the peer (carrying the consumer's purpose of use),
passes the consumer's `Accept` and `Range` on, and hands back the peer's status (200, 206,
304, 404, 416 …), `Content-Type`, `Content-Length`, `Content-Range`, `Accept-Ranges`,
`ETag` and `Last-Modified` with the body as it arrives (`Accept-Encoding: identity`, so the
bytes and their length are the peer's). The peer must send its headers within its timeout;
a peer that cannot be reached or fails is a 502, one that is too slow a 504, both naming
the peer; a peer refusing the gateway's credentials is a 502 as well (the consumer did
nothing wrong).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from samhandling.audit.records import Destination
from samhandling.fhir.outcome import FhirError, error
from samhandling.services.document_federation.peer_tokens import (
    PeerRefused,
    PeerTokens,
    consumer_attestation,
)
from samhandling.services.document_federation.peers import Peer
from samhandling.services.search_federation import (
    FEDERATION_HEADER,
    ContentRequest,
    RemoteContent,
)

PASSED_ON = ("accept", "range", "if-none-match", "if-modified-since")
PASSED_BACK = (
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
)


class RemoteReader:
    """Opens content reads at the peers."""

    def __init__(self, client: httpx.AsyncClient, tokens: PeerTokens) -> None:
        self.client = client
        self.tokens = tokens

    async def read(self, peer: Peer, request: ContentRequest) -> RemoteContent:
        """The peer's answer, its body still to stream (a FhirError naming the peer when
        there is none)."""
        url = f"{peer.base_url}/{request.path}"
        response = await self._open_in_time(peer, request, url)
        if response.status_code == 401 or response.status_code >= 500:
            await response.aclose()
            if response.status_code == 401:
                self.tokens.forget(peer)
            why = f"answered HTTP {response.status_code}"
            raise _gateway_error(request, peer, url, 502, "exception", why) from None
        request.asked.append(Destination(peer.name, url, f"HTTP {response.status_code}"))
        headers = {k: v for k, v in response.headers.items() if k.lower() in PASSED_BACK}
        return RemoteContent(response.status_code, headers, _body(response, peer), response.aclose)

    async def _open_in_time(self, peer: Peer, request: ContentRequest, url: str) -> httpx.Response:
        """The peer's response headers within its timeout, else a FhirError naming it."""
        try:
            async with asyncio.timeout(peer.timeout_seconds):
                return await self._open(peer, request, url)
        except (TimeoutError, httpx.TimeoutException):
            failure = (504, "timeout", "did not answer in time")
        except httpx.ConnectError:
            failure = (502, "transient", "could not be reached")
        except PeerRefused as exc:
            failure = (502, "forbidden", f"refused the gateway: {exc}")
        except httpx.HTTPError as exc:
            failure = (502, "exception", f"failed ({type(exc).__name__})")
        raise _gateway_error(request, peer, url, *failure)

    async def _open(self, peer: Peer, request: ContentRequest, url: str) -> httpx.Response:
        token = await self.tokens.token(peer, consumer_attestation(request.guard.principal))
        headers = {k: v for k, v in request.headers.items() if k.lower() in PASSED_ON}
        headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept-Encoding": "identity",
                FEDERATION_HEADER: "1",
            }
        )
        built = self.client.build_request("GET", url, headers=headers)
        return await self.client.send(built, stream=True)


async def _body(response: httpx.Response, peer: Peer) -> AsyncIterator[bytes]:
    """The peer's bytes as they come; a peer that stalls longer than its timeout between
    two chunks breaks the response off (TimeoutError), so nobody waits for ever."""
    chunks = response.aiter_raw().__aiter__()
    try:
        while True:
            try:
                async with asyncio.timeout(peer.timeout_seconds):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        await response.aclose()


def _gateway_error(
    request: ContentRequest, peer: Peer, url: str, status: int, code: str, why: str
) -> FhirError:
    request.asked.append(Destination(peer.name, url, why))
    return FhirError(status, error(code, f"{peer.name} ({peer.base_url}) {why}"))
