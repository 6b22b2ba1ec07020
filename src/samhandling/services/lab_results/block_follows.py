"""What a correction adds to a blocked lab result is blocked with it (docs/LAB_RESULTS.md).

A lab corrects a report by writing a new version of it (status corrected/amended) and may
name results, members or specimens the clinician's `$block` never saw. The block label
stays on the report (`write_rules.BlockLabelKeptOnWrites`); this rule makes it follow, in
the same transaction, so the pure access rule sees it on each part:

* a write of a blocked report (or a blocked Observation: its `hasMember`) that names parts
  of the same patient without the label blocks them, as `$block` does: a new version of
  each with the report's label, through `crud.update` with the intent "block", audited as a
  block (subtype `block`) with the reason "follows the blocked DiagnosticReport/x: …";
* a part it newly names must exist already (in a Bundle: a POST, or an entry before the
  report's), else the write is refused (422): a result written after the report would
  escape the block. Parts it named before are left alone.
"""

from __future__ import annotations

from samhandling.access_guard import WriteNote
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.lab_results.blocking import (
    PART_ELEMENTS,
    parts_of,
    references,
    relabel,
    subject_of,
)
from samhandling.services.lab_results.labels import block_codings, is_blocked, reason_of
from samhandling.services.lab_results.write_rules import BLOCK, UNBLOCK


class BlockFollowsCorrections:
    """Write rule: a blocked report's (or panel's) new parts are blocked with it."""

    resource_types = frozenset(PART_ELEMENTS)  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        if context.new is None or context.intent in (BLOCK, UNBLOCK):
            return False
        return context.resource_type in PART_ELEMENTS and is_blocked(context.before)

    def check(self, context: WriteContext) -> None:
        assert context.new is not None
        _refuse_new_parts_not_written(context)
        coding = block_codings(context.before)[0]
        reference = f"{context.resource_type}/{context.resource_id}"
        note = WriteNote(BLOCK, f"follows the blocked {reference}: {reason_of(coding) or ''}")
        subject = subject_of(context.new)
        itself = (context.resource_type, context.resource_id)
        written = {**context.new, "resourceType": context.resource_type}
        for part in parts_of(context.writer, written):
            if (part.resource_type, part.resource_id) == itself:
                continue  # the resource itself (a panel naming itself): labelled already
            resource = part.resource()
            if subject_of(resource) == subject and not is_blocked(resource):
                relabel(context.writer, part, BLOCK, coding, note)


def _refuse_new_parts_not_written(context: WriteContext) -> None:
    assert context.new is not None
    for element in PART_ELEMENTS[context.resource_type]:
        known = set(references(context.before or {}, element))
        for rtype, rid in references(context.new, element):
            if (rtype, rid) in known:
                continue
            current = context.writer.current(rtype, rid)
            if current is None or current.deleted:
                message = (
                    f"{context.resource_type}/{context.resource_id} is blocked for the patient:"
                    f" write {rtype}/{rid} before it (in a Bundle: a POST, or an earlier entry),"
                    " so that the block reaches it"
                )
                where = f"{context.resource_type}.{element}"
                raise FhirError(422, error("business-rule", message, where))
