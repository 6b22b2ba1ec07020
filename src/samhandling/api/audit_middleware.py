"""Every FHIR request leaves an audit record before its response is released.

Successful writes, and every entry of a batch or transaction Bundle, are recorded inside
their own transaction (see `PolicyGuard.after_write`, `after_read`, `after_refusal`);
everything else — reads, searches, operations, refused and failed requests — is recorded
here through the journal, and the response waits until the record is committed. If it
cannot be recorded, the caller gets a 503 instead of the data.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from samhandling.api.database_errors import RETRY_AFTER_SECONDS, is_database_outage, outage_error
from samhandling.api.responses import error_response
from samhandling.audit.journal import AuditJournal
from samhandling.audit.records import AuditRecord
from samhandling.fhir.instants import now_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.audit_identities import audit_agent, mask_national_ids
from samhandling.interactions.policy_guard import note_guard
from samhandling.observability.metrics import interaction_of

log = logging.getLogger("samhandling.audit")


class AuditMiddleware:
    def __init__(self, app: ASGIApp, journal: AuditJournal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/fhir"):
            await self.app(scope, receive, send)
            return
        release = _Release(self, scope, receive, send)
        try:
            await self.app(scope, receive, release.hold)
        except Exception as exc:
            if release.streaming:  # recorded when the response began; it breaks off
                raise
            outage = is_database_outage(exc)
            try:
                await self._record(scope, 503 if outage else 500)
            except Exception:  # a database outage fails both: the request's error decides
                log.warning("the failed request could not be audited", exc_info=True)
            if not outage:
                raise
            await error_response(outage_error())(scope, receive, send)
            return
        if not release.streaming and not release.refused:
            await release.record_then_send()

    async def record_or_refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int
    ) -> bool:
        """Record the request; when it cannot be, answer 503 instead (False)."""
        try:
            await self._record(scope, status)
        except Exception:
            retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            outcome = FhirError(503, error("transient", "The access could not be audited"), retry)
            await error_response(outcome)(scope, receive, send)
            return False
        return True

    async def _record(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state", {})
        guard = state.get("guard")
        if guard is not None and guard.audited_at_commit and status < 400:
            self.journal.nudge()  # recorded inside the write transaction, to be linked
            return
        await self.journal.record(request_record(scope, status, state))


def request_record(scope: Scope, status: int, state: dict[str, Any]) -> AuditRecord:
    """The audit record of one request from what the guard saw."""
    principal, guard = state.get("principal"), state.get("guard")
    path, method = scope["path"], scope["method"]
    interaction = interaction_of(scope)
    if "$" in path:
        interaction = "operation:" + path.rsplit("$", 1)[1]
    query = scope.get("query_string", b"").decode("latin-1")
    record = AuditRecord(
        interaction=interaction,
        http_status=status,
        recorded_at_us=now_us(),
        agent=audit_agent(principal) if principal else {},
        query=mask_national_ids(f"{method} {path}?{query}") if query else None,
        method=method,
        path=path,
    )
    if guard is not None:
        note_guard(record, guard)
    record.destinations = list(state.get("audit_destinations", ()))  # federation peers asked
    if not record.entities:
        record.entities = _requested_entity(path)
    if status in (401, 403):
        _describe_refusal(record, scope, state)
    return record


def _describe_refusal(record: AuditRecord, scope: Scope, state: dict[str, Any]) -> None:
    """Why the request was refused and where it came from (BALP: agent.network)."""
    reason = state.get("refusal") or record.decision_reason
    if reason:
        record.outcome_description = mask_national_ids(str(reason))[:500]
    client = scope.get("client")
    if client:
        record.source_address = str(client[0])


def _requested_entity(path: str) -> list[tuple[str, str, str | None]]:
    parts = [p for p in path.split("/") if p][1:]
    if len(parts) >= 2 and not parts[0].startswith("_") and not parts[1].startswith(("$", "_")):
        return [(parts[0], parts[1], None)]
    return []


class _Release:
    """Holds a response until its request is recorded. A response in one body message
    (every FHIR JSON answer) is recorded when the handler has finished; a streamed one (raw
    document content, export files: a body message with `more_body`) is recorded before its
    first piece leaves and then streams through, so it is never held whole in memory."""

    def __init__(self, middleware: AuditMiddleware, scope: Scope, receive: Receive, send: Send):
        self.middleware, self.scope, self.receive, self.send = middleware, scope, receive, send
        self.held: list[Message] = []
        self.streaming = False
        self.refused = False

    async def hold(self, message: Message) -> None:
        if self.refused:
            return
        if self.streaming:
            await self.send(message)
            return
        self.held.append(message)
        streamed = message["type"] == "http.response.body" and message.get("more_body")
        if streamed and await self.record_then_send():
            self.streaming = True

    async def record_then_send(self) -> bool:
        status = self.held[0]["status"] if self.held else 500
        if not await self.middleware.record_or_refuse(self.scope, self.receive, self.send, status):
            self.refused = True
            return False
        for message in self.held:
            await self.send(message)
        self.held.clear()
        return True
