"""The clinician adds a medicine to the medication list, and pauses or resumes the list.

Adding is the service's `$medication-list-update` of the whole list — the current entries
unchanged, and the new one — with `If-Match` naming the list version the form showed, so
the guard applies as to any EPJ: a list changed by others since is refused (412) and the
form shows what changed and the list as it is now, keeping what the clinician entered
(saving again is then based on the version just shown); an entry the service refuses
(e.g. a vaccine: 422) and a list paused by another organisation (403) are shown on the
form in the service's words. The medicine is chosen among the ATC codes of the demo
lists (`services.medication_list.demo.TEMPLATES`), or given as any ATC code (level 5)
with a name. Pausing is `$medication-list-pause` (a reason, an expected end date),
resuming `$medication-list-resume`; only the pausing organisation may write while the list
is paused, which the service decides: another organisation's attempt is shown refused
with the pause's reason on the patient page.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from samhandling.fhir.outcome import FhirError
from samhandling.services.medication_list.demo import TEMPLATES
from samhandling.services.medication_list.kinds import ATC, ENTRY_KIND_SYSTEM, IDENTIFIER_SYSTEM
from samhandling.web.access import Call
from samhandling.web.display import medication_rows
from samhandling.web.medication_list import VERSION, list_state
from samhandling.web.security import FormRefused

NEW_PATH = "/clinician/patient/{id}/medications/new"
PAUSE_PATH = "/clinician/patient/{id}/medications/pause"
RESUME_PATH = "/clinician/patient/{id}/medications/resume"
#: ATC code → (entry kind, name): the choices of the form
MEDICINES = {atc: (kind, name) for kind, atc, name, _ in TEMPLATES if atc}
OTHER = "other"
ATC_CODE = re.compile(r"[ABCDGHJLMNPRSV]\d{2}[A-Z]{2}\d{2}")  # an ATC level-5 code
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EDQM = "http://standardterms.edqm.eu"
#: EDQM Standard Terms route of administration → the bokmål name shown and stored
ROUTES = {
    "20053000": "Oral bruk",
    "20066000": "Subkutan bruk",
    "20045000": "Intravenøs bruk",
    "20035000": "Intramuskulær bruk",
    "20020000": "Inhalasjon",
    "20003000": "Kutan bruk",
    "20061000": "Rektal bruk",
}
MAX_TEXT = 500
FIELDS = ("medicine", "atc", "name", "dose", "route", "indication", "start")


def _date(text: str, what: str) -> str:
    """A date of the form (400 when it is none)."""
    try:
        date.fromisoformat(text if DATE.fullmatch(text) else "")
    except ValueError as exc:
        raise FormRefused(400, f"{what} is a date, YYYY-MM-DD") from exc
    return text


def _medicine(form: dict[str, str]) -> tuple[str, str, str]:
    """(entry kind, ATC code, name): a choice of the list, or any ATC code with a name."""
    chosen = form.get("medicine", "")
    if chosen in MEDICINES:
        kind, name = MEDICINES[chosen]
        return kind, chosen, name
    atc, name = form.get("atc", "").strip().upper(), form.get("name", "").strip()
    if chosen != OTHER or not ATC_CODE.fullmatch(atc) or not name or len(name) > 200:
        raise FormRefused(400, "choose a medicine, or give an ATC code (e.g. C10AA01) and a name")
    return "medicine", atc, name


def new_statement(patient_id: str, form: dict[str, str]) -> dict[str, Any]:
    """The MedicationStatement the form describes, with a new UUID (400 for a form that
    is malformed: no medicine, an ATC code of the wrong form, a route not offered)."""
    kind, atc, name = _medicine(form)
    dose, indication = form.get("dose", "").strip(), form.get("indication", "").strip()
    route, start = form.get("route", ""), form.get("start", "").strip()
    if not dose or len(dose) > MAX_TEXT or len(indication) > MAX_TEXT:
        raise FormRefused(400, "give the dosage (at most 500 characters)")
    if route and route not in ROUTES:
        raise FormRefused(400, "choose a route from the list")
    dosage: dict[str, Any] = {"text": dose}
    if route:
        dosage["route"] = {"coding": [{"system": EDQM, "code": route}], "text": ROUTES[route]}
    uid = str(uuid.uuid4())
    statement: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": f"urn:uuid:{uid}"}],
        "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}], "text": name},
        "subject": {"reference": f"Patient/{patient_id}"},
        "dosage": [dosage],
    }
    if kind != "medicine":
        statement["category"] = {"coding": [{"system": ENTRY_KIND_SYSTEM, "code": kind}]}
    if indication:
        statement["reasonCode"] = [{"text": indication}]
    if start:
        statement["effectivePeriod"] = {"start": _date(start, "the start")}
    return statement


def current_entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The list's entries as they are (each kept unchanged by an added medicine)."""
    return [
        e["resource"]
        for e in document.get("entry", [])
        if (e.get("resource") or {}).get("resourceType") == "MedicationStatement"
    ]


def pause_call(patient_id: str, form: dict[str, str]) -> Call:
    """`$medication-list-pause` with the form's reason and expected end (400 without a
    reason)."""
    reason, until = form.get("reason", "").strip(), form.get("until", "").strip()
    if not reason or len(reason) > MAX_TEXT:
        raise FormRefused(400, "give a reason (at most 500 characters)")
    parameters: list[dict[str, Any]] = [{"name": "reason", "valueString": reason}]
    if until:
        parameters.append({"name": "expectedEnd", "valueDate": _date(until, "the expected end")})
    body = {"resourceType": "Parameters", "parameter": parameters}
    return Call("medication-list-pause", "Patient", patient_id, method="POST", body=body)


class MedicationChanges:
    """The add form and its save, pause and resume (routes added by `clinician`)."""

    def __init__(self, pages: Any) -> None:
        self.pages = pages  # the ClinicianPages: the caller, its views, the patient page

    def handlers(self) -> list[tuple[str, Any, str]]:
        """(path, handler, method) of each page: `clinician` makes them routes."""
        return [
            (NEW_PATH, self.form, "GET"),
            (NEW_PATH, self.add, "POST"),
            (PAUSE_PATH, self.pause, "POST"),
            (RESUME_PATH, self.resume, "POST"),
        ]

    async def form(self, request: Request) -> Response:
        """The add form, based on the list as it is now (its version, its entries)."""
        session, principal = await self.pages.caller(request)
        pid = request.path_params["id"]
        document = await self.pages.views.data.operation(principal, "medication-list", pid)
        return self._page(request, session, principal, pid, document, {})

    async def add(self, request: Request) -> Response:
        """The current entries and the new one, based on the version the form showed."""
        session, principal = await self.pages.caller(request)
        form = await self.pages.views.form(request, session)
        pid, version = request.path_params["id"], form.get("version", "")
        if not VERSION.fullmatch(version):
            raise FormRefused(400, "the form names no version of the list")
        data = self.pages.views.data
        added = new_statement(pid, form)
        document = await data.operation(principal, "medication-list", pid)
        entries = [*current_entries(document), added]
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "entry", "resource": s} for s in entries],
        }
        call = Call("medication-list-update", "Patient", pid, method="POST", body=body)
        call.headers["if-match"] = f'W/"{version}"'
        try:
            await data.invoke(principal, call)
        except FhirError as exc:
            if exc.status not in (403, 409, 412, 422):
                raise
            issues = [issue.diagnostics for issue in exc.issues]
            current = await data.operation(principal, "medication-list", pid)
            stale = exc.status in (409, 412)
            return self._page(
                request, session, principal, pid, current, form, issues, stale, exc.status
            )
        return RedirectResponse(f"/clinician/patient/{pid}?changed=added#medications-heading", 303)

    async def pause(self, request: Request) -> Response:
        session, principal = await self.pages.caller(request)
        form = await self.pages.views.form(request, session)
        pid = request.path_params["id"]
        return await self._change(request, principal, pause_call(pid, form), "paused")

    async def resume(self, request: Request) -> Response:
        session, principal = await self.pages.caller(request)
        await self.pages.views.form(request, session)
        pid = request.path_params["id"]
        call = Call("medication-list-resume", "Patient", pid, method="POST")
        return await self._change(request, principal, call, "resumed")

    async def _change(self, request: Request, principal: Any, call: Call, done: str) -> Response:
        """Invoke the pause or resume; a refusal (403, 409) is shown on the patient page."""
        try:
            await self.pages.views.data.invoke(principal, call)
        except FhirError as exc:
            if exc.status not in (403, 409):
                raise
            refused = [issue.diagnostics for issue in exc.issues]
            return await self.pages.patient(request, list_refused=refused)
        pid = request.path_params["id"]
        return RedirectResponse(f"/clinician/patient/{pid}?changed={done}#medications-heading", 303)

    def _page(
        self,
        request: Request,
        session: Any,
        principal: Any,
        pid: str,
        document: dict[str, Any],
        values: dict[str, str],
        issues: list[str] | None = None,
        stale: bool = False,
        status: int = 200,
    ) -> Response:
        """The add form: the list as it is now (its version in the form), and what the
        clinician entered with the service's refusal, if any."""
        return self.pages.views.page(
            request,
            "medication_new.html",
            session,
            status,
            name=principal.name or "",
            patient_id=pid,
            state=list_state(document),
            rows=medication_rows(document),
            values={k: values.get(k, "") for k in FIELDS},
            medicines=MEDICINES,
            routes=ROUTES,
            other=OTHER,
            issues=issues or [],
            stale=stale,
        )
