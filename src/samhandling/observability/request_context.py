"""What every log line of a request says about it: the request id and the client id.

`MetricsMiddleware` begins a `RequestLog` for each /fhir request (the id from the client's
`X-Request-ID` when it is a plain token, else a new one); authentication notes the client
id and, for a refused request, the reason, which the request's one log line then carries.
The log formatter adds `request_id` and `client_id` to every line written while the request
runs, in the event loop or in a worker thread (the context is copied into both).
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

HEADERS_KEY = "samhandling.headers"  # where `request_headers` keeps them in the scope
_INCOMING_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


@dataclass
class RequestLog:
    """One request's identity in the logs; mutable so inner layers can add what they learn."""

    request_id: str
    client_id: str | None = None
    refusal: str | None = None  # why authentication refused the request


_current: ContextVar[RequestLog | None] = ContextVar("samhandling_request_log", default=None)


def request_id_from(header: str | None) -> str:
    """The client's request id when it is a plain token of at most 64 characters, else new."""
    if header and _INCOMING_ID.fullmatch(header):
        return header
    return new_request_id()


def new_request_id() -> str:
    """A new request id: as `uuid.uuid4().hex` (32 hex digits, version 4, RFC 9562
    variant), made without the `UUID` object, whose checks cost most of the ~3 µs a
    request spent on it."""
    value = bytearray(os.urandom(16))
    value[6] = value[6] & 0x0F | 0x40  # the version
    value[8] = value[8] & 0x3F | 0x80  # the variant
    return value.hex()


def begin_request(request_id: str) -> Token[RequestLog | None]:
    """Start the log context of one request (undo with `end_request`)."""
    return _current.set(RequestLog(request_id))


def end_request(token: Token[RequestLog | None]) -> None:
    _current.reset(token)


def current_request() -> RequestLog | None:
    """The log context of the request being served, or None outside a request."""
    return _current.get()


def note_client(client_id: str | None) -> None:
    """Record the authenticated caller's client id for the request's log lines."""
    found = _current.get()
    if found is not None:
        found.client_id = client_id


def note_refusal(reason: str) -> None:
    """Record why authentication refused the request (logged once, on the request line)."""
    found = _current.get()
    if found is not None:
        found.refusal = reason


def request_headers(scope: MutableMapping[str, Any]) -> dict[str, str]:
    """The request's headers by (lower-case) name, decoded once per request and kept in its
    scope: every layer that asks after the first reads a dict. A repeated header gives its
    first value, as Starlette's `Headers.get` does."""
    found: dict[str, str] | None = scope.get(HEADERS_KEY)
    if found is None:
        found = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(scope["headers"])}
        scope[HEADERS_KEY] = found
    return found
