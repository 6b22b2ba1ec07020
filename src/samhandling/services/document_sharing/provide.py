"""The registry's write rules for IHE MHD ITI-65 Provide Document Bundle.

A Provide Document Bundle is an ordinary transaction (`interactions/bundle.py`: one
database transaction, ids assigned first, `urn:uuid:` references and attachment URLs
rewritten, Binaries written before the resources that describe them); these rules run on
each of its entries, so a wrong one refuses the Bundle with 422 and nothing of the
submission is stored. They hold a plain create or update to the same rules.

* `DocumentEntryRule` (DocumentReference): the producer's type mapped to 9602
  (`concept_maps`); a document that takes part in document sharing (a 9602 type or
  class, or an IHE MHD profile) is held to the metadata rules (`metadata_rules`), its
  attachments to their bytes (`content`), its `replaces` relations to documents that can
  be superseded (`replacing`) — which are then superseded — and its Binaries are bound to
  its patient and labels.
* `SubmissionSetRule` (List with code `submissionset`): MHD's required elements.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import FhirError, Issue
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.document_sharing import content, replacing
from samhandling.services.document_sharing.concept_maps import translate_type
from samhandling.services.document_sharing.metadata import (
    VOLVEN_9602,
    codings,
    is_registry_document,
    is_submission_set,
)
from samhandling.services.document_sharing.metadata_rules import metadata_problems

MHD_PROFILES = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/"
#: writes made by the service itself, which change only status, labels or content binding
OWN_INTENTS = frozenset({replacing.SUPERSEDE, "hide-from-clinicians", "show-to-clinicians"})


class DocumentEntryRule:
    """Write rule: a shared document's metadata, content and replacements."""

    resource_types = frozenset({"DocumentReference"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return (
            context.resource_type == "DocumentReference"
            and context.new is not None
            and context.intent not in OWN_INTENTS
            and is_registry_document(context.new)
        )

    def check(self, context: WriteContext) -> None:
        assert context.new is not None
        writer = context.writer
        document = translate_type(writer.connection, context.new)
        if not _takes_part(document):
            return
        creating = context.method == "create"
        problems = metadata_problems(writer, document, creating)
        if creating or _content_changed(context.before, document):
            problems += content.content_problems(writer, document)
        if creating:
            problems += replacing.replacement_problems(writer, document)
        _refuse(problems)
        context.new = document
        if creating:
            replacing.supersede(writer, document)
        content.bind_content(writer, document)


class SubmissionSetRule:
    """Write rule: a SubmissionSet names its patient, source, date and entries."""

    resource_types = frozenset({"List"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return context.new is not None and is_submission_set(context.new)

    def check(self, context: WriteContext) -> None:
        assert context.new is not None
        problems = [
            Issue("error", "required", f"{path} is required", (path,))
            for path, present in _submission_set_elements(context.new)
            if not present
        ]
        _refuse(problems)


def _submission_set_elements(resource: dict[str, Any]) -> list[tuple[str, bool]]:
    extensions = {e.get("url", "").rsplit("/", 1)[-1] for e in resource.get("extension") or []}
    return [
        ("List.identifier", bool(resource.get("identifier"))),
        ("List.subject", bool((resource.get("subject") or {}).get("reference"))),
        ("List.date", bool(resource.get("date"))),
        ("List.extension:sourceId", "ihe-sourceId" in extensions),
        ("List.entry", bool(resource.get("entry"))),
    ]


def _takes_part(document: dict[str, Any]) -> bool:
    """A 9602 type or class, or a claimed IHE MHD profile."""
    concepts = [document.get("type"), *(document.get("category") or [])]
    if any(system == VOLVEN_9602 for c in concepts for system, _ in codings(c)):
        return True
    profiles = (document.get("meta") or {}).get("profile") or []
    return any(isinstance(p, str) and p.startswith(MHD_PROFILES) for p in profiles)


def _content_changed(before: dict[str, Any] | None, document: dict[str, Any]) -> bool:
    return before is None or before.get("content") != document.get("content")


def _refuse(problems: list[Issue]) -> None:
    if problems:
        raise FhirError(422, problems)
