"""`GET Patient/$unreconciled?organization=<orgnr>&days=N`: whose list needs reconciling.

The organisation's patients — those with an Encounter it provided (`service-provider`) and
those who have it as their general practitioner — whose medication list was not reconciled
(`$reconcile`, `pll-reconciled`) within the last `days` days (default 90), or not since the
start of their latest admission there (an inpatient Encounter: class IMP, ACUTE or NONAC).
Patients without a list are included (nothing to reconcile against is itself a finding).
Everything is found through the caller's guard (guarded searches, reads), so a clinician
sees the patients the policy lets them search. At most `MAX_PATIENTS` patients are checked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from samhandling.fhir.fhir_dates import date_or_none
from samhandling.fhir.outcome import FhirError, error
from samhandling.identifiers.identifier_systems import ORGANISATION_NUMBER_SYSTEM
from samhandling.interactions import read
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.operations import OperationContext, OperationResult
from samhandling.services.medication_list import clock
from samhandling.services.medication_list.listing import RECONCILED, extension, list_id, part
from samhandling.store.identity_queries import ids_by_identifier

MAX_PATIENTS = 500
DEFAULT_DAYS = 90
INPATIENT = frozenset({"IMP", "ACUTE", "NONAC"})


def unreconciled(context: OperationContext) -> OperationResult:
    """The organisation's patients whose list needs reconciling, with why."""
    organisation = _organisation(context)
    days = context.integer("days", 1, 3650) or DEFAULT_DAYS
    since = clock.now() - timedelta(days=days)
    admissions = _admissions(context, organisation)
    patients = set(admissions) | _listed_with_gp(context, organisation)
    found = []
    for patient_id in sorted(patients)[:MAX_PATIENTS]:
        reconciled = _reconciled_at(context, patient_id)
        reason = _reason(reconciled, since, admissions.get(patient_id))
        if reason:
            found.append(_patient_part(patient_id, reconciled, admissions.get(patient_id), reason))
    return OperationResult({"resourceType": "Parameters", "parameter": found})


def _organisation(context: OperationContext) -> str:
    number = context.text("organization")
    if number is None:
        message = "Name the organisation: organization=<organisation number>"
        raise FhirError(400, error("required", message, "organization"))
    number = number.rpartition("|")[2]
    ids = ids_by_identifier(context.connection, "Organization", ORGANISATION_NUMBER_SYSTEM, number)
    if len(ids) != 1:
        raise FhirError(404, error("not-found", f"No single organisation has number {number}"))
    return ids[0]


def _search(context: OperationContext, rtype: str, items: list[tuple[str, str]]) -> list[Any]:
    bundle = guarded_search(
        context.connection,
        rtype,
        [*items, ("_count", str(MAX_PATIENTS))],
        context.base_url,
        context.guard,
    )
    return [
        e["resource"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match"
    ]


def _admissions(context: OperationContext, organisation: str) -> dict[str, datetime | None]:
    """Patient id -> the start of their latest admission there (None: only outpatient)."""
    found: dict[str, datetime | None] = {}
    for encounter in _search(
        context, "Encounter", [("service-provider", f"Organization/{organisation}")]
    ):
        reference = str((encounter.get("subject") or {}).get("reference") or "")
        if not reference.startswith("Patient/"):
            continue
        patient_id = reference.removeprefix("Patient/")
        start = _start(encounter) if _inpatient(encounter) else None
        latest = found.get(patient_id)
        found[patient_id] = start if latest is None or (start and start > latest) else latest
    return found


def _listed_with_gp(context: OperationContext, organisation: str) -> set[str]:
    items = [("general-practitioner", f"Organization/{organisation}")]
    return {str(p.get("id")) for p in _search(context, "Patient", items)}


def _inpatient(encounter: dict[str, Any]) -> bool:
    return str((encounter.get("class") or {}).get("code")) in INPATIENT


def _start(encounter: dict[str, Any]) -> datetime | None:
    return _instant((encounter.get("period") or {}).get("start"))


def _instant(value: Any) -> datetime | None:
    found = date_or_none(value)
    return found.low if found is not None else None


def _reconciled_at(context: OperationContext, patient_id: str) -> datetime | None:
    try:
        listed = read.read(context.connection, "List", list_id(patient_id), context.guard)
    except FhirError as exc:
        if exc.status in (403, 404, 410):
            return None
        raise
    return _instant(part(extension(listed.resource(), RECONCILED), "time"))


def _reason(reconciled: datetime | None, since: datetime, admitted: datetime | None) -> str | None:
    if reconciled is None:
        return "never reconciled"
    if admitted is not None and reconciled < admitted:
        return "not reconciled since the latest admission"
    if reconciled < since:
        return "not reconciled within the period"
    return None


def _patient_part(
    patient_id: str, reconciled: datetime | None, admitted: datetime | None, reason: str
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
        {"name": "reason", "valueString": reason},
    ]
    if reconciled is not None:
        parts.append({"name": "lastReconciled", "valueDateTime": reconciled.isoformat()})
    if admitted is not None:
        parts.append({"name": "lastAdmission", "valueDateTime": admitted.isoformat()})
    return {"name": "patient", "part": parts}
