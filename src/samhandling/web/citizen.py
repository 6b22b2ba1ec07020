"""The citizen's view ("Mine helseopplysninger"): their own information, a child's, or
that of an adult who gave them a power of attorney.

Whose information may be shown is the policy's decision on every call (children under 12
fully; 12–15 without lab results and documents; nobody from 16; a power of attorney as
the person themself, with no age rule): the page lists the people the token names, with
the rule that applies, says on whose behalf and why, and shows for each section what the
same operations and searches as the API return — or that it is not available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from samhandling.auth import ActingFor, Principal
from samhandling.auth.compartment import age_on
from samhandling.auth.policy_rules import PARENT_FULL_ACCESS_BELOW, PARENT_NO_ACCESS_FROM
from samhandling.fhir.outcome import FhirError
from samhandling.web import display
from samhandling.web.documents import DocumentPages, document_query, document_rows
from samhandling.web.medication_list import list_state
from samhandling.web.powers_of_attorney import PowerOfAttorneyPages
from samhandling.web.sessions import Session
from samhandling.web.views import WebViews

PAGE_SIZE = 20
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ORGANISATION = re.compile(r"\d{9}")


@dataclass
class Person:
    """Someone the citizen may look at: themselves or someone they act for."""

    patient_id: str
    relation: str
    age: int | None
    rule: str | None = None  # the key of the age rule that applies to a parent


@dataclass
class Section:
    """One part of the page: what the service returned, or why nothing is shown."""

    rows: list[Any] = field(default_factory=list)
    refused: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # e.g. the medication list's version


def people(principal: Principal, today: date) -> list[Person]:
    """The citizen and the people they act for (with Patient ids here), self first."""
    found = []
    for acting in principal.acts_for:
        if acting.patient_id is None or _lapsed(acting):
            continue
        age = age_on(acting.birth_date, today) if acting.birth_date else None
        rule = None
        if acting.relation == "parent" and age is not None:
            if age < PARENT_FULL_ACCESS_BELOW:
                rule = "age_rule_under_12"
            elif age < PARENT_NO_ACCESS_FROM:
                rule = "age_rule_12_15"
            else:
                rule = "age_rule_16"
        found.append(Person(acting.patient_id, acting.relation, age, rule))
    return sorted(found, key=lambda p: p.relation != "self")


def _lapsed(acting: ActingFor) -> bool:
    """A power of attorney the register does not confirm now (revoked, expired, never
    given): not offered, whatever the token says (the policy refuses it too)."""
    return acting.relation == "power-of-attorney" and (
        acting.grant is None or acting.grant.refusal is not None
    )


async def section(call: Any, shape: Any) -> Section:
    """Run one audited call; its rows, or the policy's refusal in words."""
    try:
        return Section(shape(await call))
    except FhirError as exc:
        if exc.status not in (403, 404):
            raise
        return Section(refused="; ".join(i.diagnostics for i in exc.issues))


async def patient_sections(
    data: Any, principal: Principal, pid: str, *, change_log: bool = True
) -> dict[str, Section]:
    """The services' sections of one patient's page, each through its audited call: the
    citizen's page and the clinician's show the same, the citizen's with the change log."""
    sections = {
        "critical": await section(
            data.operation(principal, "critical-information", pid), display.critical_groups
        ),
        "medications": await section(
            data.operation(principal, "medication-list", pid), _medications
        ),
    }
    if change_log:  # the citizen's page: the change log
        sections["changes"] = await section(
            data.operation(principal, "medication-list-changes", pid), display.change_rows
        )
    sections["documents"] = await section(
        data.search(principal, "DocumentReference", document_query(pid)), document_rows
    )
    medications = sections["medications"]
    if medications.refused is None:
        medications.rows, medications.state = medications.rows
    sections["labs"] = await section(
        data.search(principal, "DiagnosticReport", _lab_query(pid)), display.lab_rows
    )
    return sections


async def chosen_person(
    views: WebViews, request: Request
) -> tuple[Session, Principal, list[Person], Person | None]:
    """The caller, the people they may look at, and the one asked for (else themselves)."""
    session, principal = await views.caller(request)
    everyone = people(principal, date.today())
    wanted = request.query_params.get("patient")
    person = next((p for p in everyone if p.patient_id == wanted), None)
    return session, principal, everyone, person or (everyone[0] if everyone else None)


def _medications(document: dict[str, Any]) -> list[Any]:
    return [display.medication_rows(document), list_state(document)]


class CitizenPages:
    """The citizen's pages; health personnel are sent to their own."""

    def __init__(self, views: WebViews) -> None:
        self.views = views

    def routes(self) -> list[Route]:
        """`/citizen` and `/citizen/access-log`."""
        return [
            Route("/citizen", self.views.guarded(self.overview), methods=["GET"]),
            Route("/citizen/access-log", self.views.guarded(self.access_log), methods=["GET"]),
        ]

    async def overview(self, request: Request) -> Response:
        session, principal, everyone, person = await chosen_person(self.views, request)
        if principal.kind != "citizen":
            return RedirectResponse("/clinician", 303)
        sections = (
            await patient_sections(self.views.data, principal, person.patient_id) if person else {}
        )
        wanted = request.query_params.get("patient")
        return self.views.page(
            request,
            "citizen.html",
            session,
            name=principal.name or "",
            people=everyone,
            person=person,
            unavailable=bool(wanted) and (person is None or wanted != person.patient_id),
            behalf=await self._behalf(principal, person),
            sections=sections,
        )

    async def _behalf(self, principal: Principal, person: Person | None) -> str | None:
        """The name of the person the citizen acts for (an audited read of their Patient,
        as the API's); None for the citizen themself or when the policy refuses it."""
        if person is None or person.relation == "self":
            return None
        try:
            patient = await self.views.data.read(principal, "Patient", person.patient_id)
        except FhirError as exc:
            if exc.status not in (403, 404):
                raise
            return None
        return display.person_name(patient)

    async def access_log(self, request: Request) -> Response:
        session, principal, everyone, person = await chosen_person(self.views, request)
        if principal.kind != "citizen":
            return RedirectResponse("/clinician", 303)
        filters = _filters(request.query_params)
        log, after = Section(), None
        if person is not None:
            items = [("_count", str(PAGE_SIZE)), *_log_query(filters)]
            call = self.views.data.operation(principal, "access-log", person.patient_id, items)
            log = await section(call, display.access_rows)
            if log.refused is None:
                log.rows, after = log.rows  # (rows, the next page's `_after`)
        return self.views.page(
            request,
            "access_log.html",
            session,
            name=principal.name or "",
            people=everyone,
            person=person,
            log=log,
            filters=filters,
            after=after,
        )


def citizen_routes(views: WebViews) -> list[Route]:
    """The citizen's routes."""
    return [
        *CitizenPages(views).routes(),
        *DocumentPages(views).routes(),
        *PowerOfAttorneyPages(views).routes(),
    ]


def _lab_query(patient_id: str) -> list[tuple[str, str]]:
    return [
        ("patient", patient_id),
        ("_include", "DiagnosticReport:result"),
        ("_sort", "-issued"),
        ("_count", "50"),
    ]


def _filters(query: Any) -> dict[str, str]:
    """The access log's filters as given, each kept only when well-formed."""
    kept = {}
    for name, pattern in (("start", DATE), ("end", DATE), ("organisation", ORGANISATION)):
        value = (query.get(name) or "").strip()
        if pattern.fullmatch(value):
            kept[name] = value
    after = query.get("after") or ""
    if after and len(after) < 200:
        kept["after"] = after
    return kept


def _log_query(filters: dict[str, str]) -> list[tuple[str, str]]:
    names = {"start": "start", "end": "end", "organisation": "organisation", "after": "_after"}
    return [(names[k], v) for k, v in filters.items()]
