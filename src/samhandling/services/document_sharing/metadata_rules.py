"""Checking a DocumentReference's metadata against what the registry requires (`metadata`).

Every problem is one issue naming the element (FHIRPath), and any problem refuses the write
with 422: in a Provide Document Bundle the whole submission is then rolled back.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.identifiers.identifier_systems import ORGANISATION_NUMBER_SYSTEM
from samhandling.identifiers.register_numbers import is_valid_organisation_number
from samhandling.services.document_sharing.metadata import (
    CODED_ELEMENTS,
    DOCUMENT_STATUSES,
    FIXED_CODES,
    REQUIRED_ELEMENTS,
    CodedElement,
    codings,
)
from samhandling.store.version_writer import VersionWriter
from samhandling.terminology.codes import validate_code

#: organisation numbers under the wrong OID some older material uses (NORWAY.md)
_ORGANISATION_SYSTEMS = (ORGANISATION_NUMBER_SYSTEM, "urn:oid:2.16.578.1.12.4.1.2.101")


def metadata_problems(
    writer: VersionWriter, document: dict[str, Any], creating: bool
) -> list[Issue]:
    """Every way `document` falls short of the registry's metadata rules."""
    problems = [_missing(path) for path, get in REQUIRED_ELEMENTS if not get(document)]
    status = document.get("status")
    if creating and status != "current":
        problems.append(_invalid("DocumentReference.status", "must be 'current' when provided"))
    elif status not in DOCUMENT_STATUSES and status != "entered-in-error":
        problems.append(_invalid("DocumentReference.status", f"{status!r} is not allowed"))
    for element in CODED_ELEMENTS:
        problems += _coded(element, document)
    problems += _subject(writer, document)
    problems += _authors(writer, document)
    for index, content in enumerate(document.get("content") or []):
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if isinstance(attachment, dict) and not attachment.get("contentType"):
            path = f"DocumentReference.content[{index}].attachment.contentType"
            problems.append(_missing(path))
        if isinstance(attachment, dict) and not (attachment.get("url") or attachment.get("data")):
            path = f"DocumentReference.content[{index}].attachment.url"
            problems.append(_missing(path))
    return problems


def _coded(element: CodedElement, document: dict[str, Any]) -> list[Issue]:
    concepts = element.concepts(document)
    ours = [
        (system, code)
        for concept in concepts
        for system, code in codings(concept)
        if system in element.systems
    ]
    if not ours:
        if element.required:
            systems = " or ".join(element.systems)
            return [_missing(element.path, f"needs a coding from {systems}")]
        return []
    if not element.checked:
        return []
    problems = []
    for system, code in ours:
        if system in FIXED_CODES:
            if code not in FIXED_CODES[system]:
                problems.append(_invalid(element.path, f"{system} has no code {code!r}"))
            continue
        check = validate_code(system, code)
        if not check.valid:
            problems.append(_invalid(element.path, check.message or f"{code!r} is not valid"))
    return problems


def _subject(writer: VersionWriter, document: dict[str, Any]) -> list[Issue]:
    reference = (document.get("subject") or {}).get("reference")
    if not isinstance(reference, str) or not reference:
        return []  # reported as missing
    rtype, _, rid = reference.partition("/")
    current = writer.current(rtype, rid) if rtype == "Patient" and rid else None
    if current is None or current.deleted:
        message = f"{reference!r} is not a Patient known here"
        return [_invalid("DocumentReference.subject", message)]
    return []


def _authors(writer: VersionWriter, document: dict[str, Any]) -> list[Issue]:
    """The author institution: at least one Organization, each with a valid organisation
    number (contained, or an Organization stored here)."""
    problems, institutions = [], 0
    contained = {
        f"#{item.get('id')}": item
        for item in document.get("contained") or []
        if isinstance(item, dict)
    }
    for index, author in enumerate(document.get("author") or []):
        organisation = _organisation(writer, contained, author)
        if organisation is None:
            continue
        institutions += 1
        number = _organisation_number(organisation)
        if number is None or not is_valid_organisation_number(number):
            message = "the author institution needs a valid organisation number"
            problems.append(_invalid(f"DocumentReference.author[{index}]", message))
    if document.get("author") and not institutions:
        message = "needs an author institution (an Organization with an organisation number)"
        problems.append(_missing("DocumentReference.author", message))
    return problems


def _organisation(
    writer: VersionWriter, contained: dict[str, Any], author: Any
) -> dict[str, Any] | None:
    reference = author.get("reference") if isinstance(author, dict) else None
    if not isinstance(reference, str):
        return None
    if reference in contained:
        found = contained[reference]
        return found if found.get("resourceType") == "Organization" else None
    rtype, _, rid = reference.partition("/")
    if rtype != "Organization" or not rid:
        return None
    current = writer.current(rtype, rid)
    return None if current is None or current.deleted else current.resource()


def _organisation_number(organisation: dict[str, Any]) -> str | None:
    for identifier in organisation.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") in _ORGANISATION_SYSTEMS:
            value = identifier.get("value")
            return value if isinstance(value, str) else None
    return None


def _missing(path: str, detail: str = "is required") -> Issue:
    return Issue("error", "required", f"{path} {detail}", (path,))


def _invalid(path: str, detail: str) -> Issue:
    code = "code-invalid" if "code" in detail else "value"
    return Issue("error", code, f"{path}: {detail}", (path,))
