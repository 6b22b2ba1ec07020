"""Database failures as FHIR answers: an outage is 503 (transient, Retry-After), never a 500.

A connection the database terminated (restart, failover, `pg_terminate_backend`), one that
cannot be opened, a pool with no connection free in time or a locked SQLite file are
transient: the client may try again. They are answered where they are caught (the routes'
exception handlers, the authentication middleware) so that the exception never reaches the
server, which would close the client's connection after the response.
"""

from __future__ import annotations

import logging
import sqlite3

import psycopg
from sqlalchemy import exc as sa
from starlette.responses import Response

from samhandling.api.responses import error_response
from samhandling.fhir.outcome import FhirError, error

log = logging.getLogger("samhandling.api")
RETRY_AFTER_SECONDS = 2
# SQLSTATE classes of a lost or refused connection: 08 connection exception, 53
# insufficient resources (too many connections), 57P operator intervention (admin or
# crash shutdown, cannot connect now). 57014 (query_canceled) is not one: a statement
# timeout is the request's own cost, not an outage.
_OUTAGE_SQLSTATES = ("08", "53", "57P")
_SQLITE_TRANSIENT = ("database is locked", "unable to open database", "disk i/o error")


def is_database_outage(exc: BaseException) -> bool:
    """True when `exc` means the database is (for now) out of reach, not that the request
    is wrong: the answer is 503 and the client may retry."""
    if isinstance(exc, sa.TimeoutError | sa.PendingRollbackError):
        return True  # no pooled connection in time; a transaction broken by a lost link
    if isinstance(exc, sa.DBAPIError):
        orig = exc.orig
        return exc.connection_invalidated or (orig is not None and is_database_outage(orig))
    if isinstance(exc, psycopg.InterfaceError):
        return True  # the connection is closed
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        return state is None or state.startswith(_OUTAGE_SQLSTATES)
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).lower().startswith(_SQLITE_TRANSIENT)
    return False


def outage_error() -> FhirError:
    """The 503 of a database outage (no detail of the driver's reaches the client)."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return FhirError(503, error("transient", "The database is unavailable; try again"), headers)


def database_error_response(exc: BaseException) -> Response:
    """The answer to a database error: 503 for an outage, 409 for a lost race on a unique
    key, else 500 (logged with its traceback; the client learns nothing of it)."""
    if is_database_outage(exc):
        # The driver's first line only: SQLAlchemy's text carries the statement's parameters.
        cause = getattr(exc, "orig", None) or exc
        log.warning("database unavailable: %s: %s", type(cause).__name__, _first_line(cause))
        return error_response(outage_error())
    log.error("unhandled database error", exc_info=exc)
    if isinstance(exc, sa.IntegrityError):
        # Two writers raced for the same new id: the loser gets a conflict, not a 500.
        message = "A concurrent write conflicted; retry"
        return error_response(FhirError(409, error("conflict", message)))
    return error_response(FhirError(500, error("exception", "Internal server error")))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
