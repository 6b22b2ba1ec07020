"""The clinician's work on critical information: confirm that an entry is still right
(`$confirm`) or mark it entered in error, with a reason (an update with `If-Match`
naming the version the page showed: a stale page is refused and the conflict shown).
Nothing is deleted: every version stays readable, as the service keeps them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from samhandling.fhir.outcome import FhirError
from samhandling.services.critical_information.kinds import KINDS
from samhandling.services.critical_information.stamps import ENTERED_IN_ERROR_REASON
from samhandling.web.access import Call
from samhandling.web.security import FormRefused

CRITICAL_TYPES = frozenset(kind.resource_type for kind in KINDS)
VERIFIED = {"AllergyIntolerance", "Condition"}  # entered-in-error is their verificationStatus
VERIFICATION = {
    "AllergyIntolerance": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
    "Condition": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
}
VERSION = re.compile(r"\d{1,9}")
MAX_REASON = 500


def entered_in_error(entry: dict[str, Any], reason: str) -> dict[str, Any]:
    """The entry marked entered in error, with the reason (`kj-entered-in-error-reason`)."""
    marked = copy.deepcopy(entry)
    rtype = str(marked.get("resourceType"))
    if rtype in VERIFIED:
        code = {"system": VERIFICATION[rtype], "code": "entered-in-error"}
        marked["verificationStatus"] = {"coding": [code]}
        marked.pop("clinicalStatus", None)  # R4: none for an entry entered in error
    else:
        marked["status"] = "entered-in-error"
    kept = [e for e in marked.get("extension") or [] if e.get("url") != ENTERED_IN_ERROR_REASON]
    marked["extension"] = [*kept, {"url": ENTERED_IN_ERROR_REASON, "valueString": reason}]
    return marked


class CriticalEntryWork:
    """The two forms of each critical-information entry (routes in `clinician`)."""

    def __init__(self, pages: Any) -> None:
        self.pages = pages  # the ClinicianPages: the caller, its views, the patient page

    def _target(self, request: Request) -> tuple[str, str, str]:
        rtype = request.path_params["type"]
        if rtype not in CRITICAL_TYPES:
            raise FormRefused(400, "not a kind of critical information")
        return request.path_params["id"], rtype, request.path_params["entry"][:64]

    async def confirm(self, request: Request) -> Response:
        """Confirm that the entry is still right (`$confirm`: who and when)."""
        session, principal = await self.pages.caller(request)
        await self.pages.views.form(request, session)
        pid, rtype, rid = self._target(request)
        await self.pages.views.data.invoke(principal, Call("confirm", rtype, rid, method="POST"))
        return RedirectResponse(f"/clinician/patient/{pid}?changed=confirm#critical-heading", 303)

    async def remove(self, request: Request) -> Response:
        """Mark the entry entered in error, based on the version the page showed."""
        session, principal = await self.pages.caller(request)
        form = await self.pages.views.form(request, session)
        pid, rtype, rid = self._target(request)
        version, reason = form.get("version", ""), form.get("reason", "").strip()
        if not VERSION.fullmatch(version) or not reason or len(reason) > MAX_REASON:
            raise FormRefused(400, "give a reason (at most 500 characters)")
        data = self.pages.views.data
        entry = await data.read(principal, rtype, rid)
        try:
            await data.update(principal, entered_in_error(entry, reason), int(version))
        except FhirError as exc:
            if exc.status not in (409, 412):
                raise
            conflict = [issue.diagnostics for issue in exc.issues]
            return await self.pages.patient(request, critical_conflict=conflict)
        return RedirectResponse(f"/clinician/patient/{pid}?changed=removed#critical-heading", 303)
