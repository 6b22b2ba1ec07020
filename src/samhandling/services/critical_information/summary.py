"""`Patient/{id}/$critical-information` and `…/$critical-information-indicator`.

The first returns the patient's whole current critical information in one response,
grouped by kind, with the time of the last change per kind and overall (what the national
"health indicator" gives an EPJ before it asks for details). The second answers only
"is there any, how much of each kind, and when did it last change", for EPJs to poll: the
same query, without the entries in the response.

Both read the patient's entries in one indexed query (`entries.stored_entries`) and show
each only where the caller's guard would show it in a search, so they show exactly what
the caller may see: a pharmacist gets the drug reactions and nothing else, kinds the
caller may not search at all are named under `withheld`, and citizens never see entries
entered in error (the policy hides them). Entries entered in error are left out
of the groups for everybody; for clinicians they still count as a change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from samhandling.definitions.operation_definitions import Param
from samhandling.fhir import json_codec
from samhandling.fhir.entry_status import is_entered_in_error
from samhandling.fhir.instants import datetime_to_us, format_http_date
from samhandling.fhir.outcome import FhirError, error
from samhandling.identifiers.identifier_systems import FNR_SYSTEM
from samhandling.interactions.operations import (
    Level,
    Operation,
    OperationContext,
    OperationResult,
)
from samhandling.interactions.read import read
from samhandling.services.critical_information.entries import stored_entries
from samhandling.services.critical_information.kinds import KINDS, Kind, kind_of
from samhandling.store.identity_queries import ids_by_identifier

LEVELS: tuple[Level, ...] = ("instance", "type")


@dataclass
class Group:
    """One kind's entries as the caller may see them."""

    kind: Kind
    entries: list[dict[str, Any]] = field(default_factory=list)
    last_changed: str | None = None


def collect(context: OperationContext, patient_id: str) -> tuple[list[Group], list[Kind]]:
    """The visible groups and the kinds the caller may not read at all."""
    readable: list[Kind] = []
    withheld: list[Kind] = []
    for kind in KINDS:
        try:
            context.guard.check_request("search", kind.resource_type)
        except FhirError as refusal:
            if refusal.status != 403:
                raise
            withheld.append(kind)
            continue
        readable.append(kind)
    groups = {kind.key: Group(kind) for kind in readable}
    for entry in stored_entries(context.connection, patient_id, readable):
        found = kind_of(entry)
        if found is not None and context.guard.visible("search", entry):
            _add(groups[found.key], entry)
    return list(groups.values()), withheld


def _add(group: Group, entry: dict[str, Any]) -> None:
    changed = (entry.get("meta") or {}).get("lastUpdated")
    if changed and (group.last_changed is None or changed > group.last_changed):
        group.last_changed = changed
    if not is_entered_in_error(entry):
        group.entries.append(entry)


def patient_of(context: OperationContext) -> str:
    """The Patient the operation is about: the instance, or `identifier` (FNR/D-number)."""
    if context.resource_id is not None:
        return context.resource_id
    identifier = context.parameter("identifier")
    if not isinstance(identifier, str) or not identifier:
        message = "Name the patient: Patient/{id}/$… or ?identifier=system|value"
        raise FhirError(400, error("required", message, "identifier"))
    system, _, value = identifier.rpartition("|")
    ids = ids_by_identifier(context.connection, "Patient", system or FNR_SYSTEM, value)
    if len(ids) != 1:
        raise FhirError(404, error("not-found", "No single patient has that identifier"))
    return ids[0]


def _run(context: OperationContext, with_entries: bool) -> OperationResult:
    patient_id = patient_of(context)
    read(context.connection, "Patient", patient_id, context.guard)  # 404/403 as for a read
    groups, withheld = collect(context, patient_id)
    changes = [g.last_changed for g in groups if g.last_changed]
    parameters: list[dict[str, Any]] = [
        {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
        {"name": "present", "valueBoolean": any(g.entries for g in groups)},
    ]
    if changes:
        parameters.append({"name": "lastChanged", "valueInstant": max(changes)})
    parameters += [_group_parameter(g, with_entries) for g in groups]
    parameters += [{"name": "withheld", "valueCode": kind.key} for kind in withheld]
    body = {"resourceType": "Parameters", "parameter": parameters}
    return OperationResult(body, 200, _validators(body, max(changes) if changes else None))


def _validators(body: dict[str, Any], last_changed: str | None) -> dict[str, str]:
    """ETag (of what this caller is shown) and Last-Modified, so that an EPJ polling the
    indicator gets 304 until something changes (`If-None-Match`, `If-Modified-Since`).
    Last-Modified is the newest change the caller can see: an entry hidden from it since
    (a label) does not move it, so pollers should prefer the ETag, which it does change."""
    digest = hashlib.sha256(json_codec.dump(body)).hexdigest()[:20]
    headers = {"ETag": f'W/"{digest}"', "Cache-Control": "private, no-cache"}
    if last_changed is not None:
        headers["Last-Modified"] = format_http_date(
            datetime_to_us(datetime.fromisoformat(last_changed))
        )
    return headers


def _group_parameter(group: Group, with_entries: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"name": "kind", "valueCode": group.kind.key},
        {"name": "title", "valueString": group.kind.title},
        {"name": "count", "valueInteger": len(group.entries)},
    ]
    if group.last_changed:
        parts.append({"name": "lastChanged", "valueInstant": group.last_changed})
    if with_entries:
        parts += [{"name": "entry", "resource": entry} for entry in group.entries]
    return {"name": "group", "part": parts}


def summary(context: OperationContext) -> OperationResult:
    """The grouped critical information of one patient."""
    return _run(context, with_entries=True)


def indicator(context: OperationContext) -> OperationResult:
    """Whether the patient has critical information, how much and when it last changed."""
    return _run(context, with_entries=False)


_PARAMETERS: tuple[Param, ...] = (
    ("identifier", "in", 0, "1", "string"),
    ("patient", "out", 1, "1", "Reference"),
    ("present", "out", 1, "1", "boolean"),
    ("lastChanged", "out", 0, "1", "instant"),
    ("withheld", "out", 0, "*", "code"),
    ("group", "out", 0, "*", "BackboneElement"),
)
OPERATIONS = [
    Operation(
        name,
        level,
        "Patient",
        handler,
        permission="r",
        methods=("GET", "POST"),
        description=description,
        parameters=_PARAMETERS,
    )
    for name, handler, description in (
        (
            "critical-information",
            summary,
            "The patient's critical information (kritisk info), grouped by kind.",
        ),
        (
            "critical-information-indicator",
            indicator,
            "Whether the patient has critical information, how much and when it last changed.",
        ),
    )
    for level in LEVELS
]
