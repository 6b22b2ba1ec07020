"""The search-federation seam: a service's federation is asked by the search routes, its
answers merged after the local search, what it asked audited, and it is closed at the end."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fixtures.fhir_app import app_settings, mint
from samhandling.api.app import create_app
from samhandling.audit.records import Destination
from samhandling.services import platform_services
from samhandling.services.search_federation import (
    NO_FEDERATION,
    ContentRequest,
    FederatedQuery,
    RemoteContent,
)
from samhandling.services.service import Platform, Service


class Recording:
    """A federation that adds one entry to every search and records what it saw."""

    def __init__(self) -> None:
        self.queries: list[FederatedQuery] = []
        self.closed = False

    @contextlib.asynccontextmanager
    async def search(self, query: FederatedQuery) -> AsyncIterator[Any]:
        self.queries.append(query)
        query.asked.append(Destination("elsewhere", "https://elsewhere.test/fhir", "answered"))
        yield self

    def local_items(self, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return items

    async def merged(self, bundle: dict[str, Any]) -> dict[str, Any]:
        added = {"resourceType": "OperationOutcome", "issue": [{"severity": "information",
                 "code": "informational", "diagnostics": "asked elsewhere"}]}  # fmt: skip
        return {**bundle, "entry": [*bundle.get("entry", []), {"resource": added}]}

    async def content(self, request: ContentRequest) -> RemoteContent:
        async def body() -> AsyncIterator[bytes]:
            yield b"remote bytes"

        async def close() -> None:
            return None

        request.asked.append(Destination(request.peer, "https://elsewhere.test", "HTTP 200"))
        return RemoteContent(200, {"content-type": "text/plain"}, body(), close)

    async def close(self) -> None:
        self.closed = True


def test_two_services_cannot_both_federate() -> None:
    one = Service("one", search_federation=lambda _s: NO_FEDERATION)
    two = Service("two", search_federation=lambda _s: NO_FEDERATION)
    with pytest.raises(ValueError, match="more than one service federates"):
        Platform.of([one, two])


def test_without_peers_the_platform_does_not_federate(tmp_path: Path) -> None:
    platform = Platform.of(platform_services())
    assert platform.search_federation(app_settings("", tmp_path)) is NO_FEDERATION


def test_the_search_routes_ask_the_federation_and_the_audit_names_what_it_asked(
    database_url: str, tmp_path: Path
) -> None:
    federation = Recording()
    ours = Service("recording", search_federation=lambda _settings: federation)
    services = [ours, *(s for s in platform_services() if s.name != "document-federation")]
    app = create_app(app_settings(database_url, tmp_path), services=services)
    officer = {"Authorization": f"Bearer {mint(tmp_path, 'security-officer')}"}
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {mint(tmp_path)}"
        answer = client.get("/fhir/DocumentReference", params={"status": "current"})
        assert answer.status_code == 200, answer.text
        assert (
            answer.json()["entry"][-1]["resource"]["issue"][0]["diagnostics"] == "asked elsewhere"
        )
        query = federation.queries[0]
        assert (query.resource_type, query.items) == ("DocumentReference", [("status", "current")])
        content = client.get("/fhir/_federation/peer-1/Binary/9")
        assert (content.status_code, content.text) == (200, "remote bytes")
        events = client.get("/fhir/AuditEvent", params={"_sort": "date"}, headers=officer).json()
    agents = [
        agent["who"]["display"]
        for entry in events["entry"]
        for agent in entry["resource"]["agent"]
        if agent.get("type", {}).get("text") == "destination"
    ]
    assert agents == ["elsewhere: answered", "peer-1: HTTP 200"]
    assert federation.closed
