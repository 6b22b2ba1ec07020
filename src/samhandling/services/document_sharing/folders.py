"""IHE MHD Folders: a `List` with code `folder` groups documents of one patient.

A Folder comes in an ITI-65 Provide Document Bundle as a new `List` (POST), or an existing
one is sent back (PUT `List/{id}`) with more entries to add documents to it. The rule holds
it to MHD's Comprehensive Folder: a uniqueId `identifier`, status `current`, mode
`working`, a `title`, a `designationType` (the folder's code list), the patient as
`subject`, every entry a DocumentReference — of that patient, when it is stored here
already. A Folder's documents are only ever added to: an update that drops an entry, or
moves the Folder to another patient, is refused (XDS removes folder membership by metadata
update, which MHD does not offer). ITI-66 finds Folders with `List?code=…|folder` and
`designationType` (a SearchParameter the service ships).
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import FhirError, Issue
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.document_sharing.metadata import MHD_LIST_TYPES, codings

FOLDER = "folder"
DESIGNATION_TYPE = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType"


def is_folder(resource: dict[str, Any] | None) -> bool:
    """Whether a List is an MHD Folder (`code` = MHDlistTypes#folder)."""
    if not resource or resource.get("resourceType") != "List":
        return False
    return (MHD_LIST_TYPES, FOLDER) in set(codings(resource.get("code")))


class FolderRule:
    """Write rule: a Folder's required elements, its entries, and entries only added."""

    resource_types = frozenset({"List"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return is_folder(context.new) or is_folder(context.before)

    def check(self, context: WriteContext) -> None:
        folder = context.new
        if folder is None:
            raise FhirError(405, [_issue("not-supported", "A Folder cannot be deleted", "List")])
        problems = _missing(folder) if is_folder(folder) else [_kept_a_folder()]
        problems += _entry_problems(context, folder)
        if context.before is not None:
            problems += _kept_entries(context.before, folder)
        if problems:
            raise FhirError(422, problems)


def _missing(folder: dict[str, Any]) -> list[Issue]:
    extensions = {e.get("url") for e in folder.get("extension") or [] if isinstance(e, dict)}
    required = [
        ("List.identifier", bool(folder.get("identifier"))),
        ("List.status", folder.get("status") == "current"),
        ("List.mode", folder.get("mode") == "working"),
        ("List.title", bool(folder.get("title"))),
        ("List.extension:designationType", DESIGNATION_TYPE in extensions),
        ("List.subject", _patient(folder) is not None),
    ]
    return [
        _issue("required", f"{path} is required for a Folder (or has a wrong value)", path)
        for path, present in required
        if not present
    ]


def _entry_problems(context: WriteContext, folder: dict[str, Any]) -> list[Issue]:
    problems = []
    patient = _patient(folder)
    for index, entry in enumerate(folder.get("entry") or []):
        path = f"List.entry[{index}].item"
        reference = str(((entry or {}).get("item") or {}).get("reference", ""))
        kind, _, document_id = reference.partition("/")
        if kind != "DocumentReference" or not document_id:
            problems.append(_issue("invalid", "A Folder holds DocumentReferences only", path))
            continue
        stored = context.writer.current("DocumentReference", document_id)
        if stored is None or stored.deleted:
            continue  # written later in the same Provide Document Bundle
        subject = (stored.resource().get("subject") or {}).get("reference")
        if patient is not None and subject != f"Patient/{patient}":
            problems.append(_issue("business-rule", "The document is another patient's", path))
    return problems


def _kept_entries(before: dict[str, Any], folder: dict[str, Any]) -> list[Issue]:
    had, has = _items(before), _items(folder)
    problems = []
    if had - has:
        message = f"A Folder's documents can only be added to; missing: {sorted(had - has)}"
        problems.append(_issue("business-rule", message, "List.entry"))
    if _patient(before) != _patient(folder):
        problems.append(_issue("business-rule", "A Folder stays with its patient", "List.subject"))
    return problems


def _items(folder: dict[str, Any]) -> set[str]:
    return {
        str(((entry or {}).get("item") or {}).get("reference", ""))
        for entry in folder.get("entry") or []
    }


def _patient(folder: dict[str, Any]) -> str | None:
    kind, _, patient_id = str((folder.get("subject") or {}).get("reference", "")).partition("/")
    return patient_id if kind == "Patient" and patient_id else None


def _kept_a_folder() -> Issue:
    return _issue("business-rule", "A Folder stays a Folder (List.code)", "List.code")


def _issue(code: str, message: str, path: str) -> Issue:
    return Issue("error", code, message, (path,))
