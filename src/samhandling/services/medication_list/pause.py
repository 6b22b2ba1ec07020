"""Pause, resume and reconcile the list: versions that change only its extensions.

* `$medication-list-pause` (reason, expectedEnd): during a hospital stay the ward pauses the
  list; other organisations' writes are then refused (`rules.PausedList`) and reads show
  the pause (extension `pll-paused` on the List and the document's Composition);
* `$medication-list-resume`: the pausing organisation lifts the pause (anybody else is
  refused by the same rule);
* `$reconcile` ("samstemming"): a clinician records that the list was reconciled with the
  patient (extension `pll-reconciled`: who and when). A paused list is reconciled only by
  the pausing organisation.

Each writes the List through `crud.update` with the current version, under its row lock.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.instants import format_http_date
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud
from samhandling.interactions.operations import OperationContext, OperationResult
from samhandling.services.medication_list import clock
from samhandling.services.medication_list.listing import (
    PAUSED,
    PROFILE,
    RECONCILED,
    empty_list,
    extension,
    list_id,
    stamp,
    with_extension,
)
from samhandling.services.medication_list.patients import locked_list, patient_of

PAUSE_INTENT = "medication-list-pause"
RECONCILE_INTENT = "reconcile"


def pause(context: OperationContext) -> OperationResult:
    """Pause the list with a reason and an expected end."""
    reason = context.text("reason")
    if reason is None:
        raise FhirError(400, error("required", "A pause needs a reason", "reason"))
    more = {"reason": reason}
    expected_end = context.text("expectedEnd")
    if expected_end is not None:
        more["expectedEnd"] = expected_end
    principal = context.guard.principal
    if principal is not None and principal.organisation.legal_entity_name:
        more["organizationName"] = principal.organisation.legal_entity_name
    return _amend(context, PAUSED, lambda at: stamp(PAUSED, principal, at, **more), PAUSE_INTENT)


def resume(context: OperationContext) -> OperationResult:
    """Lift the pause (only the pausing organisation may: `rules.PausedList`)."""
    return _amend(context, PAUSED, lambda at: None, PAUSE_INTENT)


def reconcile(context: OperationContext) -> OperationResult:
    """Record that the list was reconciled, by whom and when."""
    principal = context.guard.principal
    return _amend(
        context, RECONCILED, lambda at: stamp(RECONCILED, principal, at), RECONCILE_INTENT
    )


def _amend(context: OperationContext, url: str, make: Any, intent: str) -> OperationResult:
    patient_id = patient_of(context)
    lid = list_id(patient_id)
    stored = locked_list(context, lid)
    current = stored.resource() if stored and not stored.deleted else None
    if current is None and url == PAUSED and make("") is None:
        raise FhirError(409, error("business-rule", "The patient has no medication list to resume"))
    if (
        current is not None
        and url == PAUSED
        and make("") is None
        and not extension(current, PAUSED)
    ):
        raise FhirError(409, error("business-rule", "The medication list is not paused"))
    new = {**(current or empty_list(patient_id))}
    new["meta"] = {"profile": [PROFILE]}
    with_extension(new, url, make(clock.now().isoformat()))
    version = stored.version_id if stored is not None and current is not None else None
    written = crud.update(context.writer, "List", lid, new, if_match=version, intent=intent).version
    headers = {"ETag": written.etag, "Last-Modified": format_http_date(written.last_updated_us)}
    return OperationResult(written.resource(), 200, headers)
