"""What the application runs beside its requests: started with the server, stopped after
it, in the reverse order (`RunningParts.lifespan`, Starlette's lifespan of `create_app`).

The audit journal (it links what an earlier run left waiting), the planner's statistics
upkeep, the services' background workers, and the connections the requests share: the
search federation's clients, the event loop's read connections, the read routing (a
replica's engine) and the engine itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from samhandling.audit.journal import AuditJournal
from samhandling.interactions.loop_read import LoopReads
from samhandling.interactions.transactions import ReadRouting
from samhandling.services.search_federation import SearchFederation
from samhandling.services.service import BackgroundWorker


class Upkeep(Protocol):
    """A thread of the server's own (the statistics upkeep): started, and stopped after
    the work in hand is done."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class RunningParts:
    """The parts the application starts and stops."""

    engine: Engine
    journal: AuditJournal | None
    statistics: Upkeep
    workers: list[BackgroundWorker]
    federation: SearchFederation
    loop_reads: LoopReads | None
    routing: ReadRouting

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Start the parts, serve, then stop them."""
        if self.journal is not None:
            self.journal.start()
        self.statistics.start()
        for worker in self.workers:
            worker.start()
        yield
        await run_in_threadpool(self.statistics.stop)  # a running ANALYZE finishes first
        for worker in reversed(self.workers):
            await worker.stop()
        await self.federation.close()
        if self.journal is not None:
            await self.journal.close()
        if self.loop_reads is not None:
            await self.loop_reads.close()
        self.routing.close()
        self.engine.dispose()
