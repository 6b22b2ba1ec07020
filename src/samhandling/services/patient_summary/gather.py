"""What each section holds, read through the caller's guard.

Every search is a guarded search (`interactions.guarded_search`), so the policy and the
services' access rules apply as to any read: a citizen sees their own data only, lab
results only once released and never when blocked. A section whose types the caller may
not search at all is None (withheld). The medication section is the medication list
service's current list (its List and the statement versions it references). The alerts
are the patient's active Flags (critical information's procedural changes and any other):
R4 gives Flag no `status` search parameter, so the status is read from each Flag.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from samhandling.fhir.entry_status import is_entered_in_error
from samhandling.fhir.fhir_dates import date_or_none
from samhandling.fhir.outcome import FhirError
from samhandling.interactions.guarded_search import guarded_search
from samhandling.interactions.operations import OperationContext
from samhandling.interactions.read import vread
from samhandling.services.medication_list.document import current_list
from samhandling.services.medication_list.listing import entries_of

#: the searches of each section other than the medication list: (type, parameters)
SEARCHES: dict[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = {
    "alerts": (("Flag", ()),),
    "allergies": (("AllergyIntolerance", ()),),
    # R4 condition-clinical: recurrence and relapse are kinds of active
    "problems": (("Condition", (("clinical-status", "active,recurrence,relapse"),)),),
    "procedures": (("Procedure", ()),),
    "immunizations": (("Immunization", ()),),
    "devices": (("DeviceUseStatement", ()),),
    "results": (("DiagnosticReport", ()), ("Observation", ())),
}
VITAL_AND_SOCIAL = frozenset({"vital-signs", "social-history", "survey", "activity"})

Found = dict[str, list[dict[str, Any]] | None]


def gather(context: OperationContext, patient_id: str, now: datetime) -> Found:
    """The resources of every section the caller may see (None: withheld)."""
    found: Found = {"medications": medication_statements(context, patient_id, now)}
    for key, searches in SEARCHES.items():
        lists = [_search(context, rtype, patient_id, items) for rtype, items in searches]
        if all(part is None for part in lists):
            found[key] = None
            continue
        resources = [r for part in lists for r in part or [] if not is_entered_in_error(r)]
        found[key] = [r for r in resources if _belongs(key, r, now)]
    return found


def _belongs(key: str, resource: dict[str, Any], now: datetime) -> bool:
    if key == "results":
        return is_result(resource)
    if key == "alerts":
        return is_active_flag(resource, now)
    return True


def is_active_flag(flag: dict[str, Any], now: datetime) -> bool:
    """A Flag in force at `now`: status active and its period not ended.

    R4 Flag.period: "If the flag is active, the end of the period should be unspecified";
    an end already past is read as inactive (an end in the future is a planned one).
    """
    if flag.get("status") != "active":
        return False
    end = date_or_none((flag.get("period") or {}).get("end"))
    return end is None or end.high > now  # ended only once the whole end value is past


def is_result(resource: dict[str, Any]) -> bool:
    """A report or a result observation (not a vital sign or social history)."""
    if resource.get("resourceType") != "Observation":
        return True
    codes = {
        str(c.get("code"))
        for concept in resource.get("category") or []
        for c in concept.get("coding") or []
    }
    return not codes & VITAL_AND_SOCIAL


def medication_statements(
    context: OperationContext, patient_id: str, now: datetime
) -> list[dict[str, Any]] | None:
    """The statements on the patient's current medication list (None: withheld)."""
    try:
        listing = current_list(context, patient_id, now)
        return [
            vread(
                context.connection, "MedicationStatement", ref.uuid, str(ref.version),
                context.guard,
            ).resource()
            for ref in entries_of(listing).values()
        ]  # fmt: skip
    except FhirError as refusal:
        if refusal.status == 403:
            return None
        raise


def _search(
    context: OperationContext,
    resource_type: str,
    patient_id: str,
    items: tuple[tuple[str, str], ...],
) -> list[dict[str, Any]] | None:
    query = [("patient", patient_id), *items, ("_count", "1000")]
    try:
        found = guarded_search(
            context.connection, resource_type, query, context.base_url, context.guard
        )
    except FhirError as refusal:
        if refusal.status == 403:
            return None
        raise
    return [
        e["resource"] for e in found.get("entry", []) if e.get("search", {}).get("mode") == "match"
    ]
