"""`POST {type}/{id}/$confirm`: a clinician confirms that an entry is still correct.

The entry's content stays as it is; a new version records who confirmed it and when
(extension `kj-last-confirmed`), so the confirmation is in the history and the audit trail
like any other change. Entries entered in error cannot be confirmed.
"""

from __future__ import annotations

import copy

from samhandling.fhir.entry_status import is_entered_in_error
from samhandling.fhir.instants import format_http_date, format_instant, now_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.services.critical_information import stamps
from samhandling.services.critical_information.kinds import KINDS, kind_of
from samhandling.services.critical_information.writers import writing_principal


def confirm(context: OperationContext) -> OperationResult:
    """Write a new version of the entry that only moves its last-confirmed stamp."""
    rtype, rid = context.resource_type, context.resource_id
    assert rtype is not None and rid is not None
    principal = writing_principal(context.connection, context.guard)
    if principal is None:
        raise FhirError(403, error("forbidden", "Only a health professional can confirm an entry"))
    current = context.writer.current(rtype, rid)
    if current is None or current.deleted:
        raise FhirError(404, error("not-found", f"{rtype}/{rid} is not known"))
    entry = current.resource()
    if kind_of(entry) is None:
        raise FhirError(422, error("business-rule", f"{rtype}/{rid} is not critical information"))
    if is_entered_in_error(entry):
        raise FhirError(
            422, error("business-rule", "An entry entered in error cannot be confirmed")
        )
    confirmed = copy.deepcopy(entry)  # the content stays; only the stamp moves
    at = format_instant(now_us())
    stamps.replace_extension(
        confirmed,
        stamps.LAST_CONFIRMED,
        [stamps.stamp(stamps.LAST_CONFIRMED, stamps.Actor.of(principal), at)],
    )
    written = context.writer.write(rtype, rid, confirmed, method="update", previous=current)
    headers = {"ETag": written.etag, "Last-Modified": format_http_date(written.last_updated_us)}
    return OperationResult(written.resource(), 200, headers)


OPERATIONS = [
    Operation("confirm", "instance", kind.resource_type, confirm, writes=True) for kind in KINDS
]
