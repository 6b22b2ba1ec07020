"""How the web views reach data: exactly as the API does, so they are judged and audited
the same.

Every call gets a `PolicyGuard` of the caller's principal with the services' rules (the
one policy function), runs the same interactions and `$operations` in one transaction,
and leaves the same audit record the API's middleware leaves for the equivalent FHIR
request (`path` and `interaction` are the FHIR ones: `Patient/x/$critical-information`
reads as such in the citizen's access log, whichever front end asked); writes are audited
inside their own transaction by the guard, as in the API. The record is committed before
the page is answered; if it cannot be, the page is not shown (503).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool

from samhandling.audit.records import AuditRecord
from samhandling.auth import Principal
from samhandling.fhir.instants import now_us
from samhandling.fhir.outcome import FhirError, Issue, error
from samhandling.front_end import FrontEndParts
from samhandling.interactions import crud, read
from samhandling.interactions.audit_identities import audit_agent, mask_national_ids
from samhandling.interactions.binary_content import (
    Retrieval,
    binary_for_retrieval,
    content_pieces,
)
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.operations import (
    Level,
    OperationContext,
    OperationResult,
    parameters_of,
)
from samhandling.interactions.policy_guard import PolicyGuard, note_guard
from samhandling.interactions.transactions import read_transaction, write_transaction, writer

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """The FHIR request a web call stands for (what the audit trail records)."""

    interaction: str
    method: str
    path: str
    items: tuple[tuple[str, str], ...] = ()
    writes: bool = False


@dataclass
class Call:
    """An `$operation` a page invokes: on a type, or on one resource (`resource_id`)."""

    name: str
    resource_type: str
    resource_id: str | None = None
    items: list[tuple[str, str]] = field(default_factory=list)
    method: str = "GET"
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def path(self) -> str:
        """The FHIR path the call stands for (what the audit trail records)."""
        instance = f"/{self.resource_id}" if self.resource_id else ""
        return f"/fhir/{self.resource_type}{instance}/${self.name}"


class DataAccess:
    """The web views' way to the interactions, for one application."""

    def __init__(self, parts: FrontEndParts) -> None:
        self.parts = parts
        self.base = parts.settings.base_url
        self.rules = parts.platform.policy_rules()
        self.operations = parts.platform.operations()
        self.write_rules = parts.platform.write_rules

    def guard(self, principal: Principal) -> PolicyGuard:
        return PolicyGuard(
            principal, service_rules=self.rules, audit_writes=self.parts.settings.audit
        )

    async def operation(
        self,
        principal: Principal,
        name: str,
        patient_id: str,
        items: list[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        """A GET `Patient/{id}/$name` under the caller's guard (as `api.operation_routes`)."""
        return (await self.invoke(principal, Call(name, "Patient", patient_id, items or []))).body

    async def invoke(self, principal: Principal, call: Call) -> OperationResult:
        """Any `$operation` under the caller's guard, as `api.operation_routes` runs it: a
        writing one in a write transaction (audited inside it), the others read-only."""
        level: Level = "instance" if call.resource_id else "type"
        operation = self.operations.find(call.name, level, call.resource_type, call.method)
        guard = self.guard(principal)

        def run() -> OperationResult:
            if call.resource_id:
                guard.check_instance_operation(f"operation:{operation.name}", call.resource_type)
            else:
                guard.check_request(f"operation:{operation.name}", call.resource_type)
            parameters = parameters_of(call.body, call.items)
            opener = write_transaction if operation.writes else read_transaction
            with opener(self.parts.engine) as connection:
                context = OperationContext(
                    connection,
                    writer(connection, guard, self.write_rules),
                    guard,
                    self.base,
                    call.resource_type,
                    call.resource_id,
                    parameters,
                    call.body,
                    headers=call.headers,
                    data_dir=self.parts.settings.data_dir,
                )
                result = operation.handler(context)
                if result.status >= 400:  # a refusal answered, not raised (e.g. a stale list)
                    raise FhirError(result.status, _issues(result.body), result.headers)
                return result

        request = Request(
            f"operation:{call.name}", call.method, call.path(), tuple(call.items), operation.writes
        )
        return await self._audited(principal, guard, request, run)

    async def search(
        self, principal: Principal, resource_type: str, items: list[tuple[str, str]]
    ) -> dict[str, Any]:
        """A search under the caller's guard: only what the policy lets it see."""
        guard = self.guard(principal)

        def run() -> dict[str, Any]:
            with read_transaction(self.parts.engine) as connection:
                return guarded_search(connection, resource_type, items, self.base, guard)

        request = Request("search", "GET", f"/fhir/{resource_type}", tuple(items))
        return await self._audited(principal, guard, request, run)

    async def read(self, principal: Principal, resource_type: str, rid: str) -> dict[str, Any]:
        """A read under the caller's guard (404 for what a citizen may not see)."""
        guard = self.guard(principal)

        def run() -> dict[str, Any]:
            with read_transaction(self.parts.engine) as connection:
                return read.read(connection, resource_type, rid, guard).resource()

        request = Request("read", "GET", f"/fhir/{resource_type}/{rid}")
        return await self._audited(principal, guard, request, run)

    async def update(
        self, principal: Principal, resource: dict[str, Any], if_match: int
    ) -> dict[str, Any]:
        """An update (`PUT` with `If-Match`) through the services' write rules: a stale
        version is the interaction's 412, nothing written."""
        guard = self.guard(principal)
        rtype, rid = str(resource.get("resourceType")), str(resource.get("id"))

        def run() -> dict[str, Any]:
            with write_transaction(self.parts.engine) as connection:
                written = crud.update(
                    writer(connection, guard, self.write_rules),
                    rtype,
                    rid,
                    resource,
                    if_match=if_match,
                )
                return written.version.resource()

        request = Request("update", "PUT", f"/fhir/{rtype}/{rid}", writes=True)
        return await self._audited(principal, guard, request, run)

    async def retrieve(self, principal: Principal, binary_id: str) -> Retrieval:
        """A document's content under the caller's guard, as ITI-68 (`GET Binary/{id}`)
        retrieves it: 404 for what the caller may not see, 500 when its bytes fail their
        integrity check; the bytes themselves come from `content`."""
        guard = self.guard(principal)

        def run() -> Retrieval:
            with read_transaction(self.parts.engine) as connection:
                return binary_for_retrieval(connection, binary_id, guard)

        request = Request("read", "GET", f"/fhir/Binary/{binary_id}")
        return await self._audited(principal, guard, request, run)

    def content(self, retrieval: Retrieval) -> Iterator[bytes]:
        """The bytes of a retrieval, piece by piece."""
        return content_pieces(self.parts.engine, retrieval, 0, retrieval.size)

    async def create(self, principal: Principal, resource: dict[str, Any]) -> dict[str, Any]:
        """A create through the services' write rules (audited inside its transaction)."""
        guard = self.guard(principal)
        rtype = str(resource.get("resourceType"))

        def run() -> dict[str, Any]:
            with write_transaction(self.parts.engine) as connection:
                written = crud.create(
                    writer(connection, guard, self.write_rules), resource, resource_type=rtype
                )
                return written.version.resource()

        request = Request("create", "POST", f"/fhir/{rtype}", writes=True)
        return await self._audited(principal, guard, request, run)

    async def _audited(
        self,
        principal: Principal,
        guard: PolicyGuard,
        request: Request,
        action: Callable[[], T],
    ) -> T:
        try:
            result = await run_in_threadpool(action)
        except FhirError as exc:
            await self._record(principal, guard, request, exc.status)
            raise
        except Exception:
            await self._record(principal, guard, request, 500)
            raise
        await self._record(principal, guard, request, 201 if request.writes else 200)
        return result

    async def _record(
        self, principal: Principal, guard: PolicyGuard, request: Request, status: int
    ) -> None:
        journal = self.parts.journal
        if journal is None:
            return
        if guard.audited_at_commit and status < 400:
            journal.nudge()  # recorded inside the write transaction, to be linked
            return
        query = urlencode(request.items)
        record = AuditRecord(
            interaction=request.interaction,
            http_status=status,
            recorded_at_us=now_us(),
            agent=audit_agent(principal),
            query=mask_national_ids(f"{request.method} {request.path}?{query}") if query else None,
            method=request.method,
            path=request.path,
        )
        note_guard(record, guard)
        if status in (401, 403):
            denied = [d for d in guard.decisions if not d.allowed]
            if denied:
                record.outcome_description = mask_national_ids(denied[-1].reason)[:500]
        try:
            await journal.record(record)
        except Exception as exc:
            raise FhirError(503, error("transient", "The access could not be audited")) from exc


def _issues(outcome: dict[str, Any]) -> list[Issue]:
    """The issues of an OperationOutcome answered by an operation."""
    return [
        Issue(
            str(i.get("severity", "error")),
            str(i.get("code", "processing")),
            str(i.get("diagnostics", "")),
        )
        for i in outcome.get("issue") or []
    ] or [error("processing", "The operation was refused")]
