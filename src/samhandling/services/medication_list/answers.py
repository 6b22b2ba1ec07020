"""The answer to a refused save: an OperationOutcome naming each entry, with the current list.

The current List version and its entries are `contained` in the OperationOutcome (each
pointed at by an extension `pll-current-list`, so that they are referenced from the
container), and the `ETag` header names the current version: the EPJ merges and saves
again based on it.
"""

from __future__ import annotations

from samhandling.fhir.outcome import operation_outcome
from samhandling.interactions.operations import OperationContext, OperationResult
from samhandling.services.medication_list.guard import Refusal
from samhandling.services.medication_list.listing import entries_of
from samhandling.store.reader import read_version
from samhandling.store.records import StoredVersion

CURRENT_LIST = "https://samhandling.no/fhir/StructureDefinition/pll-current-list"


def refused(
    context: OperationContext, refusal: Refusal, stored: StoredVersion | None
) -> OperationResult:
    """The refusal's OperationOutcome with the current list contained (when there is one)."""
    outcome = operation_outcome(refusal.issues)
    if stored is None or not _shown(context, stored):
        return OperationResult(outcome, refusal.status)
    current = stored.resource()
    contained = [{**current, "id": "current-list"}]
    for ref in entries_of(current).values():
        version = read_version(context.connection, "MedicationStatement", ref.uuid, ref.version)
        if version is not None and not version.deleted and _shown(context, version):
            contained.append({**version.resource(), "id": f"entry-{ref.uuid}"})
    outcome["contained"] = contained
    outcome["extension"] = [
        {"url": CURRENT_LIST, "valueReference": {"reference": f"#{item['id']}"}}
        for item in contained
    ]
    return OperationResult(outcome, refusal.status, {"ETag": stored.etag})


def _shown(context: OperationContext, stored: StoredVersion) -> bool:
    """Whether the caller's guard lets it see this version (and records that it did)."""
    return context.guard.visible("vread", stored.resource())
