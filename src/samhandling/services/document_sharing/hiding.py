"""`POST DocumentReference/{id}/$hide-from-clinicians` and `$show-to-clinicians`: the
citizen blocks one of their documents from health personnel, or lifts the block.

The block is the Norwegian label 9603 `NORS` ("sperret av pasienten for helsepersonell")
in `securityLabel`, which the access policy already honours (`auth/labels.py`: withheld
from clinicians and systems, emergencies included); it is copied to the document's Binary
so that its content is blocked too. Only the patient themself (not a parent or proxy) may
do it, on a document they may read. The citizen may not write documents, so the operation
writes the label itself, with the policy's decision on the operation standing in for the
write's (`DelegatedWrites`); every write is audited under the operation's name, with the
citizen as the agent. A plain write may neither set nor lift the label (`NorsKeptOnWrites`).
"""

from __future__ import annotations

from typing import Any

from samhandling.auth.labels import NO_9603
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions import crud, read
from samhandling.interactions.delegated_writes import DelegatedWrites
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.document_sharing.content import bind_content
from samhandling.store.version_writer import VersionWriter

HIDE, SHOW = "hide-from-clinicians", "show-to-clinicians"
NORS = "NORS"


def has_nors(resource: dict[str, Any] | None) -> bool:
    """Whether the document carries the citizen's block (9603 NORS)."""
    return any(
        c.get("system") == NO_9603 and c.get("code") == NORS
        for concept in (resource or {}).get("securityLabel") or []
        for c in (concept.get("coding") if isinstance(concept, dict) else None) or []
        if isinstance(c, dict)
    )


def hide(context: OperationContext) -> OperationResult:
    """Block the document (and its content) from health personnel."""
    return _change(context, HIDE)


def show(context: OperationContext) -> OperationResult:
    """Lift the citizen's block."""
    return _change(context, SHOW)


def _change(context: OperationContext, intent: str) -> OperationResult:
    principal = context.guard.principal
    if principal is None or principal.kind != "citizen":
        raise FhirError(403, error("forbidden", f"Only the patient can ${intent}"))
    rid = context.resource_id
    assert rid is not None
    current = read.read(context.connection, "DocumentReference", rid, context.guard)
    document = current.resource()
    patient = (document.get("subject") or {}).get("reference", "")
    own = {f"Patient/{a.patient_id}" for a in principal.acts_for if a.relation == "self"}
    if patient not in own:
        message = "Only the patient themself can hide a document from health personnel"
        raise FhirError(403, error("forbidden", message))
    if has_nors(document) == (intent == HIDE):
        state = "already hidden" if intent == HIDE else "not hidden"
        raise FhirError(409, error("conflict", f"DocumentReference/{rid} is {state}"))
    changed = _with_nors(document, intent == HIDE)
    writer = VersionWriter(context.connection, DelegatedWrites(context.guard), context.writer.rules)
    result = crud.update(
        writer, "DocumentReference", rid, changed, if_match=current.version_id, intent=intent
    )
    bind_content(writer, result.version.resource())
    return OperationResult({"resourceType": "Parameters", "parameter": [
        {"name": "hidden", "valueBoolean": intent == HIDE},
    ]})  # fmt: skip


def _with_nors(document: dict[str, Any], hidden: bool) -> dict[str, Any]:
    labels = [c for c in document.get("securityLabel") or [] if not _is_nors(c)]
    if hidden:
        nors = {"system": NO_9603, "code": NORS, "display": "Sperret av pasienten"}
        labels.append({"coding": [nors]})
    return {**document, "securityLabel": labels}


def _is_nors(concept: Any) -> bool:
    return has_nors({"securityLabel": [concept]})


class NorsKeptOnWrites:
    """Write rule: only the citizen's operations set or lift the NORS block."""

    resource_types = frozenset({"DocumentReference"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return (
            context.resource_type == "DocumentReference"
            and context.new is not None
            and context.intent not in (HIDE, SHOW)
            and has_nors(context.before) != has_nors(context.new)
        )

    def check(self, context: WriteContext) -> None:
        message = (
            "Only the patient can hide a document from health personnel ($hide-from-clinicians)"
        )
        raise FhirError(422, error("business-rule", message, "DocumentReference.securityLabel"))


def _operation(name: str, handler: Any, description: str) -> Operation:
    return Operation(
        name,
        "instance",
        "DocumentReference",
        handler,
        permission="r",
        writes=True,
        description=description,
        parameters=(("hidden", "out", 1, "1", "boolean"),),
    )


OPERATIONS = [
    _operation(HIDE, hide, "The patient hides a document from health personnel (9603 NORS)."),
    _operation(SHOW, show, "The patient lifts the block of $hide-from-clinicians."),
]
