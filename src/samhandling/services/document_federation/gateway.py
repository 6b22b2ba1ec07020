"""The document gateway: this area's `SearchFederation` over its configured peers.

A search the gateway passes on (`asking`) is sent to every peer at once when the local
search starts, and merged into the local answer when it is done, so the whole costs the
slower of the local search and the slowest peer (each peer bounded by its timeout). A
remote document's content is read through the gateway (`content`), with the gateway's
credentials at the peer, streamed, Content-Type and Range passed through. The merged
answer's `next` link pages through every area at once (`paging`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx

from samhandling.audit.records import Destination
from samhandling.fhir.outcome import FhirError, error
from samhandling.services.document_federation.asking import (
    Asking,
    NotAsked,
    asking,
    visible_to,
)
from samhandling.services.document_federation.content_links import ContentLinks, consumer_of
from samhandling.services.document_federation.fan_out import PeerSearch
from samhandling.services.document_federation.merge import (
    Earlier,
    PeerAnswer,
    RemoteMarks,
    merge,
    result_text,
)
from samhandling.services.document_federation.page_cursor import PageSeal
from samhandling.services.document_federation.paging import (
    Continuation,
    FederatedPages,
    continues,
)
from samhandling.services.document_federation.peer_tokens import (
    PeerTokens,
    consumer_attestation,
)
from samhandling.services.document_federation.peers import Peer
from samhandling.services.document_federation.remote_content import RemoteReader
from samhandling.services.search_federation import (
    ContentRequest,
    FederatedQuery,
    FederatedSearch,
    RemoteContent,
)


class DocumentGateway:
    """Implements `search_federation.SearchFederation` for document sharing."""

    def __init__(
        self,
        peers: Sequence[Peer],
        links: ContentLinks,
        max_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.peers = tuple(peers)
        self.links = links
        self.clock = clock
        # no pool-wide timeout of its own: every call is bounded by its peer's timeout
        self.client = httpx.AsyncClient(timeout=None, follow_redirects=False)
        self.tokens = PeerTokens(self.client, clock)
        self.fan_out = PeerSearch(self.client, self.tokens, max_bytes)
        self.reader = RemoteReader(self.client, self.tokens)
        self.pages = FederatedPages(PageSeal(links.key), self.peers, links.base_url, clock)

    @contextlib.asynccontextmanager
    async def search(self, query: FederatedQuery) -> AsyncIterator[FederatedSearch]:
        """Asks the peers while the local search runs inside the context: a first page
        of every peer, or (a `_federated` cursor) the next page of those that have more."""
        later: Continuation | None = None
        if continues(query):
            later = self.pages.continued(query)
            plan: Asking | NotAsked = later.plan
        else:
            plan = asking(query)
        if isinstance(plan, NotAsked):
            yield plan
            return
        task = asyncio.ensure_future(self._ask(plan, later))
        try:
            yield _Merging(self, plan, task, query.asked, later)
        finally:
            task.cancel()  # a local search that failed needs no peers' answers

    async def _ask(self, plan: Asking, later: Continuation | None) -> list[PeerAnswer]:
        attestation = consumer_attestation(plan.principal)
        if later is not None:
            return await self.fan_out.ask_pages(later.peers, attestation)
        return await self.fan_out.ask_all(self.peers, plan.resource_type, plan.params, attestation)

    def marks(self, plan: Asking) -> RemoteMarks:
        """How the consumer's remote entries are marked and checked."""
        consumer, now = consumer_of(plan.principal), self.clock()
        return RemoteMarks(
            content_link=lambda peer, path: self.links.link(peer, path, consumer, now),
            visible=lambda resource: visible_to(plan.principal, resource),
        )

    async def content(self, request: ContentRequest) -> RemoteContent:
        """A peer's content, for a consumer holding the gateway's link to it."""
        peer = next((p for p in self.peers if p.name == request.peer), None)
        if peer is None:
            raise FhirError(404, error("not-found", f"No peer is called {request.peer[:40]!r}"))
        principal = request.guard.principal
        valid = self.links.valid(
            peer.name,
            request.path,
            consumer_of(principal),
            request.query.get("exp", ""),
            request.query.get("sig", ""),
            self.clock(),
        )
        if not valid:
            message = f"This link to {peer.name}'s content was not handed to you, or has expired"
            raise FhirError(403, error("forbidden", message))
        request.guard.check_request("read", request.path.partition("/")[0])
        return await self.reader.read(peer, request)

    async def close(self) -> None:
        await self.client.aclose()


class _Merging:
    """One federated search under way (`search_federation.FederatedSearch`)."""

    def __init__(
        self,
        gateway: DocumentGateway,
        plan: Asking,
        task: asyncio.Future[list[PeerAnswer]],
        asked: list[Destination],
        later: Continuation | None,
    ) -> None:
        self.gateway, self.plan, self.task, self.asked = gateway, plan, task, asked
        self.later = later

    def local_items(self, items: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
        """The local search: the consumer's, or on a later page this area's next page
        (None when this area has sent all it has)."""
        return items if self.later is None else self.later.local_items()

    async def merged(self, bundle: dict[str, Any]) -> dict[str, Any]:
        answers = await self.task
        marks = self.gateway.marks(self.plan)
        earlier = self.later.earlier() if self.later else Earlier()
        rtype = self.plan.resource_type
        merged, tallies, state = merge(bundle, answers, rtype, marks, earlier)
        self.asked.extend(
            Destination(a.peer, a.base_url, result_text(a, tallies.get(a.peer))) for a in answers
        )
        cursor = self.later.cursor if self.later else None
        return self.gateway.pages.paged(merged, bundle, self.plan, tallies, state, cursor)
