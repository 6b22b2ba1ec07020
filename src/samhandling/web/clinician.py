"""The clinician's view: find a patient, declare the purpose of use, see and register.

The purpose of use is the trust framework's: declaring it asks the provider for a new
access token whose attestation carries the purpose (and, for emergency access, its
reason) and names the patient once one is chosen (`oidc.OidcClient.refresh` with
`authorization_details`). Until then the token has no purpose, and the policy shows the
clinician no patient data at all. Everything shown or written goes through the same
interactions and policy as the API (`access.DataAccess`), so it is audited the same.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from samhandling.auth import Principal
from samhandling.auth.claims import TRUST_FRAMEWORK
from samhandling.fhir.outcome import FhirError
from samhandling.identifiers.identifier_systems import FNR_SYSTEM
from samhandling.web.access import Call
from samhandling.web.citizen import patient_sections
from samhandling.web.critical_editing import CriticalEditing
from samhandling.web.critical_entries import CriticalEntryWork
from samhandling.web.critical_registration import FORMS, CriticalRegistration
from samhandling.web.documents import document_id, download
from samhandling.web.drug_reaction import CRITICALITIES, REACTIONS, SUBSTANCES, drug_reaction
from samhandling.web.measurements import DAYS, SIZE, chosen_days, measurement_charts
from samhandling.web.medication_changes import MedicationChanges
from samhandling.web.medication_list import MedicationListWork
from samhandling.web.security import FormRefused
from samhandling.web.sessions import ClinicalContext, Session
from samhandling.web.views import Handler, WebViews

PURPOSES = ("TREAT", "COC", "ETREAT", "BTG")
PURPOSE_SYSTEM = "urn:oid:2.16.840.1.113883.1.11.20448"
NATIONAL_ID = re.compile(r"\d{11}")
BIRTH_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_REASON = 500
LAB_CHANGES = ("block", "unblock")
PAGE_CHANGES = (*LAB_CHANGES, "stop", "reconcile", "confirm", "removed", "edited")
LIST_CHANGES = ("added", "paused", "resumed")
ENTRY_PATH = "/clinician/patient/{id}/critical/{type}/{entry}"
STOP_PATH = "/clinician/patient/{id}/medications/{entry}/stop"
RECONCILE_PATH = "/clinician/patient/{id}/medications/reconcile"
LAB_CHANGE_PATH = "/clinician/patient/{id}/labs/{report}/{change}"
DOCUMENT_PATH = "/clinician/patient/{id}/documents/{binary}"
MEASUREMENTS_PATH = "/clinician/patient/{id}/measurements"


def attestation(purpose: str, reason: str | None, national_id: str | None) -> dict[str, Any]:
    """The care relationship a clinician declares (`nhn:tillitsrammeverk:parameters`)."""
    care: dict[str, Any] = {"purpose_of_use": {"code": purpose, "system": PURPOSE_SYSTEM}}
    if reason:
        care["purpose_of_use_details"] = {"text": reason}
    details: dict[str, Any] = {"type": TRUST_FRAMEWORK, "care_relationship": care}
    if national_id:
        details["patients"] = [{"identifier": {"id": national_id, "system": FNR_SYSTEM}}]
    return details


def declared_purpose(form: dict[str, str]) -> ClinicalContext:
    """The purpose (and reason) of the find form; an emergency needs a reason."""
    purpose = form.get("purpose", "")
    reason = form.get("reason", "").strip() or None
    if purpose not in PURPOSES:
        raise FormRefused(400, "choose a purpose of use")
    if reason is not None and len(reason) > MAX_REASON:
        raise FormRefused(400, "the reason has at most 500 characters")
    context = ClinicalContext(purpose, reason)
    if context.emergency and not reason:
        raise FormRefused(400, "emergency access needs a reason")
    return context


def search_items(form: dict[str, str]) -> tuple[list[tuple[str, str]], str | None]:
    """The Patient search of the find form, and the national ID when one was given."""
    national_id = form.get("national_id", "").strip()
    if national_id:
        if not NATIONAL_ID.fullmatch(national_id):
            raise FormRefused(400, "a national ID number has 11 digits")
        return [("identifier", f"{FNR_SYSTEM}|{national_id}")], national_id
    family, born = form.get("family", "").strip(), form.get("birthdate", "").strip()
    if not family or not BIRTH_DATE.fullmatch(born) or len(family) > 100:
        raise FormRefused(400, "give a national ID number, or a family name and a birth date")
    return [("family", family), ("birthdate", born), ("_count", "20")], None


def national_id_of(patient: dict[str, Any]) -> str | None:
    return next(
        (i.get("value") for i in patient.get("identifier", []) if i.get("system") == FNR_SYSTEM),
        None,
    )


class NotHealthPersonnel(Exception):
    """A citizen (or a system) on the clinician's pages: sent to the citizen's view."""


class ClinicianPages:
    """The clinician's pages; every handler first checks the caller is health personnel."""

    def __init__(self, views: WebViews) -> None:
        self.views = views

    def routes(self) -> list[Route]:
        """`/clinician`, its find and select forms, the patient page and its forms."""
        new = "/clinician/patient/{id}/drug-reaction"
        work, entries = MedicationListWork(self), CriticalEntryWork(self)
        other, kind = CriticalRegistration(self), "/clinician/patient/{id}/register/{kind}"
        return [
            Route("/clinician", self._only(self.home), methods=["GET"]),
            Route("/clinician/find", self._only(self.find), methods=["POST"]),
            Route("/clinician/select", self._only(self.select), methods=["POST"]),
            Route("/clinician/patient/{id}", self._only(self.patient), methods=["GET"]),
            Route(DOCUMENT_PATH, self._only(self.document), methods=["GET"]),
            Route(MEASUREMENTS_PATH, self._only(self.measurements), methods=["GET"]),
            Route(new, self._only(self.reaction_form), methods=["GET"]),
            Route(new, self._only(self.register_reaction), methods=["POST"]),
            Route(kind, self._only(other.form), methods=["GET"]),
            Route(kind, self._only(other.register), methods=["POST"]),
            Route(LAB_CHANGE_PATH, self._only(self.change_lab), methods=["POST"]),
            Route(STOP_PATH, self._only(work.stop), methods=["POST"]),
            Route(RECONCILE_PATH, self._only(work.reconcile), methods=["POST"]),
            Route(ENTRY_PATH + "/confirm", self._only(entries.confirm), methods=["POST"]),
            Route(ENTRY_PATH + "/entered-in-error", self._only(entries.remove), methods=["POST"]),
            *(
                Route(path, self._only(handler), methods=[method])
                for path, handler, method in (
                    *CriticalEditing(self).handlers(),
                    *MedicationChanges(self).handlers(),
                )
            ),
        ]

    def _only(self, handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except NotHealthPersonnel:
                return RedirectResponse("/citizen", 303)

        return self.views.guarded(run)

    async def caller(self, request: Request) -> tuple[Session, Principal]:
        session, principal = await self.views.caller(request)
        if principal.kind != "clinician":
            raise NotHealthPersonnel
        return session, principal

    async def home(self, request: Request) -> Response:
        session, principal = await self.caller(request)
        return self.views.page(
            request, "clinician.html", session, name=principal.name or "", purposes=PURPOSES
        )

    async def find(self, request: Request) -> Response:
        """Declare the purpose (a new attestation, naming the patient when the national ID
        was given), then search: one match is chosen at once, several are listed."""
        session, _ = await self.caller(request)
        form = await self.views.form(request, session)
        context = declared_purpose(form)
        items, national_id = search_items(form)
        details = attestation(context.purpose, context.reason, national_id)
        await self.views.refresh(session, details)
        session.context = context
        await self.views.keep(session)
        _, principal = await self.caller(request)
        bundle = await self.views.data.search(principal, "Patient", items)
        matches = [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
        if len(matches) == 1:
            return await self._choose(session, matches[0])
        name = principal.name or ""
        return self.views.page(request, "matches.html", session, name=name, matches=matches)

    async def select(self, request: Request) -> Response:
        session, principal = await self.caller(request)
        form = await self.views.form(request, session)
        if session.context is None:
            raise FormRefused(400, "declare a purpose of use first")
        pid = form.get("patient_id", "")[:64]
        return await self._choose(session, await self.views.data.read(principal, "Patient", pid))

    async def _choose(self, session: Session, patient: dict[str, Any]) -> Response:
        """Name the chosen patient in the attestation, and go to their page."""
        assert session.context is not None
        context = session.context
        details = attestation(context.purpose, context.reason, national_id_of(patient))
        await self.views.refresh(session, details)
        context.patient_id = patient["id"]
        context.patient_label = _label(patient)
        await self.views.keep(session)
        return RedirectResponse(f"/clinician/patient/{patient['id']}", 303)

    async def patient(
        self,
        request: Request,
        conflict: list[str] | None = None,
        critical_conflict: list[str] | None = None,
        list_refused: list[str] | None = None,
    ) -> Response:
        """The patient's page (with `conflict` or `critical_conflict`: a refused stale
        change of the list or of a critical-information entry, answered 409; with
        `list_refused`: a change of the list the service refused, e.g. a paused list, 403)."""
        session, principal = await self.caller(request)
        pid = request.path_params["id"]
        patient, status = await self._readable_patient(principal, pid)
        status = 409 if (conflict or critical_conflict) and status == 200 else status
        status = 403 if list_refused and status == 200 else status
        return self.views.page(
            request,
            "patient.html",
            session,
            name=principal.name or "",
            patient=patient,
            label=_label(patient) if patient else "",
            patient_id=pid,
            sections=await patient_sections(self.views.data, principal, pid, change_log=False)
            if patient
            else {},
            registered=request.query_params.get("registered") == "1",
            other_kinds=tuple(FORMS),
            changed=_change_made(request),
            conflict=conflict or [],
            critical_conflict=critical_conflict or [],
            list_refused=list_refused or [],
            status=status,
        )

    async def _readable_patient(
        self, principal: Principal, pid: str
    ) -> tuple[dict[str, Any] | None, int]:
        """The Patient `pid` as the caller reads it, and the page's status: 200; or no
        Patient and 403 or 404, when the caller may not read it or it is not known."""
        try:
            return await self.views.data.read(principal, "Patient", pid), 200
        except FhirError as exc:
            if exc.status not in (403, 404):
                raise
            return None, exc.status

    async def document(self, request: Request) -> Response:
        """A document's content: ITI-68 under the clinician's access (404 for a document
        the patient hid from health personnel, or another patient's)."""
        _, principal = await self.caller(request)
        return await download(self.views, principal, document_id(request, "binary"))

    async def measurements(self, request: Request) -> Response:
        """The patient's home measurements: the citizen's charts, under the clinician's
        guard (nothing without a declared purpose)."""
        session, principal = await self.caller(request)
        pid, days = request.path_params["id"], chosen_days(request)
        context = session.context
        label = context.patient_label if context and context.patient_id == pid else None
        charts = await measurement_charts(self.views.data, principal, pid, days, datetime.now(UTC))
        return self.views.page(
            request,
            "patient_measurements.html",
            session,
            name=principal.name or "",
            patient_id=pid,
            label=label,
            charts=charts,
            days=days,
            choices=DAYS,
            size=SIZE,
        )

    async def reaction_form(self, request: Request) -> Response:
        session, principal = await self.caller(request)
        return self.views.page(
            request,
            "drug_reaction.html",
            session,
            name=principal.name or "",
            patient_id=request.path_params["id"],
            substances=SUBSTANCES,
            reactions=REACTIONS,
            criticalities=CRITICALITIES,
        )

    async def register_reaction(self, request: Request) -> Response:
        session, principal = await self.caller(request)
        form = await self.views.form(request, session)
        pid = request.path_params["id"]
        await self.views.data.create(principal, drug_reaction(pid, form))
        return RedirectResponse(f"/clinician/patient/{pid}?registered=1", 303)

    async def change_lab(self, request: Request) -> Response:
        """Withhold a lab result from the patient (`$block`) or release it (`$unblock`),
        with the reason the form gives."""
        session, principal = await self.caller(request)
        form = await self.views.form(request, session)
        pid, change = request.path_params["id"], request.path_params["change"]
        call = lab_change(request.path_params["report"], change, form)
        await self.views.data.invoke(principal, call)
        return RedirectResponse(f"/clinician/patient/{pid}?changed={change}#labs-heading", 303)


def lab_change(report_id: str, change: str, form: dict[str, str]) -> Call:
    """The `$block`/`$unblock` call of the form (400 without a reason or a known change)."""
    reason = form.get("reason", "").strip()
    if change not in LAB_CHANGES or not reason or len(reason) > MAX_REASON:
        raise FormRefused(400, "give a reason (at most 500 characters)")
    body = {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": reason}]}
    return Call(change, "DiagnosticReport", report_id[:64], method="POST", body=body)


def clinician_routes(views: WebViews) -> list[Route]:
    """The clinician's routes."""
    return ClinicianPages(views).routes()


def _change_made(request: Request) -> str | None:
    """The change just made on the patient's page, as its redirect names it (`changed`),
    for the page to confirm; None for none, or a name the page does not know."""
    changed = request.query_params.get("changed")
    return changed if changed in (*PAGE_CHANGES, *LIST_CHANGES) else None


def _label(patient: dict[str, Any]) -> str:
    name = (patient.get("name") or [{}])[0]
    shown = " ".join([*name.get("given", []), name.get("family", "")]).strip()
    return f"{shown or '?'} ({patient.get('birthDate', '?')})"
