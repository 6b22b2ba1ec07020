"""The websocket endpoint of the notifications' websocket channel (R4 Backport): a client
binds with `bind-with-token <token>` (from `Subscription/{id}/$get-ws-binding-token`) and is
sent the subscription's notification Bundles (`services/notifications/websocket`).

The socket is authorised by its binding token only (the authentication middleware handles
HTTP); a bad or expired token gets an OperationOutcome and the socket closes (1008). The
token is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from samhandling.fhir import json_codec
from samhandling.fhir.instants import now_us
from samhandling.fhir.outcome import error, operation_outcome
from samhandling.services.notifications.websocket import SOCKET_PATH, SocketFeed, bind

BIND_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.2
POLICY_VIOLATION = 1008


def socket_route() -> WebSocketRoute:
    """The route of the websocket channel, under the FHIR base."""
    return WebSocketRoute(f"/fhir{SOCKET_PATH}", subscription_socket)


async def subscription_socket(websocket: WebSocket) -> None:
    """Bind a socket to a subscription and send it its notifications until either closes."""
    await websocket.accept()
    feed = await _bound(websocket)
    if feed is None:
        refusal = operation_outcome([error("security", "bind-with-token: the token is not valid")])
        await websocket.send_text(json_codec.dump(refusal).decode())
        await websocket.close(POLICY_VIOLATION)
        return
    with contextlib.suppress(WebSocketDisconnect):
        await websocket.send_text(json_codec.dump(feed.handshake()).decode())
        while True:
            bundles = await run_in_threadpool(feed.poll, now_us())
            if bundles is None:
                await websocket.close()
                return
            for bundle in bundles:
                await websocket.send_text(json_codec.dump(bundle).decode())
            if await _closed_by_client(websocket):
                return


async def _bound(websocket: WebSocket) -> SocketFeed | None:
    try:
        message = await asyncio.wait_for(websocket.receive_text(), BIND_TIMEOUT_S)
    except (TimeoutError, WebSocketDisconnect, KeyError):
        return None
    verb, _, token = message.strip().partition(" ")
    if verb != "bind-with-token" or not token:
        return None
    state = websocket.app.state
    return await run_in_threadpool(bind, state.engine, state.settings.base_url, token, now_us())


async def _closed_by_client(websocket: WebSocket) -> bool:
    """Wait a poll interval for the client; True when it closed the socket."""
    try:
        message = await asyncio.wait_for(websocket.receive(), POLL_INTERVAL_S)
    except TimeoutError:
        return False
    return message["type"] == "websocket.disconnect"
