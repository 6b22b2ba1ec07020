"""`POST {type}/{id}/$confirm`: a clinician confirms that an entry is still correct.

The entry's content stays as it is; a new version records who confirmed it and when
(extension `kj-last-confirmed`), so the confirmation is in the history and the audit trail
like any other change. It is written through the interactions' update with the intent
"confirm": the policy (who may write critical information) and the write rules (which
move the stamp, `entry_rules`) apply as to any update. Entries entered in error cannot be
confirmed.
"""

from __future__ import annotations

from samhandling.fhir.instants import format_http_date
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.services.critical_information.kinds import KINDS, kind_of

CONFIRM = "confirm"


def confirm(context: OperationContext) -> OperationResult:
    """Write a new version of the entry that only moves its last-confirmed stamp."""
    rtype, rid = context.resource_type, context.resource_id
    assert rtype is not None and rid is not None
    if context.guard.principal is None:
        raise FhirError(403, error("forbidden", "Only a health professional can confirm an entry"))
    current = context.writer.current(rtype, rid)
    if current is None or current.deleted:
        raise FhirError(404, error("not-found", f"{rtype}/{rid} is not known"))
    entry = current.resource()
    if kind_of(entry) is None:
        raise FhirError(422, error("business-rule", f"{rtype}/{rid} is not critical information"))
    result = crud.update(
        context.writer, rtype, rid, entry, if_match=current.version_id, intent=CONFIRM
    )
    written = result.version
    headers = {"ETag": written.etag, "Last-Modified": format_http_date(written.last_updated_us)}
    return OperationResult(written.resource(), 200, headers)


OPERATIONS = [
    Operation(
        "confirm",
        "instance",
        kind.resource_type,
        confirm,
        permission="u",
        writes=True,
        description="Confirm that the entry is still right (stamps the last-confirmed extension).",
        parameters=(("return", "out", 1, "1", "Resource"),),
    )
    for kind in KINDS
]
