"""Replacing a document (IHE MHD ITI-65, XDS "RPLC"): a new DocumentReference whose
`relatesTo` has code `replaces` and targets `DocumentReference/<old>` supersedes the old one
in the same transaction. The old one must be a current document of the same patient; it
becomes `superseded` (a new version written with the intent "supersede") and stays
readable and retrievable, its content untouched.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import Issue
from samhandling.interactions import crud
from samhandling.store.version_writer import VersionWriter

SUPERSEDE = "supersede"


def replaced_ids(document: dict[str, Any]) -> list[tuple[int, str | None]]:
    """(index in relatesTo, the id of the DocumentReference it replaces or None)."""
    found = []
    for index, relation in enumerate(document.get("relatesTo") or []):
        if not isinstance(relation, dict) or relation.get("code") != "replaces":
            continue
        reference = (relation.get("target") or {}).get("reference")
        rtype, _, rid = reference.partition("/") if isinstance(reference, str) else ("", "", "")
        found.append((index, rid if rtype == "DocumentReference" and rid else None))
    return found


def replacement_problems(writer: VersionWriter, document: dict[str, Any]) -> list[Issue]:
    """Why the documents `document` replaces cannot be superseded by it (none: they can)."""
    problems = []
    for index, rid in replaced_ids(document):
        path = f"DocumentReference.relatesTo[{index}].target"
        old = writer.current("DocumentReference", rid) if rid else None
        if old is None or old.deleted:
            message = f"{path} must name a DocumentReference of this registry"
            problems.append(Issue("error", "not-found", message, (path,)))
            continue
        content = old.resource()
        if content.get("status") != "current":
            message = f"{path}: DocumentReference/{rid} is {content.get('status')}, not current"
            problems.append(Issue("error", "business-rule", message, (path,)))
        elif content.get("subject") != document.get("subject"):
            message = f"{path}: DocumentReference/{rid} is another patient's document"
            problems.append(Issue("error", "business-rule", message, (path,)))
    return problems


def supersede(writer: VersionWriter, document: dict[str, Any]) -> None:
    """Mark every document `document` replaces as superseded (checked before)."""
    for _, rid in replaced_ids(document):
        assert rid is not None
        old = writer.current("DocumentReference", rid)
        assert old is not None
        changed = {**old.resource(), "status": "superseded"}
        crud.update(
            writer, "DocumentReference", rid, changed, if_match=old.version_id, intent=SUPERSEDE
        )
