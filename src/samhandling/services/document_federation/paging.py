"""Paging through a federated answer: its `next` link and the page that link names.

The merged searchset's `next` link (when this area or a peer has more) is
`[base]/{type}?_federated=<cursor>`, the cursor sealed for the consumer (`page_cursor`).
Following it runs this area's next page (the consumer's search with the paging parameters
of this area's own `next` link) while every peer that has more is asked for the page its
own `next` link named, in parallel, each within its timeout as on the first page. Only a
URL at a configured peer's base, for the searched type, is ever followed (checked when
the peer's link is read and again when the cursor is opened), so neither a consumer nor a
peer can make the gateway fetch anything else. There is no `previous` link.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from samhandling.fhir.outcome import FhirError, error
from samhandling.search.query import PAGING_PARAMETERS
from samhandling.services.document_federation.asking import Asking, asking
from samhandling.services.document_federation.listed import SeenDocuments
from samhandling.services.document_federation.merge import (
    HERE,
    Earlier,
    PeerTally,
    followable,
)
from samhandling.services.document_federation.page_cursor import (
    PAGE_PARAMETER,
    FederatedPage,
    PageSeal,
)
from samhandling.services.document_federation.peers import Peer
from samhandling.services.search_federation import FederatedQuery

#: what a page link may carry beside the cursor
BESIDE_THE_CURSOR = frozenset({"_format", "_pretty"})


@dataclasses.dataclass(frozen=True)
class Continuation:
    """A later page under way: the search as first asked, where each area stands, and
    the peers to ask for their next page."""

    plan: Asking
    page: FederatedPage
    cursor: str
    peers: tuple[tuple[Peer, str], ...]

    def earlier(self) -> Earlier:
        page = self.page
        seen = SeenDocuments.unpacked(page.listed_here, page.listed_remote)
        return Earlier(seen, dict(page.totals), page.left_out, first_page=False)

    def local_items(self) -> list[tuple[str, str]] | None:
        """This area's next page (None: this area has sent all it has)."""
        page = self.page
        return None if page.local is None else [*page.search, *page.local]


def continues(query: FederatedQuery) -> bool:
    """Whether `query` follows a federated answer's `next` link."""
    return any(name == PAGE_PARAMETER for name, _value in query.items)


class FederatedPages:
    """Makes the `next` links of federated answers and opens them again."""

    def __init__(
        self,
        seal: PageSeal,
        peers: Sequence[Peer],
        base_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.seal = seal
        self.peers = {peer.name: peer for peer in peers}
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    def continued(self, query: FederatedQuery) -> Continuation:
        """The page a consumer's `_federated` cursor names: 400 when it takes other
        parameters, was altered or names a URL that is not at one of the peers; 403 for
        a consumer who may not search the type here, or another consumer's cursor; 410
        when expired."""
        cursors = [value for name, value in query.items if name == PAGE_PARAMETER]
        others = {name for name, _value in query.items} - BESIDE_THE_CURSOR - {PAGE_PARAMETER}
        if len(cursors) != 1 or others:
            message = f"A federated page link takes only {PAGE_PARAMETER} (and _format)"
            raise FhirError(400, error("invalid", message, PAGE_PARAMETER))
        query.guard.check_request("search", query.resource_type or "")
        page = self.seal.open(cursors[0], query.guard.principal, self.clock())
        if page.resource_type != query.resource_type:
            message = f"This page link belongs to a search of {page.resource_type[:40]}"
            raise FhirError(400, error("invalid", message, PAGE_PARAMETER))
        plan = asking(dataclasses.replace(query, items=page.search))
        if not isinstance(plan, Asking):
            message = "This answer can no longer be federated for you; search again"
            raise FhirError(403, error("forbidden", message))
        return Continuation(plan, page, cursors[0], self._followed(page))

    def _followed(self, page: FederatedPage) -> tuple[tuple[Peer, str], ...]:
        """The peers to ask and their URLs, each at a configured peer's base (else 400:
        nothing is fetched)."""
        followed = []
        for name, url in page.peers.items():
            peer = self.peers.get(name)
            if peer is None or not followable(url, peer.base_url, page.resource_type):
                message = "This page link names a page that is not at a peer of this server"
                raise FhirError(400, error("invalid", message, PAGE_PARAMETER))
            followed.append((peer, url))
        return tuple(followed)

    def paged(
        self,
        merged: dict[str, Any],
        local: dict[str, Any],
        plan: Asking,
        tallies: dict[str, PeerTally],
        state: Earlier,
        cursor: str | None,
    ) -> dict[str, Any]:
        """`merged` with its own links: `self` (this page), `next` (when any area has more)."""
        rtype = plan.resource_type
        here = self._link(rtype, cursor) if cursor else _self_link(local)
        links = [{"relation": "self", "url": here}] if here else []
        local_next = _local_next(local)
        peers = {
            name: tally.next_url
            for name, tally in tallies.items()
            if name != HERE and tally.next_url is not None
        }
        if local_next is not None or peers:
            listed_here, listed_remote = state.seen.packed()
            page = FederatedPage(rtype, plan.params, local_next, peers, state.totals,
                                 state.left_out, listed_here, listed_remote)  # fmt: skip
            sealed = self.seal.seal(page, plan.principal, self.clock())
            links.append({"relation": "next", "url": self._link(rtype, sealed)})
        return {**merged, "link": links}

    def _link(self, resource_type: str, cursor: str) -> str:
        return f"{self.base_url}/{resource_type}?{urlencode({PAGE_PARAMETER: cursor})}"


def _links(bundle: dict[str, Any], relation: str) -> list[str]:
    links = bundle.get("link")
    return [
        link["url"]
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict)
        and link.get("relation") == relation
        and isinstance(link.get("url"), str)
    ]


def _self_link(local: dict[str, Any]) -> str | None:
    found = _links(local, "self")
    return found[0] if found else None


def _local_next(local: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The paging parameters of this area's own `next` link (None: no next page)."""
    for url in _links(local, "next"):
        paging = [(k, v) for k, v in parse_qsl(urlsplit(url).query) if k in PAGING_PARAMETERS]
        if paging:
            return paging
    return None
