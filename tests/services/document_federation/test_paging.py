"""Paging through a federated answer at the gateway, with loopback peers: the next page of
every area, each document once, totals, and only the peers' own URLs ever fetched."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwk

from samhandling.auth import Attestation, Principal, parse_scopes
from samhandling.fhir.outcome import FhirError
from samhandling.interactions.policy_guard import PolicyGuard
from samhandling.services.document_federation.content_links import ContentLinks
from samhandling.services.document_federation.gateway import DocumentGateway
from samhandling.services.document_federation.page_cursor import (
    PAGE_LIFETIME,
    FederatedPage,
)
from samhandling.services.document_federation.peers import Peer
from samhandling.services.search_federation import FederatedQuery

KEY = jwk.ECKey.generate_key("P-256", auto_kid=True)
BY_PATIENT = ("patient.identifier", "urn:oid:2.16.578.1.12.4.1.4.1|05858540072")
BASE = "https://gateway.test/fhir"
NOW = 1_800_000_000.0


def clinician() -> Principal:
    return Principal(
        kind="clinician",
        issuer="https://helseid.test",
        subject="s",
        pid="12837510110",
        security_level=4,
        attestation=Attestation(
            purpose_of_use="TREAT", authorization_code="LE", attested_at=datetime.now(UTC)
        ),
        scopes=parse_scopes("user/*.rs"),
    )


def doc(rid: str, master: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": master},
    }


def searchset(docs: list[dict[str, Any]], total: int, next_url: str | None) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total}
    bundle["link"] = [{"relation": "next", "url": next_url}] if next_url else []
    bundle["entry"] = [{"resource": d, "search": {"mode": "match"}} for d in docs]
    return bundle


class Pages(ThreadingHTTPServer):
    """A peer serving pages of a search by `_after` (absent: the first page); keeps every
    path it was asked for."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = f"http://127.0.0.1:{self.server_address[1]}"
        self.base_url = f"{self.root}/fhir"
        self.pages: dict[str, dict[str, Any]] = {}
        self.asked: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: Pages

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self._send(b'{"access_token":"t","token_type":"Bearer"}')

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        after = parse_qs(urlsplit(self.path).query).get("_after", [""])[0]
        self._send(json.dumps(self.server.pages.get(after, searchset([], 0, None))).encode())

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def servers() -> Iterator[tuple[Pages, Pages]]:
    """A peer and a bystander the gateway must never be made to ask."""
    started = [Pages(), Pages()]
    for server in started:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield started[0], started[1]
    for server in started:
        server.shutdown()
        server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def gateway_for(peer: Pages, tmp_path: Path, clock: Clock) -> DocumentGateway:
    config = Peer("area-a", peer.base_url, f"{peer.root}/token", "gw", KEY, None, 2.0)
    links = ContentLinks.in_directory(tmp_path, BASE)
    return DocumentGateway([config], links, 1_000_000, clock)


def query(principal: Principal, *items: tuple[str, str]) -> FederatedQuery:
    return FederatedQuery("DocumentReference", list(items), PolicyGuard(principal), {})


def page_of(
    gateway: DocumentGateway, asked: FederatedQuery, local: dict[str, Any]
) -> tuple[list[tuple[str, str]] | None, dict[str, Any]]:
    """What the local search was told to run, and the merged page."""

    async def run() -> tuple[list[tuple[str, str]] | None, dict[str, Any]]:
        async with gateway.search(asked) as federated:
            items = federated.local_items(asked.items)
            return items, await federated.merged(local)

    return asyncio.run(run())


def next_cursor(bundle: dict[str, Any]) -> str | None:
    urls = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
    if not urls:
        return None
    assert urls[0].startswith(f"{BASE}/DocumentReference?_federated=")
    return str(parse_qs(urlsplit(urls[0]).query)["_federated"][0])


def masters(bundle: dict[str, Any]) -> list[str]:
    found = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    return [r["masterIdentifier"]["value"] for r in found]


def local_page(docs: list[dict[str, Any]], total: int, after: str | None) -> dict[str, Any]:
    link = f"{BASE}/DocumentReference?_count=2&_after={after}" if after else None
    return searchset(docs, total, link)


def test_every_area_pages_until_done_and_each_document_comes_once(
    servers: tuple[Pages, Pages], tmp_path: Path
) -> None:
    peer, _ = servers
    # the peer: a1, shared, a2, a3 (4); this area: l1, l2, shared, l3 (4): 7 documents
    peer.pages[""] = searchset(
        [doc("1", "a1"), doc("2", "shared")], 4, f"{peer.base_url}/DocumentReference?_after=2"
    )
    peer.pages["2"] = searchset([doc("3", "a2"), doc("4", "a3")], 4, None)
    gateway = gateway_for(peer, tmp_path, Clock())
    first = query(clinician(), BY_PATIENT, ("_count", "2"))

    items, one = page_of(gateway, first, local_page([doc("l1", "l1"), doc("l2", "l2")], 4, "l2"))
    assert items == first.items
    assert masters(one) == ["l1", "l2", "a1", "shared"]
    assert one["total"] == 8  # an upper bound: the duplicate is not known yet
    cursor = next_cursor(one)
    assert cursor is not None

    later = query(clinician(), ("_federated", cursor))
    local_two = local_page([doc("l3", "shared"), doc("l4", "l3")], 4, None)
    items, two = page_of(gateway, later, local_two)
    assert items == [BY_PATIENT, ("_count", "2"), ("_after", "l2")]
    assert masters(two) == ["l3", "a2", "a3"]  # this area's copy of "shared" was listed
    assert two["total"] == 7  # exact on the last page
    assert next_cursor(two) is None
    assert peer.asked[-1] == "/fhir/DocumentReference?_after=2"
    issues = [i["diagnostics"] for e in two["entry"] if e["search"]["mode"] == "outcome"
              for i in e["resource"]["issue"]]  # fmt: skip
    assert any("already listed by a peer on an earlier page" in text for text in issues)
    assert two["link"][0]["url"].endswith(f"_federated={cursor}")


def test_this_area_done_first_is_not_searched_again(
    servers: tuple[Pages, Pages], tmp_path: Path
) -> None:
    peer, _ = servers
    peer.pages[""] = searchset([doc("1", "a1")], 2, f"{peer.base_url}/DocumentReference?_after=1")
    peer.pages["1"] = searchset([doc("2", "a2"), doc("3", "l1")], 2, None)
    gateway = gateway_for(peer, tmp_path, Clock())
    _, one = page_of(
        gateway, query(clinician(), BY_PATIENT), local_page([doc("l1", "l1")], 1, None)
    )
    cursor = next_cursor(one)
    assert cursor is not None
    empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    items, two = page_of(gateway, query(clinician(), ("_federated", cursor)), empty)
    assert items is None  # this area has sent all it has
    assert masters(two) == ["a2"]  # the peer's copy of l1 was listed on page one
    assert two["total"] == 2


def refusal(gateway: DocumentGateway, asked: FederatedQuery) -> int:
    with pytest.raises(FhirError) as refused:
        page_of(gateway, asked, local_page([], 0, None))
    return refused.value.status


def test_altered_foreign_and_expired_cursors_are_refused(
    servers: tuple[Pages, Pages], tmp_path: Path
) -> None:
    peer, _ = servers
    peer.pages[""] = searchset([doc("1", "a1")], 2, f"{peer.base_url}/DocumentReference?_after=1")
    clock = Clock()
    gateway = gateway_for(peer, tmp_path, clock)
    _, one = page_of(gateway, query(clinician(), BY_PATIENT), local_page([], 0, None))
    cursor = next_cursor(one)
    assert cursor is not None
    asked_before = len(peer.asked)
    tampered = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    assert refusal(gateway, query(clinician(), ("_federated", tampered))) == 400
    other = dataclasses.replace(clinician(), pid="01010112345")
    assert refusal(gateway, query(other, ("_federated", cursor))) == 403
    extra = query(clinician(), ("_federated", cursor), ("status", "current"))
    assert refusal(gateway, extra) == 400
    clock.now += PAGE_LIFETIME + 1
    assert refusal(gateway, query(clinician(), ("_federated", cursor))) == 410
    assert len(peer.asked) == asked_before  # nothing was fetched for any of them


def test_a_sealed_cursor_naming_another_url_fetches_nothing(
    servers: tuple[Pages, Pages], tmp_path: Path
) -> None:
    """Even a cursor sealed with the gateway's key (a bug, a leaked key) makes it fetch
    nothing but its peers' searches of the type."""
    peer, bystander = servers
    gateway = gateway_for(peer, tmp_path, Clock())
    elsewhere = [
        f"{bystander.base_url}/DocumentReference?_after=1",  # another host
        f"{peer.root}/admin/DocumentReference?_after=1",  # another path at the peer
        f"{peer.base_url}/Patient?_after=1",  # another type
        f"{peer.base_url}/DocumentReference/../Patient",
    ]
    for url in elsewhere:
        for name in ("area-a", "area-x"):
            page = FederatedPage("DocumentReference", [BY_PATIENT], None, {name: url})
            cursor = gateway.pages.seal.seal(page, clinician(), NOW)
            assert refusal(gateway, query(clinician(), ("_federated", cursor))) == 400
    assert bystander.asked == [] and peer.asked == []


def test_a_peers_next_link_elsewhere_is_not_followed_and_is_named(
    servers: tuple[Pages, Pages], tmp_path: Path
) -> None:
    peer, bystander = servers
    stray = f"{bystander.base_url}/DocumentReference?_after=1"
    peer.pages[""] = searchset([doc("1", "a1")], 5, stray)
    gateway = gateway_for(peer, tmp_path, Clock())
    _, one = page_of(gateway, query(clinician(), BY_PATIENT), local_page([], 0, None))
    assert next_cursor(one) is None
    issues = [i for e in one["entry"] if e["search"]["mode"] == "outcome"
              for i in e["resource"]["issue"]]  # fmt: skip
    warned = [i for i in issues if i["code"] == "incomplete"]
    assert warned and "not followed" in warned[0]["diagnostics"]
    assert bystander.asked == []
