"""Ceiling (a): the least a read by id can cost on our stack.

A bare Starlette app served by uvicorn (the same stack and settings as `samhandling serve`)
that answers `GET /fhir/{type}/{id}` with the stored JSON of the `resource` table, fetched
by primary key through the same driver (psycopg 3 or sqlite3) in Starlette's thread pool,
as the server does. No validation, no SQLAlchemy, no transaction (autocommit), a prepared
statement, one connection per pool thread. Whatever the server spends beyond this is ours.

    BENCH_DATABASE_URL=postgresql://… uvicorn bench.ceilings.bare_app:create_app --factory
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

FHIR_JSON = "application/fhir+json; charset=utf-8"
SELECT = "SELECT content, deleted FROM resource WHERE resource_type = {p} AND resource_id = {p}"


def _postgres_fetcher(url: str) -> Callable[[str, str], tuple[Any, ...] | None]:
    import psycopg

    local = threading.local()
    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    sql = SELECT.format(p="%s")

    def fetch(rtype: str, rid: str) -> tuple[Any, ...] | None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = psycopg.connect(conninfo, autocommit=True)
        return connection.execute(sql, (rtype, rid), prepare=True).fetchone()

    return fetch


def _sqlite_fetcher(url: str) -> Callable[[str, str], tuple[Any, ...] | None]:
    local = threading.local()
    path = url.removeprefix("sqlite:///")
    sql = SELECT.format(p="?")

    def fetch(rtype: str, rid: str) -> tuple[Any, ...] | None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = sqlite3.connect(path, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=30000")
        return connection.execute(sql, (rtype, rid)).fetchone()

    return fetch


def create_app() -> Starlette:
    url = os.environ["BENCH_DATABASE_URL"]
    fetch = _sqlite_fetcher(url) if url.startswith("sqlite") else _postgres_fetcher(url)

    async def read(request: Request) -> Response:
        row = await run_in_threadpool(fetch, request.path_params["type"], request.path_params["id"])
        if row is None or row[1]:
            return Response(b'{"resourceType":"OperationOutcome"}', 404, media_type=FHIR_JSON)
        return Response(bytes(row[0]), media_type=FHIR_JSON)

    async def ready(_request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[Route("/readyz", ready), Route("/fhir/{type}/{id}", read, methods=["GET"])]
    )
