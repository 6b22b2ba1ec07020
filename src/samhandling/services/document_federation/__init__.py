"""Document sharing across collaboration areas: the gateway that federates ITI-67 searches
to the configured peers and follows a document home for its content
(docs/DOCUMENT_FEDERATION.md).

The service brings no operations or rules of its own: only its `SearchFederation`, made
from the settings (`SAMHANDLING_DOCUMENT_PEERS`); without peers it is the null federation.
"""

from __future__ import annotations

from typing import Any

from samhandling.services.document_federation.content_links import ContentLinks
from samhandling.services.document_federation.gateway import DocumentGateway
from samhandling.services.document_federation.peers import load_peers
from samhandling.services.search_federation import NO_FEDERATION, SearchFederation
from samhandling.services.service import Service


def gateway_of(settings: Any) -> SearchFederation:
    """The gateway over the peers `settings.document_peers` names (none: no federation);
    a peers file that cannot be used refuses to start (PeerConfigurationError)."""
    if not settings.document_peers:
        return NO_FEDERATION
    peers = load_peers(settings.document_peers)
    if not peers:
        return NO_FEDERATION
    links = ContentLinks.in_directory(settings.data_dir, settings.base_url)
    return DocumentGateway(peers, links, settings.max_body_bytes)


SERVICE = Service(name="document-federation", search_federation=gateway_of)
