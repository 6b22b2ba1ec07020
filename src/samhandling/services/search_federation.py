"""The seam a service federates searches through: other servers asked beside this one.

A `SearchFederation` is consulted by the search routes for every type search: it may ask
other servers (peers) in parallel while the local search runs, and merge their answers into
the local searchset Bundle (`FederatedSearch.merged`). It also serves the content of a
document held elsewhere (`content`), so that retrieval follows a document to its home.
What it asked is handed to the audit trail (`FederatedQuery.asked`, `ContentRequest.asked`).

`NO_FEDERATION` is the null object: the local answer alone, as on a server without peers.
A service brings one through `Service.search_federation`, a factory from the settings
(docs/DOCUMENT_FEDERATION.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from samhandling.access_guard import AccessGuard
from samhandling.audit.records import Destination
from samhandling.fhir.outcome import FhirError, error

#: A request carrying this header was sent by another server's federation: it is answered
#: from this server's own data only, never federated again (no loops between peers).
FEDERATION_HEADER = "X-Samhandling-Federation"


@dataclass(frozen=True)
class FederatedQuery:
    """A consumer's search as the search routes received it."""

    resource_type: str | None
    items: list[tuple[str, str]]
    guard: AccessGuard
    headers: Mapping[str, str]
    compartment: tuple[str, str] | None = None
    #: the peers asked and what each answered, filled in as they answer (the audit trail's)
    asked: list[Destination] = field(default_factory=list)


@dataclass(frozen=True)
class ContentRequest:
    """A consumer's request for content held by a peer (`/fhir/_federation/{peer}/...`)."""

    peer: str
    path: str  # e.g. "Binary/123", relative to the peer's FHIR base
    query: Mapping[str, str]
    headers: Mapping[str, str]
    guard: AccessGuard
    #: the peer asked and what it answered, filled in when it answers (the audit trail's)
    asked: list[Destination] = field(default_factory=list)


@dataclass
class RemoteContent:
    """A peer's answer to a content request, to stream to the consumer."""

    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes]
    close: Callable[[], Any]  # an async callable: releases the peer's connection


class FederatedSearch(Protocol):
    """One federated search under way."""

    def local_items(self, items: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
        """The parameters this server's own search runs with: the consumer's `items`, or
        for a later page of a federated answer this server's part of it (None: this server
        has no more to add; its part is an empty searchset)."""

    async def merged(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """The local searchset `bundle` with the peers' answers merged in."""


class SearchFederation(Protocol):
    """Asks other servers beside this one (see the module doc)."""

    def search(self, query: FederatedQuery) -> contextlib.AbstractAsyncContextManager[Any]:
        """An async context yielding a `FederatedSearch`: the peers are asked while the
        local search runs inside it; leaving it early stops whatever is still asked."""

    async def content(self, request: ContentRequest) -> RemoteContent:
        """The peer's content (a FhirError when it may not or cannot be had)."""

    async def close(self) -> None:
        """Release the connections to the peers (when the application stops)."""


class LocalOnly:
    """A search nobody else is asked for: the local answer as it is."""

    def local_items(self, items: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
        return items

    async def merged(self, bundle: dict[str, Any]) -> dict[str, Any]:
        return bundle


LOCAL_ONLY = LocalOnly()


class NoFederation:
    """The null object: no peers."""

    @contextlib.asynccontextmanager
    async def search(self, query: FederatedQuery) -> AsyncIterator[FederatedSearch]:
        yield LOCAL_ONLY

    async def content(self, request: ContentRequest) -> RemoteContent:
        raise FhirError(404, error("not-found", "This server federates with no other server"))

    async def close(self) -> None:
        return None


NO_FEDERATION: SearchFederation = NoFederation()

#: makes a service's federation for one application from its settings
FederationFactory = Callable[[Any], SearchFederation]
