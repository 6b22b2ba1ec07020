"""Editing a critical-information entry's content from the clinician's patient page.

The entry is shown in the form that registers its kind (the drug-reaction form, or the
table-driven form of `critical_registration.FORMS`), filled with its current content; the
form's choices are widened by the entry's own codes, so an entry an EPJ coded otherwise
can be shown and kept. The saved entry is the stored one with what the form owns replaced
(an element whose codes did not change is kept exactly as stored: the service refuses a
changed category or code, and compares them whole), sent as an update with `If-Match`
naming the version the form showed. A stale form is refused by the service (412) and the
form shows the entry as it is now; the service's validation issues (e.g. a changed
substance) are shown on the form with what the clinician entered. The server's stamps
(registered, last updated, last confirmed) are the service's; the narrative, which
described the old content, is dropped when the content changes.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from samhandling.fhir.outcome import FhirError, error
from samhandling.services.critical_information.kinds import kind_of
from samhandling.web.critical_entries import CRITICAL_TYPES, VERSION
from samhandling.web.critical_registration import FORMS, KindForm, critical_entry
from samhandling.web.display import concept_text
from samhandling.web.drug_reaction import (
    CRITICALITIES,
    KJ,
    REACTIONS,
    SUBSTANCES,
    VALID_UNTIL,
    drug_reaction,
)
from samhandling.web.security import FormRefused

EDIT_PATH = "/clinician/patient/{id}/critical/{type}/{entry}/edit"
REACTION_FORM = "drug-reaction"
CRITICAL_REASON = KJ + "kj-critical-reason"
#: resource type → the elements the form owns (the rest of the entry is kept as stored)
OWNED = {
    "AllergyIntolerance": ("code", "criticality", "reaction", "note"),
    "Condition": ("code", "note"),
    "Procedure": ("code", "note"),
    "DeviceUseStatement": ("contained", "note"),
    "Flag": ("code", "category"),
}


def form_key(entry: dict[str, Any]) -> str:
    """Which form shows the entry: the drug-reaction form, or a key of `FORMS`."""
    kind = kind_of(entry)
    if kind is None:
        raise FormRefused(400, "not critical information")
    return REACTION_FORM if kind.resource_type == "AllergyIntolerance" else kind.key


def patients_entry(entry: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """The entry, when it is the page's patient's (else 404: not on this patient's page)."""
    subject = entry.get("patient") or entry.get("subject") or {}
    if subject.get("reference") != f"Patient/{patient_id}":
        raise FhirError(404, error("not-found", "No such entry on this patient's page"))
    return entry


def _coding(concept: Any) -> dict[str, Any]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return codings[0] if codings and isinstance(codings[0], dict) else {}


def _code(concept: Any) -> str:
    return str(_coding(concept).get("code") or "")


def _extension(entry: dict[str, Any], url: str) -> dict[str, Any]:
    return next((e for e in entry.get("extension") or [] if e.get("url") == url), {})


def _what(entry: dict[str, Any]) -> Any:
    """The concept saying what the entry is (an implant's: its contained device's type)."""
    if entry.get("resourceType") == "DeviceUseStatement":
        devices = [c for c in entry.get("contained") or [] if c.get("resourceType") == "Device"]
        return devices[0].get("type") if devices else {}
    return entry.get("code")


def _manifestation(entry: dict[str, Any]) -> Any:
    reactions = entry.get("reaction") or [{}]
    return (reactions[0].get("manifestation") or [{}])[0]


def _note(entry: dict[str, Any]) -> str:
    return "\n\n".join(str(n.get("text", "")) for n in entry.get("note") or [] if n.get("text"))


def form_values(entry: dict[str, Any]) -> dict[str, str]:
    """The form's fields filled with the entry's current content."""
    reason = _extension(entry, CRITICAL_REASON)
    values = {
        "code": _code(_what(entry)),
        "note": _note(entry),
        "valid_until": str(_extension(entry, VALID_UNTIL).get("valueDateTime") or "")[:10],
    }
    if entry.get("resourceType") == "AllergyIntolerance":
        values |= {
            "substance": values["code"],
            "reaction": _code(_manifestation(entry)),
            "criticality": str(entry.get("criticality") or ""),
        }
    elif entry.get("resourceType") == "Condition":
        values["reason"] = _code(reason.get("valueCodeableConcept"))
    elif entry.get("resourceType") == "Flag":
        values["category"] = _code((entry.get("category") or [{}])[0])
    return values


def _widened(choices: dict[str, str] | None, concept: Any) -> dict[str, str] | None:
    """The choices, with the entry's own code (and its text) when they lack it."""
    code = _code(concept)
    if choices is None or not code or code in choices:
        return choices
    return {**choices, code: concept_text(concept) or code}


def choices_for(entry: dict[str, Any]) -> dict[str, Any]:
    """The form's choices for this entry (template values): the drug-reaction form's lists,
    or the kind's `shape`, each widened by the entry's own codes."""
    key = form_key(entry)
    if key == REACTION_FORM:
        return {
            "substances": _widened(SUBSTANCES, entry.get("code")),
            "reactions": _widened(REACTIONS, _manifestation(entry)),
            "criticalities": CRITICALITIES,
        }
    shape = FORMS[key]
    reason = _extension(entry, CRITICAL_REASON)
    widened = dataclasses.replace(
        shape,
        codes=_widened(shape.codes, _what(entry)) or shape.codes,
        reasons=_widened(shape.reasons, reason.get("valueCodeableConcept")),
        categories=_widened(shape.categories, (entry.get("category") or [{}])[0]),
    )
    return {"key": key, "shape": widened}


def _codes(value: Any) -> set[tuple[str, str]]:
    """Every (system, code) in a value, however deep: what identifies a coded element."""
    if isinstance(value, list):
        return set().union(*(_codes(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = {(str(value.get("system")), str(value["code"]))} if "code" in value else set()
    return found.union(*(_codes(v) for k, v in value.items() if k != "code"))


def _same(element: str, before: Any, after: Any) -> bool:
    """Whether the form left the element as it was: coded ones by their codes (the form
    carries the code only; the entry's own code, offered as it is, may be of another
    system than the form's list)."""
    if element == "note":
        return _note({"note": before or []}) == _note({"note": after or []})
    if element == "criticality":
        return bool(before == after)
    return {c for _, c in _codes(before)} == {c for _, c in _codes(after)}


def edited_entry(stored: dict[str, Any], form: dict[str, str], patient_id: str) -> dict[str, Any]:
    """The stored entry with the form's content (400 for a choice not offered)."""
    choices = choices_for(stored)
    if "shape" in choices:
        fresh = critical_entry(choices["key"], patient_id, form, shape=choices["shape"])
    else:
        fresh = drug_reaction(patient_id, form, choices["substances"], choices["reactions"])
    edited = copy.deepcopy(stored)
    rtype = str(stored.get("resourceType"))
    for element in OWNED[rtype]:
        before, after = stored.get(element), fresh.get(element)
        if element == "reaction":
            before, after = _manifestation(stored), _manifestation(fresh)
        if _same(element, before, after):
            continue
        if element == "reaction":
            first = {**((stored.get("reaction") or [{}])[0]), "manifestation": [after]}
            edited["reaction"] = [first, *(stored.get("reaction") or [])[1:]]
        elif element == "contained":
            edited["contained"], edited["device"] = fresh["contained"], fresh["device"]
        elif after is None:
            edited.pop(element, None)
        else:
            edited[element] = after
    for url in (VALID_UNTIL, CRITICAL_REASON):
        _replace_extension(edited, stored, fresh, url)
    if edited != stored:
        edited.pop("text", None)  # the narrative told of the old content
    return edited


def _replace_extension(
    edited: dict[str, Any], stored: dict[str, Any], fresh: dict[str, Any], url: str
) -> None:
    """The form's extension `url` in place of the stored one, unless its value is the same."""
    before = [e for e in stored.get("extension") or [] if e.get("url") == url]
    after = [e for e in fresh.get("extension") or [] if e.get("url") == url]
    dates = [e.get("valueDateTime") for e in before], [e.get("valueDateTime") for e in after]
    if _same("extension", before, after) and dates[0] == dates[1]:
        return
    kept = [e for e in edited.get("extension") or [] if e.get("url") != url]
    edited["extension"] = [*kept, *after]


class CriticalEditing:
    """The edit form of an entry and its save (routes added by `clinician`)."""

    def __init__(self, pages: Any) -> None:
        self.pages = pages  # the ClinicianPages: the caller, its views

    def handlers(self) -> list[tuple[str, Any, str]]:
        """(path, handler, method) of each page: `clinician` makes them routes."""
        return [(EDIT_PATH, self.form, "GET"), (EDIT_PATH, self.save, "POST")]

    @staticmethod
    def target(request: Request) -> tuple[str, str, str]:
        """The patient, the entry's type (400 when not critical information) and its id."""
        rtype = request.path_params["type"]
        if rtype not in CRITICAL_TYPES:
            raise FormRefused(400, "not a kind of critical information")
        return request.path_params["id"], rtype, request.path_params["entry"][:64]

    async def form(self, request: Request) -> Response:
        """The entry's form, filled with its current content."""
        session, principal = await self.pages.caller(request)
        pid, rtype, rid = self.target(request)
        entry = patients_entry(await self.pages.views.data.read(principal, rtype, rid), pid)
        return self._page(request, session, principal, pid, entry, form_values(entry))

    async def save(self, request: Request) -> Response:
        """Update the entry, based on the version the form showed."""
        session, principal = await self.pages.caller(request)
        form = await self.pages.views.form(request, session)
        pid, rtype, rid = self.target(request)
        version = form.get("version", "")
        if not VERSION.fullmatch(version):
            raise FormRefused(400, "the form names no version of the entry")
        data = self.pages.views.data
        stored = patients_entry(await data.read(principal, rtype, rid), pid)
        edited = edited_entry(stored, form, pid)
        try:
            await data.update(principal, edited, int(version))
        except FhirError as exc:
            issues = [issue.diagnostics for issue in exc.issues]
            if exc.status in (409, 412):  # changed meanwhile: the entry as it is now
                current = await data.read(principal, rtype, rid)
                values = form_values(current)
                return self._page(
                    request, session, principal, pid, current, values, conflict=issues
                )
            if exc.status not in (400, 422):
                raise
            stored["meta"] = {**(stored.get("meta") or {}), "versionId": version}
            return self._page(request, session, principal, pid, stored, form, issues=issues)
        return RedirectResponse(f"/clinician/patient/{pid}?changed=edited#critical-heading", 303)

    def _page(
        self,
        request: Request,
        session: Any,
        principal: Any,
        pid: str,
        entry: dict[str, Any],
        values: dict[str, str],
        conflict: list[str] | None = None,
        issues: list[str] | None = None,
    ) -> Response:
        choices = choices_for(entry)
        template = "critical_entry.html" if "shape" in choices else "drug_reaction.html"
        status = 409 if conflict else 422 if issues else 200
        rtype, rid = entry.get("resourceType"), entry.get("id")
        return self.pages.views.page(
            request,
            template,
            session,
            status,
            name=principal.name or "",
            patient_id=pid,
            action=f"/clinician/patient/{pid}/critical/{rtype}/{rid}/edit",
            version=str((entry.get("meta") or {}).get("versionId") or ""),
            title_key="edit_entry",
            what=concept_text(_what(entry)),
            values=values,
            conflict=conflict or [],
            issues=issues or [],
            **choices,
        )


__all__ = ["EDIT_PATH", "CriticalEditing", "KindForm", "edited_entry", "form_values"]
