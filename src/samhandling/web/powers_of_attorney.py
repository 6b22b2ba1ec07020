"""The citizen's powers of attorney ("Fullmakter"): whom they gave one, who gave them one,
and the forms to give one and to revoke it.

Everything goes through the identity service's operations under the caller's guard
(`$powers-of-attorney`, `$grant-power-of-attorney`, `$revoke-power-of-attorney`), which
allow only the person themself on their own record: the page is always about the logged-in
citizen, never about someone they act for. The national ID is sent in the operation's body,
so it is in no URL and no audit query.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from samhandling.auth import Principal
from samhandling.fhir.outcome import FhirError, error
from samhandling.services.identity import power_of_attorney_operations as ops
from samhandling.web.access import Call
from samhandling.web.sessions import Session
from samhandling.web.views import WebViews

PAGE = "/citizen/powers-of-attorney"
ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
DONE = ("granted", "revoked")
#: the service's refusals, as the page words them (others are shown as the service says)
REFUSALS = {
    ops.NOT_FOUND: "poa_error_not_found",
    ops.SELF: "poa_error_self",
    ops.MINOR_ATTORNEY: "poa_error_minor",
    ops.MINOR_GRANTOR: "poa_error_grantor_minor",
    ops.ALREADY: "poa_error_already",
    ops.NOT_A_NUMBER: "poa_error_number",
    ops.NOT_A_PERSON_NUMBER: "poa_error_number",
    ops.END_DATE: "poa_error_end",
}


def own_patient(principal: Principal) -> str | None:
    """The Patient id of the citizen themself (None: not in the Patient register)."""
    return next((a.patient_id for a in principal.acts_for if a.relation == "self"), None)


def grant_rows(answer: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The `given` or `received` entries of `$powers-of-attorney`, as rows."""
    rows = []
    for parameter in answer.get("parameter") or []:
        if parameter.get("name") != kind:
            continue
        row: dict[str, Any] = {"start": None, "end": None, "grantor": None, "current": False}
        for part in parameter.get("part") or []:
            value = next((v for k, v in part.items() if k.startswith("value")), None)
            if isinstance(value, dict):
                value = str(value.get("reference", "")).partition("/")[2]
            row[part.get("name")] = value
        rows.append(row)
    return rows


class PowerOfAttorneyPages:
    """`/citizen/powers-of-attorney` and its two forms."""

    def __init__(self, views: WebViews) -> None:
        self.views = views

    def routes(self) -> list[Route]:
        guarded = self.views.guarded
        return [
            Route(PAGE, guarded(self.page), methods=["GET"]),
            Route(f"{PAGE}/grant", guarded(self.grant), methods=["POST"]),
            Route(f"{PAGE}/{{grant}}/revoke", guarded(self.revoke), methods=["POST"]),
        ]

    async def page(self, request: Request) -> Response:
        session, principal = await self.views.caller(request)
        if principal.kind != "citizen":
            return RedirectResponse("/clinician", 303)
        done = request.query_params.get("done")
        return await self._show(request, session, principal, done=done if done in DONE else None)

    async def grant(self, request: Request) -> Response:
        session, principal = await self.views.caller(request)
        form = await self.views.form(request, session)
        fields = [
            ("attorney", form.get("attorney", "")),
            ("family", form.get("family", "")),
            ("end", form.get("end", "")),
        ]
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": k, "valueString": v.strip()} for k, v in fields if v.strip()],
        }
        return await self._change(request, session, principal, Call(ops.GRANT, "Patient"), body)

    async def revoke(self, request: Request) -> Response:
        session, principal = await self.views.caller(request)
        await self.views.form(request, session)
        grant = str(request.path_params["grant"])
        if not ID.fullmatch(grant):
            raise FhirError(404, error("not-found", "No such power of attorney"))
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "grant", "valueString": grant}],
        }
        return await self._change(request, session, principal, Call(ops.REVOKE, "Patient"), body)

    async def _change(
        self,
        request: Request,
        session: Session,
        principal: Principal,
        call: Call,
        body: dict[str, Any],
    ) -> Response:
        """Run the operation on the citizen's own record; back to the page with its outcome
        (a refusal is shown on the page with the form, nothing written)."""
        call.resource_id, call.method, call.body = own_patient(principal), "POST", body
        if call.resource_id is None:
            raise FhirError(404, error("not-found", "You are not in the Patient register"))
        try:
            await self.views.data.invoke(principal, call)
        except FhirError as exc:
            if exc.status not in (400, 403, 404, 409, 422):
                raise
            message = "; ".join(i.diagnostics for i in exc.issues if i.diagnostics)
            return await self._show(request, session, principal, refusal=message, status=exc.status)
        done = "granted" if call.name == ops.GRANT else "revoked"
        return RedirectResponse(f"{PAGE}?done={done}", 303)

    async def _show(
        self,
        request: Request,
        session: Session,
        principal: Principal,
        *,
        done: str | None = None,
        refusal: str | None = None,
        status: int = 200,
    ) -> Response:
        own = own_patient(principal)
        answer: dict[str, Any] = {}
        if own is not None:
            answer = await self.views.data.operation(principal, ops.LIST, own)
        return self.views.page(
            request,
            "powers_of_attorney.html",
            session,
            status,
            name=principal.name or "",
            known=own is not None,
            given=grant_rows(answer, "given"),
            received=grant_rows(answer, "received"),
            done=done,
            refusal=refusal,
            refusal_key=REFUSALS.get(refusal or ""),
        )
