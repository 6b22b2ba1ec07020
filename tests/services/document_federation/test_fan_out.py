"""Asking peers over real HTTP (a tiny loopback server per peer): every failure becomes an
answer naming it, tokens are kept and dropped after a 401, answers are bounded."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwk

from samhandling.services.document_federation.fan_out import PeerSearch
from samhandling.services.document_federation.merge import PeerAnswer
from samhandling.services.document_federation.peer_tokens import PeerTokens
from samhandling.services.document_federation.peers import Peer

KEY = jwk.ECKey.generate_key("P-256", auto_kid=True)
SEARCHSET = {"resourceType": "Bundle", "type": "searchset", "entry": []}


class Peerish(ThreadingHTTPServer):
    """Answers the token endpoint with `token_status` and searches with `search` (status,
    body); counts token requests and keeps the search requests' headers."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token_status = 200
        self.search: tuple[int, bytes] = (200, json.dumps(SEARCHSET).encode())
        self.tokens_issued = 0
        self.seen: list[dict[str, str]] = []
        self.root = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Peerish

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.server.tokens_issued += 1
        token = {"access_token": f"t{self.server.tokens_issued}", "token_type": "Bearer"}
        self._send(self.server.token_status, json.dumps(token).encode())

    def do_GET(self) -> None:
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        self._send(*self.server.search)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def peerish() -> Iterator[Peerish]:
    server = Peerish()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def peer_at(server: Peerish) -> Peer:
    return Peer("area-t", f"{server.root}/fhir", f"{server.root}/token", "gw", KEY, None, 2.0)


def ask(peer: Peer, times: int = 1, max_bytes: int = 10_000) -> list[PeerAnswer]:
    async def run() -> list[PeerAnswer]:
        async with httpx.AsyncClient() as client:
            search = PeerSearch(client, PeerTokens(client), max_bytes)
            return [
                await search.ask(peer, "DocumentReference", [("status", "current")], None)
                for _ in range(times)
            ]

    return asyncio.run(run())


def test_an_answer_carries_the_bundle_and_the_token_is_kept(peerish: Peerish) -> None:
    answers = ask(peer_at(peerish), times=2)
    assert [a.status for a in answers] == ["answered", "answered"]
    assert answers[0].bundle == SEARCHSET
    assert peerish.tokens_issued == 1
    assert peerish.seen[0]["authorization"] == "Bearer t1"
    assert peerish.seen[0]["x-samhandling-federation"] == "1"


def test_a_401_is_a_refusal_and_the_token_is_dropped(peerish: Peerish) -> None:
    peerish.search = (
        401,
        b'{"resourceType":"OperationOutcome","issue":[{"diagnostics":"expired"}]}',
    )
    answers = ask(peer_at(peerish), times=2)
    assert [a.status for a in answers] == ["refused", "refused"]
    assert answers[0].detail == "answered HTTP 401 (expired)"
    assert peerish.tokens_issued == 2


@pytest.mark.parametrize(
    "search,status,fragment",
    [
        ((500, b"oops"), "failed", "HTTP 500"),
        ((403, b"{}"), "refused", "HTTP 403"),
        ((200, b'{"resourceType":"Bundle","type":"batch"}'), "failed", "searchset"),
        ((200, b"not json"), "failed", "searchset"),
        ((200, b"[" * 20_000), "failed", "more than 10000 bytes"),
    ],
)
def test_a_peers_failure_is_an_answer_saying_so(
    peerish: Peerish, search: tuple[int, bytes], status: str, fragment: str
) -> None:
    peerish.search = search
    (answer,) = ask(peer_at(peerish))
    assert answer.status == status and fragment in answer.detail and answer.bundle is None


def test_a_token_endpoint_refusing_is_a_refusal(peerish: Peerish) -> None:
    peerish.token_status = 401
    (answer,) = ask(peer_at(peerish))
    assert answer.status == "refused" and "token endpoint answered 401" in answer.detail
    assert peerish.seen == []  # never searched without a token


def test_a_closed_port_is_unreachable(tmp_path: Path) -> None:
    from fixtures.server_process import free_port

    root = f"http://127.0.0.1:{free_port()}"
    peer = Peer("area-d", f"{root}/fhir", f"{root}/token", "gw", KEY, None, 2.0)
    (answer,) = ask(peer)
    assert (answer.status, answer.detail) == ("unreachable", "could not be reached")
