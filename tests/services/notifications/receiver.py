"""A real receiving HTTP server on loopback for notification tests (uvicorn in a thread).

It keeps every notification Bundle it accepted, in arrival order, and counts empty ones;
while `down` it answers 503 and keeps nothing.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fixtures.server_process import free_port


class Receiver:
    """A rest-hook endpoint: `url` to subscribe with, `bundles` received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bundles: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.pings = 0  # empty notifications (classic R4 criteria subscriptions)
        self.down = False
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        # log_config=None: a test server must not reconfigure the process's logging
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        if self.down:
            return Response(status_code=503)
        body = await request.body()
        if not body:
            self.pings += 1
            return Response(status_code=200)
        self.bundles.append(json.loads(body))
        self.headers.append(dict(request.headers))
        return Response(status_code=200)

    def start(self) -> Receiver:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def event_numbers(self) -> list[int]:
        """The event numbers received, in arrival order."""
        return [number for bundle in self.bundles for number, _ in events_of(bundle)]

    def focuses(self) -> list[str]:
        return [focus for bundle in self.bundles for _, focus in events_of(bundle)]

    def kinds(self) -> list[str]:
        """The notification type of each Bundle received (handshake, heartbeat, …)."""
        return [kind_of(bundle) for bundle in self.bundles]


def kind_of(bundle: dict[str, Any]) -> str:
    """The `type` of a notification Bundle's status."""
    status = bundle["entry"][0]["resource"]
    return next(str(p["valueCode"]) for p in status["parameter"] if p["name"] == "type")


def events_of(bundle: dict[str, Any]) -> list[tuple[int, str]]:
    """(event number, focus reference) of a notification Bundle's status entry."""
    status = bundle["entry"][0]["resource"]
    found = []
    for parameter in status["parameter"]:
        if parameter["name"] == "notification-event":
            parts = {p["name"]: p for p in parameter["part"]}
            focus = parts.get("focus", {}).get("valueReference", {}).get("reference", "")
            found.append((int(parts["event-number"]["valueString"]), focus))
    return found
