"""`POST DiagnosticReport/{id}/$block` and `$unblock`: a clinician withholds a lab result
from the patient, or releases it again, with a reason.

Both write — through `interactions.crud.update` with the intent "block"/"unblock", in the
operation's one transaction — the block label (`labels`) on the report, on each of its
result Observations (and their `hasMember` Observations) and on the Specimens it names, so
the pure access rule sees the block on every resource a citizen could reach it by. The
policy and the write rules apply as to any update, and each write is audited under the
operation's name, with the reason (`WriteNote`: the AuditEvent's entity detail "reason").
The reason, the clinician's HPR number and the time go on the label.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from samhandling.access_guard import WriteNote
from samhandling.fhir.instants import format_instant, now_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.services.lab_results.labels import (
    BLOCKED,
    UNBLOCKED,
    access_coding,
    is_blocked,
    with_block_labels,
    with_unblock_tag,
)
from samhandling.services.lab_results.write_rules import BLOCK, UNBLOCK
from samhandling.store.records import StoredVersion
from samhandling.store.version_writer import VersionWriter

MAX_PARTS = 500  # results, members and specimens of one report
#: where a blocked resource names the parts its block reaches (members: recursively)
PART_ELEMENTS: dict[Any, tuple[str, ...]] = {
    "DiagnosticReport": ("result", "specimen"),
    "Observation": ("hasMember",),
}


def block(context: OperationContext) -> OperationResult:
    """Withhold the report and its results from the patient."""
    return _change(context, BLOCK)


def unblock(context: OperationContext) -> OperationResult:
    """Release the report and its results to the patient again (their delay still holds)."""
    return _change(context, UNBLOCK)


def _change(context: OperationContext, intent: str) -> OperationResult:
    principal = context.guard.principal
    if principal is None or principal.kind != "clinician":
        raise FhirError(403, error("forbidden", f"Only a clinician can ${intent} a lab result"))
    reason = context.text("reason")
    if reason is None:
        raise FhirError(400, error("required", f"${intent} needs a reason", "reason"))
    rid = context.resource_id
    assert rid is not None
    report = _live(context.writer, "DiagnosticReport", rid)
    if report is None:
        raise FhirError(404, error("not-found", f"DiagnosticReport/{rid} is not known"))
    if intent == UNBLOCK and not is_blocked(report.resource()):
        raise FhirError(409, error("conflict", f"DiagnosticReport/{rid} is not blocked"))
    subject = subject_of(report.resource())
    parts = [
        p
        for p in parts_of(context.writer, report.resource())
        if subject_of(p.resource()) == subject
    ]
    to_change = [v for v in (report, *parts) if is_blocked(v.resource()) != (intent == BLOCK)]
    if not to_change:  # a block again labels what a correction added since, if anything
        raise FhirError(409, error("conflict", f"DiagnosticReport/{rid} is already blocked"))
    coding = access_coding(
        BLOCKED if intent == BLOCK else UNBLOCKED,
        reason,
        principal.hpr_number,
        format_instant(now_us()),
    )
    note = WriteNote(intent, reason)
    for version in to_change:
        relabel(context.writer, version, intent, coding, note)
    written = context.writer.current("DiagnosticReport", rid)
    assert written is not None
    return OperationResult(written.resource(), 200, {"ETag": written.etag})


def relabel(
    writer: VersionWriter,
    current: StoredVersion,
    intent: str,
    coding: dict[str, Any],
    note: WriteNote,
) -> StoredVersion:
    """Write `current` again blocked (or unblocked) with `coding`, audited with `note`."""
    resource = current.resource()
    if intent == BLOCK:
        changed = with_unblock_tag(with_block_labels(resource, [coding]), None)
    else:
        changed = with_unblock_tag(with_block_labels(resource, []), coding)
    rtype, rid = current.resource_type, current.resource_id
    result = crud.update(
        writer, rtype, rid, changed, if_match=current.version_id, intent=intent, note=note
    )
    return result.version


def parts_of(writer: VersionWriter, resource: dict[str, Any]) -> Iterator[StoredVersion]:
    """The live results (and their members) and specimens of a report, or the members of an
    Observation, once each."""
    seen: set[tuple[str, str]] = set()
    elements = PART_ELEMENTS.get(resource.get("resourceType"), ())
    pending = [ref for element in elements for ref in references(resource, element)]
    while pending:
        rtype, rid = pending.pop(0)
        if (rtype, rid) in seen:
            continue
        seen.add((rtype, rid))
        if len(seen) > MAX_PARTS:
            raise FhirError(422, error("too-costly", f"The report has over {MAX_PARTS} parts"))
        part = _live(writer, rtype, rid)
        if part is None:
            continue
        if rtype == "Observation":
            pending.extend(references(part.resource(), "hasMember"))
        yield part


def references(resource: dict[str, Any], element: str) -> list[tuple[str, str]]:
    """The relative `Observation/x` and `Specimen/x` references in `element`."""
    found = []
    for item in resource.get(element) or []:
        reference = item.get("reference") if isinstance(item, dict) else None
        if not isinstance(reference, str):
            continue
        rtype, _, rid = reference.partition("/")
        if rtype in ("Observation", "Specimen") and rid and "/" not in rid:
            found.append((rtype, rid))
    return found


def subject_of(resource: dict[str, Any]) -> Any:
    """The subject reference (a block reaches only parts of the report's own patient)."""
    subject = resource.get("subject")
    return subject.get("reference") if isinstance(subject, dict) else None


def _live(writer: VersionWriter, rtype: str, rid: str) -> StoredVersion | None:
    current = writer.current(rtype, rid)
    return None if current is None or current.deleted else current


def _operation(name: str, handler: Any, description: str) -> Operation:
    return Operation(
        name,
        "instance",
        "DiagnosticReport",
        handler,
        permission="u",
        writes=True,
        description=description,
        parameters=(
            ("reason", "in", 1, "1", "string"),
            ("return", "out", 1, "1", "DiagnosticReport"),
        ),
    )


OPERATIONS = [
    _operation(
        "block",
        block,
        "Withhold a lab result (the report, its results and specimens) from the patient, "
        "with a reason; a clinician only.",
    ),
    _operation(
        "unblock",
        unblock,
        "Release a blocked lab result to the patient again (its release delay still holds), "
        "with a reason; a clinician only.",
    ),
]
