"""A single write's commit in one round trip on PostgreSQL (issue 24).

At the commit a single write sends its audit row (a pre-commit hook of `write_connection`),
its buffered rows (the index buffer's `commit` listener) and COMMIT: three statements whose
answers no one reads, each sent and waited for alone. In libpq's pipeline mode they go
together and one Sync collects every answer: the connection enters the pipeline before the
hooks, the dialect's COMMIT (wrapped by `exchanging_commits`) queues its COMMIT last and
leaves the pipeline, which sends the Sync and waits once. A statement that fails makes the
server skip the rest up to the Sync, COMMIT included: the error is raised from the
dialect's COMMIT as it would be from the statement (SQLAlchemy wraps it as a `DBAPIError`)
and the transaction, left failed, is rolled back when the pool takes the connection back.

Only statements sent on psycopg's cursors without reading their answers may run in the
exchange: a SQLAlchemy statement reads its cursor's description at once, and COPY cannot go
in a pipeline. Whoever queues the commit's statements says when that holds
(`database.pipeline_commit_if`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

_KEY = "samhandling_commit_exchange"


class CommitExchange:
    """The pipeline of one commit phase on a pooled psycopg connection: opened before the
    pre-commit hooks, ended by the dialect's COMMIT (`commit`) or, when the phase fails
    before it, by `close`."""

    __slots__ = ("_dbapi", "_pipeline")

    def __init__(self, pooled: Any) -> None:
        self._dbapi: Any = pooled.dbapi_connection
        self._pipeline: AbstractContextManager[Any] | None = self._dbapi.pipeline()
        self._pipeline.__enter__()
        pooled.info[_KEY] = self

    def commit(self) -> None:
        """Queue COMMIT and leave the pipeline: one Sync, one wait for every answer; the
        first failed statement's error is raised here."""
        self._dbapi.execute("COMMIT", prepare=False)
        self.close(None)

    def close(self, failure: BaseException | None) -> None:
        """Leave the pipeline (waiting for the answers to what was sent), once."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            kind = type(failure) if failure is not None else None
            where = failure.__traceback__ if failure is not None else None
            pipeline.__exit__(kind, failure, where)


@contextmanager
def opened(pooled: Any, conditions: Sequence[Callable[[], bool]] | None) -> Iterator[None]:
    """The pre-commit phase of a write transaction, its statements in the exchange that the
    COMMIT ends when every one of `conditions` holds (asked now); a failure in the phase
    closes the exchange before the rollback."""
    if not conditions or not all(condition() for condition in conditions):
        yield
        return
    exchange = CommitExchange(pooled)
    try:
        yield
    except BaseException as failure:
        _taken(pooled)
        exchange.close(failure)
        raise


@contextmanager
def ended(pooled: Any) -> Iterator[None]:
    """Around a write transaction: an exchange its COMMIT did not end (the commit failed
    before it, or the transaction rolled back) is closed when the transaction is over."""
    try:
        yield
    finally:
        left = _taken(pooled)
        if left is not None:
            left.close(None)


def exchanging(do_commit: Callable[[Any], None]) -> Callable[[Any], None]:
    """The dialect's COMMIT, ending an open exchange instead of committing alone."""

    def commit(pooled: Any) -> None:
        exchange = _taken(pooled)
        if exchange is None:
            do_commit(pooled)
        else:
            exchange.commit()

    return commit


def _taken(pooled: Any) -> CommitExchange | None:
    """The exchange open on a pooled connection, taken from it."""
    info = getattr(pooled, "info", None)
    return info.pop(_KEY, None) if isinstance(info, dict) else None
