"""Read-your-writes across a read replica: the commit position handed to a client that wrote.

When a read replica is configured, every successful answer to a request that may have
written (POST, PUT, PATCH, DELETE) carries `X-Samhandling-Consistency: <LSN>`, the
primary's WAL position after the request's commit. A client that presents it on a later
read is served by the replica only once the replica has replayed that far
(`store/read_routing.py`, docs/SCALING.md "Read replicas").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from samhandling.interactions.transactions import CONSISTENCY_HEADER, ReadRouting

log = logging.getLogger("samhandling.api")
WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ConsistencyMiddleware:
    """Adds the commit position to the successful answers of writing requests."""

    def __init__(self, app: ASGIApp, routing: ReadRouting) -> None:
        self.app = app
        self.routing = routing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITING_METHODS:
            await self.app(scope, receive, send)
            return

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                position = await self._position()
                if position is not None:
                    MutableHeaders(scope=message)[CONSISTENCY_HEADER] = position
            await send(message)

        await self.app(scope, receive, send_with_position)

    async def _position(self) -> str | None:
        try:
            return await run_in_threadpool(self.routing.commit_position)
        except Exception as exc:  # the write is done; only the hint is missing
            log.warning("no commit position for the answer: %s", type(exc).__name__)
            return None


class RoutedReadsCollector(Collector):
    """`samhandling_routed_reads_total{database=replica|primary}`: where routed reads ran."""

    def __init__(self, routing: ReadRouting) -> None:
        self.routing = routing

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "samhandling_routed_reads",
            "reads that could go to the replica, by the database that served them",
            labels=["database"],
        )
        for database, count in sorted(self.routing.served.items()):
            family.add_metric([database], count)
        yield family
