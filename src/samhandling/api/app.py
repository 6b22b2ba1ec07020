"""The ASGI application: routes, authentication, error handling, health and metrics."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from samhandling.api.audit_middleware import AuditMiddleware
from samhandling.api.audit_routes import audit_routes
from samhandling.api.authentication import (
    AuthenticationMiddleware,
    CallerVerifier,
    RegisterCheck,
    make_authenticator,
)
from samhandling.api.binary_routes import binary_routes
from samhandling.api.capability import capability_statement
from samhandling.api.consistency import ConsistencyMiddleware, RoutedReadsCollector
from samhandling.api.database_errors import database_error_response, is_database_outage
from samhandling.api.dev_login import authorization_server, dev_issuer
from samhandling.api.export_routes import export_routes
from samhandling.api.federation_routes import federation_routes
from samhandling.api.interaction_dispatch import (
    DispatchedInteractions,
    InteractionDispatch,
    interaction_dispatch,
)
from samhandling.api.operation_routes import operation_routes
from samhandling.api.responses import error_response, fhir_response
from samhandling.api.rest import FhirRestApi
from samhandling.api.running_parts import RunningParts
from samhandling.api.search_routes import search_routes
from samhandling.api.smart_configuration import smart_configuration
from samhandling.api.store_start import database_engine, prepare_store
from samhandling.api.subscription_socket import socket_route
from samhandling.audit.journal import AuditJournal
from samhandling.auth import DevIssuer
from samhandling.auth.dev.routes import dev_issuer_routes
from samhandling.config import Settings, settings_from_env
from samhandling.fhir.outcome import FhirError, error
from samhandling.front_end import FrontEnd, FrontEndParts
from samhandling.interactions.loop_read import LoopReads
from samhandling.interactions.store_runtime import DatabaseReplayCache, keep_fresh, ping
from samhandling.interactions.transactions import CONSISTENCY_HEADER, ReadRouting, read_routing
from samhandling.observability.json_logging import configure_logging
from samhandling.observability.metrics import Metrics, MetricsMiddleware
from samhandling.services import platform_of
from samhandling.services.patient_summary import signing
from samhandling.services.search_federation import SearchFederation
from samhandling.services.service import Platform, Service

log = logging.getLogger("samhandling.api")


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    services: Sequence[Service] | None = None,
    front_ends: Sequence[FrontEnd] = (),
) -> Starlette:
    """The whole HTTP application for `settings`, built of `services` (default: the
    platform's and those `settings.services` names) and `front_ends` (the web views:
    `samhandling.server`); the schema is migrated on start."""
    platform = platform_of(settings.services) if services is None else Platform.of(services)
    if not settings.audit and settings.production:
        raise RuntimeError("the audit trail cannot be switched off in production mode")
    federation = platform.search_federation(settings)  # a bad peers file stops us here
    dev = dev_issuer(settings)
    engine = engine or database_engine(settings)
    verifier = _caller_verifier(settings, dev, engine)
    prepare_store(engine, settings, platform)
    metrics = Metrics()
    running = _running_parts(engine, settings, platform, federation, metrics)
    api = _rest_api(engine, settings, platform, federation, running.routing, running.loop_reads)
    parts = FrontEndParts(engine, settings, platform, running.journal, dev, verifier.principal_of)
    generic = _generic_routes(api)
    routes: list[BaseRoute] = [
        *_operational_routes(engine, metrics),
        *(_dev_issuer_routes(dev, engine, settings) if dev else []),
        *_fhir_routes(api, settings, platform, generic),
        *(route for front_end in front_ends for route in front_end(parts)),
    ]
    handlers = _exception_handlers()
    dispatch = _dispatch(api, generic, routes, handlers)
    app = Starlette(
        routes=routes,
        lifespan=running.lifespan,
        middleware=_middleware(settings, metrics, running, verifier, dispatch),
        exception_handlers=handlers,
    )
    return _with_state(app, settings, engine, running, dispatch)


def _with_state(
    app: Starlette,
    settings: Settings,
    engine: Engine,
    running: RunningParts,
    dispatch: InteractionDispatch,
) -> Starlette:
    """`app`, with what is read from its `state` (the subscription socket, the tests): the
    engine, the interaction dispatch, the event loop's reads and the settings."""
    app.state.engine = engine
    app.state.interaction_dispatch = dispatch
    app.state.loop_reads = running.loop_reads
    app.state.settings = settings
    return app


def _caller_verifier(settings: Settings, dev: DevIssuer | None, engine: Engine) -> CallerVerifier:
    """Who calls: the token verified (DPoP proofs remembered in the database), the caller's
    practitioner and organisations checked against the registers when configured."""
    return CallerVerifier(
        make_authenticator(settings, dev, DatabaseReplayCache(engine)),
        engine,
        settings.public_root,
        RegisterCheck(engine),
        settings.check_registers,
    )


def _middleware(
    settings: Settings,
    metrics: Metrics,
    running: RunningParts,
    verifier: CallerVerifier,
    dispatch: InteractionDispatch,
) -> list[Middleware]:
    """The layers around the routes, outermost first: CORS, metrics, read consistency, the
    audit trail, authentication, the dispatch of reads by id and plain writes."""
    audit = [Middleware(AuditMiddleware, journal=running.journal)] if running.journal else []
    return [
        *_cors(settings),
        Middleware(MetricsMiddleware, metrics=metrics),
        *_consistency(running.routing, metrics),
        *audit,
        Middleware(AuthenticationMiddleware, verifier=verifier),
        Middleware(DispatchedInteractions, dispatch=dispatch),
    ]


def _running_parts(
    engine: Engine,
    settings: Settings,
    platform: Platform,
    federation: SearchFederation,
    metrics: Metrics,
) -> RunningParts:
    """What runs beside the requests: the audit journal, the statistics upkeep, the
    services' background workers (their metrics served), the read routing and the event
    loop's reads."""
    factories = platform.worker_factories if settings.background_workers else ()
    workers = [make(engine, settings) for make in factories]
    for worker in workers:
        metrics.include(worker)
    return RunningParts(
        engine=engine,
        journal=AuditJournal(engine) if settings.audit else None,
        statistics=keep_fresh(engine),  # the planner's, after large write volumes
        workers=workers,
        federation=federation,
        loop_reads=LoopReads.of(engine, statement_timeout_ms=settings.statement_timeout_ms),
        routing=read_routing(
            engine,
            settings.database_replica_url,
            max_lag_seconds=settings.replica_max_lag_seconds,
            statement_timeout_ms=settings.statement_timeout_ms,
        ),
    )


def _dispatch(
    api: FhirRestApi, generic: GenericRoutes, routes: list[BaseRoute], handlers: dict[Any, Any]
) -> InteractionDispatch:
    """Reads by id and plain writes without the route walk (the catch-all is Starlette's
    outermost layer's, as before): a read answered without a `Request`, a write by its
    endpoint."""
    caught = {kind: handler for kind, handler in handlers.items() if kind is not Exception}
    read = api.version_answer
    answers = [(generic.read, read), (generic.vread, read), *((r, None) for r in generic[2:])]
    return interaction_dispatch(routes, answers, caught)


def _exception_handlers() -> dict[Any, Any]:
    """The app's answers to errors, by exception class."""
    return {
        FhirError: _fhir_error,
        HTTPException: _http_error,
        # Database errors are answered here, inside the stack: an exception that reaches
        # the server makes it close the client's connection after the response.
        **dict.fromkeys(
            (DBAPIError, psycopg.Error, PoolTimeout, PendingRollbackError), _database_error
        ),
        Exception: _internal_error,
    }


def _cors(settings: Settings) -> list[Middleware]:
    """CORS for the configured browser origins (SMART apps): outermost, so that a
    preflight is answered before authentication; tokens travel in the Authorization
    header, never in cookies, so credentials are not allowed."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "DPoP",
                "If-Match",
                "Prefer",
                CONSISTENCY_HEADER,
            ],
            expose_headers=[
                "ETag",
                "Location",
                "Last-Modified",
                "X-Request-ID",
                CONSISTENCY_HEADER,
            ],
            max_age=600,
        )
    ]


def _dev_issuer_routes(dev: DevIssuer, engine: Engine, settings: Settings) -> list[BaseRoute]:
    codes = authorization_server(dev, engine, settings)
    return [*dev_issuer_routes(dev, production=settings.production, codes=codes)]


def _consistency(routing: ReadRouting, metrics: Metrics) -> list[Middleware]:
    """With a read replica: commit positions on the answers to writes, and the count of
    reads by the database that served them (docs/SCALING.md, "Read replicas")."""
    if not routing.replicated:
        return []
    metrics.registry.register(RoutedReadsCollector(routing))
    return [Middleware(ConsistencyMiddleware, routing=routing)]


def _rest_api(
    engine: Engine,
    settings: Settings,
    platform: Platform,
    federation: SearchFederation,
    routing: ReadRouting,
    loop_reads: LoopReads | None,
) -> FhirRestApi:
    return FhirRestApi(
        engine,
        settings,
        policy_rules=platform.policy_rules(),
        write_rules=platform.write_rules,
        audit=settings.audit,
        federation=federation,
        routing=routing,
        loop_reads=loop_reads,
    )


def _operational_routes(engine: Engine, metrics: Metrics) -> list[BaseRoute]:
    async def readyz(_request: Request) -> Response:
        ready = await run_in_threadpool(ping, engine)
        status = {"status": "ready" if ready else "database unavailable"}
        return JSONResponse(status, 200 if ready else 503)

    return [
        Route("/healthz", lambda _r: JSONResponse({"status": "ok"})),
        Route("/readyz", readyz),
        Route("/metrics", metrics.endpoint),
    ]


class GenericRoutes(NamedTuple):
    """The generic routes also reached by `InteractionDispatch` (without the route walk)."""

    read: Route
    vread: Route
    create: Route
    update: Route
    delete: Route


def _generic_routes(api: FhirRestApi) -> GenericRoutes:
    return GenericRoutes(
        read=Route("/fhir/{type}/{id}", api.read, methods=["GET"]),
        vread=Route("/fhir/{type}/{id}/_history/{vid}", api.vread, methods=["GET"]),
        create=Route("/fhir/{type}", api.create, methods=["POST"]),
        update=Route("/fhir/{type}/{id}", api.update, methods=["PUT"]),
        delete=Route("/fhir/{type}/{id}", api.delete, methods=["DELETE"]),
    )


def _fhir_routes(
    api: FhirRestApi, settings: Settings, platform: Platform, generic: GenericRoutes
) -> list[BaseRoute]:
    operations = platform.operations()
    smart = smart_configuration(settings)

    @functools.cache  # built at the first request for it, not for every app started
    def capability() -> dict[str, Any]:
        keys = [(op.name, op.level, op.resource_type) for op in operations.all()]
        return capability_statement(settings.base_url, keys, smart)

    return [
        Route("/fhir/metadata", lambda _r: fhir_response(capability())),
        Route("/fhir/.well-known/smart-configuration", lambda _r: JSONResponse(smart)),
        Route("/.well-known/smart-configuration", lambda _r: JSONResponse(smart)),
        _summary_signing_keys(settings),
        Route("/fhir", api.bundle, methods=["POST"]),
        Route("/fhir/_history", api.history, methods=["GET"]),
        socket_route(),
        *operation_routes(api, operations),
        *audit_routes(api),
        *export_routes(api),
        *federation_routes(api),
        *binary_routes(api),
        *search_routes(api),
        generic.create,
        Route("/fhir/{type}", api.conditional_update, methods=["PUT"]),
        Route("/fhir/{type}", api.conditional_delete, methods=["DELETE"]),
        Route("/fhir/{type}/_history", api.history, methods=["GET"]),
        generic.read,
        generic.update,
        Route("/fhir/{type}/{id}", api.patch, methods=["PATCH"]),
        generic.delete,
        Route("/fhir/{type}/{id}/_history", api.history, methods=["GET"]),
        generic.vread,
    ]


def _summary_signing_keys(settings: Settings) -> Route:
    """The public keys patient summaries are signed with (RFC 7517 JWK Set; every key not
    retired, newest first), for anyone who must verify a summary: no token needed."""

    async def keys(_request: Request) -> Response:
        found = await run_in_threadpool(signing.jwks, settings.data_dir)
        headers = {"Cache-Control": "public, max-age=300"}
        return JSONResponse(found, headers=headers, media_type="application/jwk-set+json")

    return Route("/.well-known/summary-signing-keys.json", keys)


async def _fhir_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)
    return error_response(exc)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
    return error_response(FhirError(exc.status_code, error(code, str(exc.detail)), exc.headers))


async def _database_error(_request: Request, exc: Exception) -> Response:
    return database_error_response(exc)


async def _internal_error(_request: Request, exc: Exception) -> Response:
    # Never leak internals: the details go to the log, the client gets a generic outcome.
    if is_database_outage(exc) or isinstance(exc, DBAPIError):
        return database_error_response(exc)  # raised in a middleware
    log.error("unhandled error", exc_info=exc)
    return error_response(FhirError(500, error("exception", "Internal server error")))


def create_app_from_env() -> Starlette:
    """App factory for `uvicorn --factory` worker processes (settings from SAMHANDLING_*)."""
    settings = settings_from_env()
    configure_logging(settings.log_level)
    return create_app(settings)
