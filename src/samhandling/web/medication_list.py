"""The clinician's work on the medication list: stop an entry (with a reason) and confirm
the reconciliation ("samstemming").

A change is the service's `$medication-list-update` with `If-Match` naming the version of
the list the page showed: the new list is the current entries with the one changed, so an
entry another prescriber added or changed since the page was shown is never dropped — the
service refuses the stale list (412) and the page shows the conflict, naming what changed,
with the current list. The confirmation is `$reconcile` (who and when, on the List).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from samhandling.fhir.outcome import FhirError
from samhandling.services.medication_list.listing import CHANGE_REASON, PAUSED, RECONCILED
from samhandling.web.access import Call
from samhandling.web.display import when
from samhandling.web.security import FormRefused

VERSION = re.compile(r"\d{1,9}")
MAX_REASON = 500


def list_state(document: dict[str, Any]) -> dict[str, Any]:
    """The List's version (what a change must be based on), its last reconciliation and
    its pause (who, since when, why, until), if any."""
    listing = next(
        (
            e["resource"]
            for e in document.get("entry", [])
            if (e.get("resource") or {}).get("resourceType") == "List"
        ),
        None,
    )
    state: dict[str, Any] = {"version": "0", "reconciled": None, "paused": None}
    if listing is None:
        return state
    state["version"] = str((listing.get("meta") or {}).get("versionId") or "0")
    for extension in listing.get("extension") or []:
        parts = {p.get("url"): _value(p) for p in extension.get("extension") or []}
        if extension.get("url") == RECONCILED:
            who = parts.get("practitionerName") or ""
            state["reconciled"] = f"{when(parts.get('time'))} – {who}".strip(" –")
        elif extension.get("url") == PAUSED:
            state["paused"] = pause_of(parts)
    return state


def _value(part: dict[str, Any]) -> Any:
    return next((v for k, v in part.items() if k.startswith("value")), None)


def pause_of(parts: dict[str, Any]) -> dict[str, str]:
    """The pause in words: the organisation and the clinician, since, why, until."""
    organisation = parts.get("organization") or {}
    by = parts.get("organizationName") or organisation.get("value") or ""
    who = parts.get("practitionerName") or ""
    return {
        "by": f"{by} ({who})" if by and who else by or who,
        "since": when(parts.get("time")),
        "reason": str(parts.get("reason") or ""),
        "until": when(parts.get("expectedEnd")),
    }


def stopped_list(document: dict[str, Any], entry_id: str, reason: str) -> list[dict[str, Any]]:
    """The current entries, the one named stopped with the reason (400 when not on it)."""
    entries = [
        copy.deepcopy(e["resource"])
        for e in document.get("entry", [])
        if (e.get("resource") or {}).get("resourceType") == "MedicationStatement"
    ]
    chosen = next((s for s in entries if s.get("id") == entry_id), None)
    if chosen is None or chosen.get("status") != "active":
        raise FormRefused(400, "that medicine is not an active entry of the list")
    chosen["status"] = "stopped"
    kept = [e for e in chosen.get("extension") or [] if e.get("url") != CHANGE_REASON]
    chosen["extension"] = [*kept, {"url": CHANGE_REASON, "valueString": reason}]
    return entries


class MedicationListWork:
    """The two forms of the clinician's medication list (routes in `clinician`)."""

    def __init__(self, pages: Any) -> None:
        self.pages = pages  # the ClinicianPages: the caller, its views

    async def stop(self, request: Request) -> Response:
        """Stop an entry: a new list version, based on the version the page showed."""
        session, principal = await self.pages.caller(request)
        form = await self.pages.views.form(request, session)
        pid, entry_id = request.path_params["id"], request.path_params["entry"][:64]
        version, reason = form.get("version", ""), form.get("reason", "").strip()
        if not VERSION.fullmatch(version) or not reason or len(reason) > MAX_REASON:
            raise FormRefused(400, "give a reason (at most 500 characters)")
        data = self.pages.views.data
        document = await data.operation(principal, "medication-list", pid)
        parameters = [
            {"name": "entry", "resource": s} for s in stopped_list(document, entry_id, reason)
        ]
        body = {"resourceType": "Parameters", "parameter": parameters}
        call = Call("medication-list-update", "Patient", pid, method="POST", body=body)
        call.headers["if-match"] = f'W/"{version}"'
        try:
            await data.invoke(principal, call)
        except FhirError as exc:
            if exc.status not in (403, 412):
                raise
            diagnostics = [issue.diagnostics for issue in exc.issues]
            if exc.status == 403:  # e.g. paused by another organisation: the reason shown
                return await self.pages.patient(request, list_refused=diagnostics)
            return await self.pages.patient(request, conflict=diagnostics)
        return RedirectResponse(f"/clinician/patient/{pid}?changed=stop#medications-heading", 303)

    async def reconcile(self, request: Request) -> Response:
        """Record that the list was reconciled with the patient now, by this clinician."""
        session, principal = await self.pages.caller(request)
        await self.pages.views.form(request, session)
        pid = request.path_params["id"]
        call = Call("reconcile", "Patient", pid, method="POST")
        try:
            await self.pages.views.data.invoke(principal, call)
        except FhirError as exc:
            if exc.status != 403:
                raise
            refused = [issue.diagnostics for issue in exc.issues]
            return await self.pages.patient(request, list_refused=refused)
        return RedirectResponse(
            f"/clinician/patient/{pid}?changed=reconcile#medications-heading", 303
        )
