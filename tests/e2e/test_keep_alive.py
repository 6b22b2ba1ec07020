"""An idle keep-alive connection outlives the time clients keep theirs (`cli.main.
KEEP_ALIVE_SECONDS`): with uvicorn's default of 5 s, the same as httpx's idle expiry, a
client reusing a connection the server was closing saw "Server disconnected without
sending a response" (a web test in CI, after five seconds of browser steps)."""

from __future__ import annotations

import time
from http.client import HTTPConnection

from fixtures.server_process import ServerProcess

IDLE_SECONDS = 6.0  # past uvicorn's default keep-alive of 5 s and httpx's idle expiry


def test_an_idle_connection_is_still_open_when_a_client_reuses_it(server: ServerProcess) -> None:
    connection = HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", "/readyz")
        first = connection.getresponse()
        first.read()
        local = connection.sock.getsockname() if connection.sock else None
        time.sleep(IDLE_SECONDS)
        connection.request("GET", "/readyz")  # raises RemoteDisconnected had it been closed
        second = connection.getresponse()
        second.read()
        assert (first.status, second.status) == (200, 200)
        assert connection.sock is not None and connection.sock.getsockname() == local
    finally:
        connection.close()
