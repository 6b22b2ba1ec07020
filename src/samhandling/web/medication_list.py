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
from samhandling.services.medication_list.listing import CHANGE_REASON, RECONCILED
from samhandling.web.access import Call
from samhandling.web.display import when
from samhandling.web.security import FormRefused

VERSION = re.compile(r"\d{1,9}")
MAX_REASON = 500


def list_state(document: dict[str, Any]) -> dict[str, Any]:
    """The List's version (what a change must be based on) and its last reconciliation."""
    listing = next(
        (
            e["resource"]
            for e in document.get("entry", [])
            if (e.get("resource") or {}).get("resourceType") == "List"
        ),
        None,
    )
    state: dict[str, Any] = {"version": "0", "reconciled": None}
    if listing is None:
        return state
    state["version"] = str((listing.get("meta") or {}).get("versionId") or "0")
    for extension in listing.get("extension") or []:
        if extension.get("url") == RECONCILED:
            parts = {p.get("url"): p for p in extension.get("extension") or []}
            who = (parts.get("practitionerName") or {}).get("valueString") or ""
            at = when((parts.get("time") or {}).get("valueDateTime"))
            state["reconciled"] = f"{at} – {who}".strip(" –")
    return state


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
            if exc.status != 412:
                raise
            conflict = [issue.diagnostics for issue in exc.issues]
            return await self.pages.patient(request, conflict=conflict)
        return RedirectResponse(f"/clinician/patient/{pid}?changed=stop#medications-heading", 303)

    async def reconcile(self, request: Request) -> Response:
        """Record that the list was reconciled with the patient now, by this clinician."""
        session, principal = await self.pages.caller(request)
        await self.pages.views.form(request, session)
        pid = request.path_params["id"]
        call = Call("reconcile", "Patient", pid, method="POST")
        await self.pages.views.data.invoke(principal, call)
        return RedirectResponse(
            f"/clinician/patient/{pid}?changed=reconcile#medications-heading", 303
        )
