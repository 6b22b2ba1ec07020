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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool

from samhandling.audit.records import AuditRecord
from samhandling.auth import Principal
from samhandling.fhir.instants import now_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.front_end import FrontEndParts
from samhandling.interactions import crud, read
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.operations import OperationContext, parameters_of
from samhandling.interactions.policy_guard import (
    PolicyGuard,
    audit_agent,
    mask_national_ids,
    note_guard,
)
from samhandling.interactions.transactions import read_transaction, write_transaction, writer

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """The FHIR request a web call stands for (what the audit trail records)."""

    interaction: str
    method: str
    path: str
    items: tuple[tuple[str, str], ...] = ()


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
        operation = self.operations.find(name, "instance", "Patient", "GET")
        items = items or []
        guard = self.guard(principal)

        def run() -> dict[str, Any]:
            guard.check_request(f"operation:{operation.name}", "Patient")
            parameters = parameters_of(None, items)
            with read_transaction(self.parts.engine) as connection:
                context = OperationContext(
                    connection,
                    writer(connection, guard, self.write_rules),
                    guard,
                    self.base,
                    "Patient",
                    patient_id,
                    parameters,
                )
                return operation.handler(context).body

        request = Request(
            f"operation:{name}", "GET", f"/fhir/Patient/{patient_id}/${name}", tuple(items)
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

        request = Request("create", "POST", f"/fhir/{rtype}")
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
        await self._record(principal, guard, request, 201 if request.method == "POST" else 200)
        return result

    async def _record(
        self, principal: Principal, guard: PolicyGuard, request: Request, status: int
    ) -> None:
        journal = self.parts.journal
        if journal is None:
            return
        if guard.writes_audited and status < 400:
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
