"""Prometheus metrics and the middleware that records them and logs every request."""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from samhandling.observability.request_context import (
    begin_request,
    current_request,
    end_request,
    request_headers,
    request_id_from,
)

log = logging.getLogger("samhandling.request")


class RequestSeries(NamedTuple):
    """The metric series one (interaction, status) counts into; `errors` None below 400."""

    requests: Counter
    latency: Histogram
    errors: Counter | None


class Metrics:
    """The platform's metrics in their own registry (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "samhandling_requests",
            "FHIR requests",
            ["interaction", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "samhandling_errors",
            "FHIR requests answered with 4xx/5xx",
            ["interaction", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "samhandling_request_seconds",
            "request latency",
            ["interaction"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self._series: dict[tuple[str, int], RequestSeries] = {}

    def series(self, interaction: str, status: int) -> RequestSeries:
        """The labelled series of one (interaction, status), looked up once: `labels()`
        checks and locks on every call, and a request needs two or three of them. Both
        labels are bounded (`interaction_name`, HTTP statuses)."""
        found = self._series.get((interaction, status))
        if found is None:
            code = str(status)
            found = RequestSeries(
                self.requests.labels(interaction, code),
                self.latency.labels(interaction),
                self.errors.labels(interaction, code) if status >= 400 else None,
            )
            self._series[(interaction, status)] = found
        return found

    def include(self, worker: object) -> None:
        """Serve a background worker's own metrics too: its `collector`, when it has one."""
        collector = getattr(worker, "collector", None)
        if collector is not None:
            self.registry.register(collector)

    def endpoint(self, _request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


INTERACTION_KEY = "samhandling.interaction"  # set in the scope by whoever already knows it


def interaction_of(scope: Scope) -> str:
    """The request's `interaction_name`, or what a route noted in its scope (`InteractionDispatch`:
    a read or vread by id, already told from its path)."""
    noted: str | None = scope.get(INTERACTION_KEY)
    return noted or interaction_name(scope["method"], scope["path"])


def interaction_name(method: str, path: str) -> str:
    """The FHIR interaction a request path stands for (bounded label cardinality); also the
    audit record's subtype, so a search sent by POST (`_search`) is a search, not a create."""
    parts = [p for p in path.split("/") if p][1:]  # drop the "fhir" prefix
    if any(part.startswith("$") for part in parts):
        return "operation"  # GET Patient/1/$everything is an operation, not a read
    if not parts:
        return "transaction" if method == "POST" else "capabilities" if method == "GET" else "other"
    if parts[0] == "metadata":
        return "capabilities"
    if "_history" in parts:
        return "vread" if len(parts) == 4 else "history"
    if parts[-1] == "_search":  # [Type/]_search and Patient/1/Type/_search (R4 §3.1.1.2)
        return "search" if method == "POST" else "other"
    if len(parts) == 3 and not parts[0].startswith("_") and method == "GET":
        return "search"  # a compartment search: Patient/1/Observation
    if len(parts) == 1:
        return {"GET": "search", "POST": "create", "PUT": "update", "DELETE": "delete"}.get(
            method, "other"
        )
    return {"GET": "read", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        method, "operation"
    )


class MetricsMiddleware:
    """Counts, times and logs every /fhir request: one log line each, with the request id
    (also sent back as `X-Request-ID`), the client id and, when refused, the reason."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/fhir"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id = request_id_from(request_headers(scope).get("x-request-id"))
        token = begin_request(request_id)
        id_header = (b"x-request-id", request_id.encode("latin-1"))

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # appended: no layer inside sets this header
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            end_request(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        interaction = interaction_of(scope)
        series = self.metrics.series(interaction, status)
        series.requests.inc()
        series.latency.observe(seconds)
        if series.errors is not None:
            series.errors.inc()
        if not log.isEnabledFor(logging.INFO):
            return  # the line would not be written: not built either
        extra: dict[str, object] = {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "interaction": interaction,
            "ms": round(seconds * 1000, 2),
        }
        context = current_request()
        if context is not None and context.refusal:
            extra["refusal"] = context.refusal
        log.info("request", extra=extra)
