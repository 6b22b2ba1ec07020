"""Registering the other kinds of critical information from the clinician's patient page.

One form serves the critical condition, ongoing treatment, implant and procedural change:
each kind's choices are a row of `FORMS` (codes from the shipped Volven code systems, or,
for a condition, SNOMED CT concepts of the shipped fragment), and `critical_entry` makes the
entry its Kj profile describes. It is created through the same interaction as an EPJ's
POST, so the service's write rules (who, profile, stamps) and the audit apply unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from samhandling.services.critical_information.kinds import KINDS, Kind
from samhandling.web.drug_reaction import KJ, valid_until
from samhandling.web.security import FormRefused

SCT = "http://snomed.info/sct"
VOLVEN = "urn:oid:2.16.578.1.12.4.1.1."
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
MAX_NOTE = 1000


@dataclass(frozen=True)
class KindForm:
    """The form of one kind: what it is coded in, its choices, and its fixed category."""

    kind: Kind
    system: str
    codes: dict[str, str]  # code → the text shown and stored
    category: str | None = None  # 7651: fixed for the kind (a Flag's is chosen)
    reasons: dict[str, str] | None = None  # 7513: why a condition is critical
    categories: dict[str, str] | None = None  # 7651 8 or 9 for a procedural change
    noted: bool = True  # Flag has no note element in R4


_KIND = {kind.key: kind for kind in KINDS}
FORMS: dict[str, KindForm] = {
    "critical-condition": KindForm(
        _KIND["critical-condition"],
        SCT,
        {
            "84757009": "Epilepsi",
            "128613002": "Krampeanfallslidelse",
            "84114007": "Hjertesvikt",
            "49436004": "Atrieflimmer",
            "44054006": "Diabetes",
        },
        category="5",
        reasons={
            "1": "Kan påvirke bevissthetsgrad",
            "2": "Kan gi alvorlig påvirkning av respirasjon",
            "3": "Kan gi blødningstendens",
            "4": "Kan gi sirkulasjonssvikt",
            "5": "Fare for problem under narkose",
            "6": "Fare for komplikasjoner under kirurgi",
            "7": "Fare for livstruende komplikasjon hvis legemiddel-behandling endres",
            "8": "Diagnosen omfattes av definisjonen av kritisk tilstand",
        },
    ),
    "ongoing-treatment": KindForm(
        _KIND["ongoing-treatment"],
        VOLVEN + "7517",
        {
            "1": "Cytostatika",
            "2": "Immunhemmende/-modulerende behandling",
            "3": "Strålebehandling",
            "4": "Viktig blodfortynnende behandling",
            "5": "Dialyse",
            "6": "LAR (Legemiddelassistert rehabilitering)",
            "13": "Står i transplantasjonskø",
            "14": "Annen viktig behandling",
        },
        category="6",
    ),
    "implant": KindForm(
        _KIND["implant"],
        VOLVEN + "7518",
        {
            "1": "Implantat i øret (inkludert cochleaimplantat)",
            "6": "Nevrostimulator",
            "9": "Pacemaker",
            "10": "Implantert hjertestarter (ICD)",
            "11": "Mekanisk hjerteventil",
            "13": "Coronar stent",
        },
    ),
    "procedural-change": KindForm(
        _KIND["procedural-change"],
        VOLVEN + "7522",
        {
            "1": "Pasienten har reservert seg mot blodtransfusjon/blodprodukter",
            "2": "Avtale om åpen retur",
            "3": "Spesifikk lege/avdeling bør kontaktes ved forverring",
            "4": "Anbefalt spesifisert behandlingsprosedyre",
            "5": "Annen endring i prosedyrer",
        },
        categories={
            "8": "Avgrensning av livsforlengende behandling",
            "9": "Annen prosedyreendring",
        },
        noted=False,
    ),
}


def _concept(system: str, code: str, text: str) -> dict[str, Any]:
    """A coded concept; our Norwegian names of SNOMED CT concepts are its text only (the
    code system's display is the English description, not ours)."""
    coding = {"system": system, "code": code}
    if system != SCT:
        coding["display"] = text
    return {"coding": [coding], "text": text}


def _category(code: str) -> dict[str, Any]:
    return {"coding": [{"system": VOLVEN + "7651", "code": code}]}


def _chosen(form: dict[str, str], field: str, choices: dict[str, str] | None) -> str:
    value = form.get(field, "")
    if choices is not None and value not in choices:
        raise FormRefused(400, "choose from the lists")
    return value


def _content(shape: KindForm, form: dict[str, str], code: str) -> dict[str, Any]:
    """The elements that differ per kind (what it is, its status, its category)."""
    concept = _concept(shape.system, code, shape.codes[code])
    rtype = shape.kind.resource_type
    if rtype == "Condition":
        reason = _chosen(form, "reason", shape.reasons)
        assert shape.reasons is not None and shape.category is not None
        return {
            "extension": [
                {
                    "url": KJ + "kj-critical-reason",
                    "valueCodeableConcept": _concept(
                        VOLVEN + "7513", reason, shape.reasons[reason]
                    ),
                }
            ],
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "verificationStatus": {
                "coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]
            },
            "category": [_category(shape.category)],
            "code": concept,
        }
    if rtype == "Procedure":
        assert shape.category is not None
        return {"status": "in-progress", "category": _category(shape.category), "code": concept}
    if rtype == "DeviceUseStatement":
        device = {"resourceType": "Device", "id": "implant", "type": concept}
        return {"contained": [device], "status": "active", "device": {"reference": "#implant"}}
    category = _chosen(form, "category", shape.categories)
    return {"status": "active", "category": [_category(category)], "code": concept}


def critical_entry(
    key: str, patient_id: str, form: dict[str, str], shape: KindForm | None = None
) -> dict[str, Any]:
    """The entry of kind `key` the form describes (400 for a kind or choice not offered;
    an edit passes the kind's `shape` widened by the entry's own choices)."""
    shape = shape or FORMS.get(key)
    if shape is None:
        raise FormRefused(400, "not a kind of critical information registered here")
    code = _chosen(form, "code", shape.codes)
    note = form.get("note", "").strip() if shape.noted else ""
    if len(note) > MAX_NOTE:
        raise FormRefused(400, "a note has at most 1000 characters")
    source = {
        "url": KJ + "kj-information-source",
        "valueCodeableConcept": {"coding": [{"system": VOLVEN + "7498", "code": "2"}]},
    }
    content = _content(shape, form, code)
    entry: dict[str, Any] = {
        "resourceType": shape.kind.resource_type,
        "meta": {"profile": [shape.kind.profile]},
        **content,
        "extension": [source, *content.get("extension", []), *valid_until(form)],
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if note:
        entry["note"] = [{"text": note}]
    return entry


class CriticalRegistration:
    """The form of each other kind and its registration (routes in `clinician`)."""

    def __init__(self, pages: Any) -> None:
        self.pages = pages  # the ClinicianPages: the caller, its views

    def _shape(self, request: Request) -> tuple[str, KindForm]:
        key = request.path_params["kind"]
        if key not in FORMS:
            raise FormRefused(400, "not a kind of critical information registered here")
        return key, FORMS[key]

    async def form(self, request: Request) -> Response:
        """The registration form of one kind."""
        session, principal = await self.pages.caller(request)
        key, shape = self._shape(request)
        return self.pages.views.page(
            request,
            "critical_entry.html",
            session,
            name=principal.name or "",
            patient_id=request.path_params["id"],
            key=key,
            shape=shape,
        )

    async def register(self, request: Request) -> Response:
        """Create the entry (the service's write rules decide who may)."""
        session, principal = await self.pages.caller(request)
        form = await self.pages.views.form(request, session)
        pid = request.path_params["id"]
        key, _ = self._shape(request)
        await self.pages.views.data.create(principal, critical_entry(key, pid, form))
        return RedirectResponse(f"/clinician/patient/{pid}?registered=1#critical-heading", 303)
