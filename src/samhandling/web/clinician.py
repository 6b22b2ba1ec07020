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
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from samhandling.auth.claims import TRUST_FRAMEWORK
from samhandling.fhir.outcome import FhirError
from samhandling.identifiers.identifier_systems import FNR_SYSTEM
from samhandling.web import display
from samhandling.web.citizen import Section, section
from samhandling.web.drug_reaction import CRITICALITIES, REACTIONS, SUBSTANCES, drug_reaction
from samhandling.web.security import FormRefused
from samhandling.web.sessions import ClinicalContext, Session
from samhandling.web.views import WebViews

PURPOSES = ("TREAT", "COC", "ETREAT", "BTG")
PURPOSE_SYSTEM = "urn:oid:2.16.840.1.113883.1.11.20448"
NATIONAL_ID = re.compile(r"\d{11}")
BIRTH_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_REASON = 500


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


def clinician_routes(views: WebViews) -> list[Route]:
    """`/clinician`, its find and select forms, the patient page and the drug-reaction form."""

    async def home(request: Request) -> Response:
        session, principal = await views.caller(request)
        if principal.kind == "citizen":
            return RedirectResponse("/citizen", 303)
        return views.page(
            request, "clinician.html", session, name=principal.name or "", purposes=PURPOSES
        )

    async def find(request: Request) -> Response:
        session, _ = await views.caller(request)
        form = await views.form(request, session)
        context = declared_purpose(form)
        items, national_id = search_items(form)
        await views.refresh(session, attestation(context.purpose, context.reason, national_id))
        session.context = context
        _, principal = await views.caller(request)
        bundle = await views.data.search(principal, "Patient", items)
        matches = [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
        if len(matches) == 1:
            return await _choose(session, matches[0])
        return views.page(
            request, "matches.html", session, name=principal.name or "", matches=matches
        )

    async def select(request: Request) -> Response:
        session, principal = await views.caller(request)
        form = await views.form(request, session)
        if session.context is None:
            raise FormRefused(400, "declare a purpose of use first")
        patient = await views.data.read(principal, "Patient", form.get("patient_id", "")[:64])
        return await _choose(session, patient)

    async def _choose(session: Session, patient: dict[str, Any]) -> Response:
        """Name the chosen patient in the attestation, and go to their page."""
        assert session.context is not None
        context = session.context
        details = attestation(context.purpose, context.reason, national_id_of(patient))
        await views.refresh(session, details)
        context.patient_id = patient["id"]
        context.patient_label = _label(patient)
        return RedirectResponse(f"/clinician/patient/{patient['id']}", 303)

    async def patient_page(request: Request) -> Response:
        session, principal = await views.caller(request)
        pid = request.path_params["id"]
        data = views.data
        try:
            patient: dict[str, Any] | None = await data.read(principal, "Patient", pid)
        except FhirError as exc:
            if exc.status not in (403, 404):
                raise
            patient = None
        sections: dict[str, Section] = {}
        if patient is not None:
            sections = {
                "critical": await section(
                    data.operation(principal, "critical-information", pid),
                    display.critical_groups,
                ),
                "medications": await section(
                    data.operation(principal, "medication-list", pid), display.medication_rows
                ),
                "labs": await section(
                    data.search(principal, "DiagnosticReport", _labs(pid)), display.lab_rows
                ),
            }
        return views.page(
            request,
            "patient.html",
            session,
            name=principal.name or "",
            patient=patient,
            label=_label(patient) if patient else "",
            patient_id=pid,
            sections=sections,
            registered=request.query_params.get("registered") == "1",
        )

    async def reaction_form(request: Request) -> Response:
        session, principal = await views.caller(request)
        return views.page(
            request,
            "drug_reaction.html",
            session,
            name=principal.name or "",
            patient_id=request.path_params["id"],
            substances=SUBSTANCES,
            reactions=REACTIONS,
            criticalities=CRITICALITIES,
        )

    async def register_reaction(request: Request) -> Response:
        session, principal = await views.caller(request)
        form = await views.form(request, session)
        pid = request.path_params["id"]
        await views.data.create(principal, drug_reaction(pid, form))
        return RedirectResponse(f"/clinician/patient/{pid}?registered=1", 303)

    new = "/clinician/patient/{id}/drug-reaction"
    return [
        Route("/clinician", views.guarded(home), methods=["GET"]),
        Route("/clinician/find", views.guarded(find), methods=["POST"]),
        Route("/clinician/select", views.guarded(select), methods=["POST"]),
        Route("/clinician/patient/{id}", views.guarded(patient_page), methods=["GET"]),
        Route(new, views.guarded(reaction_form), methods=["GET"]),
        Route(new, views.guarded(register_reaction), methods=["POST"]),
    ]


def _labs(patient_id: str) -> list[tuple[str, str]]:
    return [("patient", patient_id), ("_include", "DiagnosticReport:result"), ("_count", "50")]


def _label(patient: dict[str, Any]) -> str:
    name = (patient.get("name") or [{}])[0]
    shown = " ".join([*name.get("given", []), name.get("family", "")]).strip()
    return f"{shown or '?'} ({patient.get('birthDate', '?')})"
