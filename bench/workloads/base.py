"""What a workload hands the load generator: a source of requests and a response check."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.http_client import Response

FHIR_JSON = "application/fhir+json"
JSON_HEADERS = {"Content-Type": FHIR_JSON}


@dataclass(slots=True)
class Request:
    """One request of a workload; `units` counts resources (a Bundle counts its entries)."""

    op: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] | None = None
    expect: tuple[int, ...] = (200,)
    units: int = 1
    context: Any = None


class RequestSource(Protocol):
    """Generator side of a workload. Runs in the load-generator process, one event loop."""

    def next_request(self) -> Request | None:
        """The next request, or None when the workload is exhausted."""

    def on_response(self, request: Request, response: Response) -> str | None:
        """Check a response (and learn from it); an error text makes the request an error."""


class SimpleSource:
    """Base class: the response status must be one of `request.expect`."""

    def __init__(self, params: dict[str, Any], rng: random.Random) -> None:
        self.params = params
        self.rng = rng

    def next_request(self) -> Request | None:
        raise NotImplementedError

    def on_response(self, request: Request, response: Response) -> str | None:
        if response.status in request.expect:
            return None
        return f"HTTP {response.status}"


@dataclass
class Prepared:
    """Harness side: the parameters for the generator plus notes for the result, and the
    development persona whose token the requests carry (bench/server.py; None: `system`)."""

    params: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)
    persona: str | None = None
