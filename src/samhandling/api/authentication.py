"""Authentication of every FHIR request (deny by default) and the trusted issuers.

Only the CapabilityStatement and the SMART discovery document are open; health checks and
metrics live outside `/fhir`. The principal is put on `request.state.principal`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from samhandling.api.database_errors import is_database_outage, outage_error
from samhandling.api.responses import error_response, fhir_response
from samhandling.auth import (
    Authenticator,
    AuthError,
    AuthSettings,
    DevIssuer,
    Principal,
    ReplayCache,
)
from samhandling.auth.principal import RegisterStanding
from samhandling.auth.settings import TrustedIssuer
from samhandling.config import Settings
from samhandling.interactions.patient_identity import patient_ids_for_pids
from samhandling.interactions.transactions import read_transaction
from samhandling.observability.request_context import (
    note_client,
    note_refusal,
    request_headers,
)
from samhandling.services.identity import check_principal_registered, confirm_powers_of_attorney

MAX_CACHED_CALLERS = 10_000
OPEN_PATHS = frozenset({"/fhir/metadata", "/fhir/.well-known/smart-configuration"})

log = logging.getLogger("samhandling.api")


class NoTrustedIssuer(RuntimeError):
    """Raised at start-up: without a trusted issuer no request could ever be allowed."""


def trusted_issuers(settings: Settings, dev: DevIssuer | None) -> tuple[TrustedIssuer, ...]:
    """The configured issuers plus the development issuer (when enabled)."""
    configured = tuple(
        TrustedIssuer(item["issuer"], item.get("jwks_uri"), item.get("kind", "helseid"))
        for item in json.loads(settings.trusted_issuers or "[]")
    )
    issuers = configured + (dev.trusted_issuers() if dev else ())
    if not issuers:
        raise NoTrustedIssuer(
            "no trusted token issuer: set SAMHANDLING_TRUSTED_ISSUERS, or use --dev-issuer"
        )
    return issuers


def make_authenticator(
    settings: Settings, dev: DevIssuer | None, replay_cache: ReplayCache
) -> Authenticator:
    """The authenticator of the server; DPoP proofs are remembered in `replay_cache` (the
    database's, `store.dpop_replay.DatabaseReplayCache`, shared by every worker)."""
    issuers = trusted_issuers(settings, dev)
    auth_settings = AuthSettings(
        issuers=issuers, audience=settings.audience, require_dpop=settings.require_dpop
    )
    return Authenticator(auth_settings, replay_cache=replay_cache)


class CallerVerifier:
    """Verifies a caller's token and gives the principal the facts the policy needs.

    A citizen's powers of attorney get the platform's register's answer on every request
    (`services.identity.confirm_powers_of_attorney`; not cached, so a revocation holds
    from the next request). With `registers`, the registers' answer on the caller's
    practitioner (HPR number and authorisation) and organisations goes on the principal as
    a fact for the policy (`Principal.registers`); with `enforce_registers` as well, a
    caller missing from them is refused with 403 at the door.
    The URL a DPoP proof's `htu` must name is `public_root` (the configured base URL
    without `/fhir`) + the request path: never built from the `Host` header, which the
    client chooses (RFC 9449 §4.3 check 9; issue 16).
    """

    def __init__(
        self,
        authenticator: Authenticator,
        engine: Engine,
        public_root: str,
        registers: RegisterCheck | None = None,
        enforce_registers: bool = True,
    ) -> None:
        self.authenticator = authenticator
        self.engine = engine
        self.public_root = public_root.rstrip("/")
        self.registers = registers
        self.enforce_registers = enforce_registers
        self._standings: dict[int, tuple[Principal, str | None, Principal]] = {}

    def principal(self, method: str, url: str, headers: Mapping[str, str]) -> Principal:
        """The caller of a request (AuthError when its token does not verify)."""
        principal = self.authenticator.authenticate(method, url, headers)
        if self.registers is not None:
            principal = self._standing(principal, self.registers.refusal(principal))
        if principal.patient_pids:
            with read_transaction(self.engine) as connection:
                ids = patient_ids_for_pids(connection, principal.patient_pids)
                principal = principal.with_patient_ids(ids)
                # every request: a revoked or expired grant stops access at once
                principal = confirm_powers_of_attorney(connection, principal, datetime.now(UTC))
        return principal

    def principal_at_hand(
        self, method: str, url: str, headers: Mapping[str, str]
    ) -> Principal | None:
        """The caller as `principal` gives it when that needs no I/O (a remembered Bearer
        token, the registers' answer cached, no patient to look up): called on the event
        loop, it spares the request a hop to a worker thread. None: call `principal`."""
        principal = self.authenticator.authenticate_at_hand(method, url, headers)
        if principal is None or principal.patient_pids:
            return None
        if self.registers is None:
            return principal
        known, reason = self.registers.remembered(principal)
        return self._standing(principal, reason) if known else None

    def _standing(self, principal: Principal, reason: str | None) -> Principal:
        """The registers' answer on the principal; refused at the door if enforced. The
        principal with that answer is kept for the same (remembered) principal object and
        the same answer: the next request of the token does not copy it again."""
        if reason and self.enforce_registers:
            raise AuthError(403, f"not in the base registers: {reason}", issue_code="forbidden")
        kept = self._standings.get(id(principal))
        if kept is not None and kept[0] is principal and kept[1] == reason:
            return kept[2]
        standing = replace(principal, registers=RegisterStanding(reason))
        if len(self._standings) >= MAX_CACHED_CALLERS:
            self._standings.clear()
        # the principal itself is kept in the entry, so its id cannot be reused meanwhile
        self._standings[id(principal)] = (principal, reason, standing)
        return standing

    def principal_of(self, token: str) -> Principal:
        """The caller of a Bearer `token` a front end holds (the web views' session),
        verified and given the same facts as a request's caller."""
        headers = {"authorization": f"Bearer {token}"}
        return self.principal("GET", self.public_root + "/fhir", headers)


class AuthenticationMiddleware:
    """Verifies the access token of every `/fhir` request; 401 with WWW-Authenticate if not."""

    def __init__(self, app: ASGIApp, verifier: CallerVerifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/fhir") or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        url = self.verifier.public_root + path
        headers = request_headers(scope)
        method = scope["method"]
        try:
            principal = self.verifier.principal_at_hand(method, url, headers)
            if principal is None:  # I/O to do: on a worker thread
                principal = await run_in_threadpool(self.verifier.principal, method, url, headers)
        except AuthError as exc:
            # Logged once: the reason goes on the request's log line (MetricsMiddleware);
            # the audit record takes it from the scope.
            note_refusal(f"{exc.error or exc.issue_code}: {exc.description}")
            scope.setdefault("state", {})["refusal"] = exc.description
            response = fhir_response(exc.outcome(), exc.status, exc.headers)
            await response(scope, receive, send)
            return
        except Exception as exc:  # the patient or register look-up met a database outage
            if not is_database_outage(exc):
                raise
            log.warning("authentication: the database is unavailable")
            await error_response(outage_error())(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        note_client(principal.client.client_id)
        await self.app(scope, receive, send)


class RegisterCheck:
    """`check_principal_registered` with a short cache (registers change rarely)."""

    def __init__(self, engine: Engine, ttl_seconds: float = 60.0) -> None:
        self.engine = engine
        self.ttl = ttl_seconds
        self._cache: dict[tuple[object, ...], tuple[float, str | None]] = {}

    def remembered(self, principal: Principal) -> tuple[bool, str | None]:
        """Whether the answer on `principal` is cached (and fresh), and that answer."""
        cached = self._cache.get(_caller_key(principal))
        if cached and time.monotonic() - cached[0] < self.ttl:
            return True, cached[1]
        return False, None

    def refusal(self, principal: Principal) -> str | None:
        """Why the registers refuse `principal` (None: they know it), cached `ttl_seconds`."""
        known, reason = self.remembered(principal)
        if known:
            return reason
        key = _caller_key(principal)
        with read_transaction(self.engine) as connection:
            reason = check_principal_registered(connection, principal)
        if len(self._cache) >= MAX_CACHED_CALLERS:
            self._cache.clear()
        self._cache[key] = (time.monotonic(), reason)
        return reason


def _caller_key(principal: Principal) -> tuple[object, ...]:
    attestation = principal.attestation
    return (
        principal.kind,
        principal.hpr_number,
        principal.organisation,
        attestation.authorization_code if attestation else None,
    )
