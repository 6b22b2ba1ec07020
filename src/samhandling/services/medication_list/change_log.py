"""`GET Patient/{id}/$medication-list-changes`: the list's change log in plain words.

What a citizen (or a proxy) asks: who changed my medicines, what, when and why. Each saved
version of the list that changed something is one change: when, who (the prescriber's
name and organisation, or the system), and per entry that was added, changed or withdrawn
the medicine, what happened and the prescriber's reason, with a sentence in Norwegian
(bokmål, the default) or English (`language=en`). Newest first. Everything is read through
the caller's guard: the list's history (`interactions.read.history`) and each entry's
version (`read.vread`), so the same rules apply as to reading the list.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.outcome import FhirError, error
from samhandling.identifiers.identifier_systems import ORGANISATION_NUMBER_SYSTEM
from samhandling.interactions import read
from samhandling.interactions.operations import OperationContext, OperationResult
from samhandling.services.medication_list.kinds import entry_name
from samhandling.services.medication_list.listing import (
    CHANGED,
    entries_of,
    extension,
    list_id,
    part,
)
from samhandling.services.medication_list.patients import patient_of
from samhandling.store.identity_queries import ids_by_identifier

MAX_VERSIONS = 200
WORDS = {
    "nb": {
        "added": "la til",
        "changed": "endret",
        "withdrawn": "seponerte",
        "someone": "en behandler",
        "at": "ved",
        "because": "fordi",
    },
    "en": {
        "added": "added",
        "changed": "changed",
        "withdrawn": "stopped",
        "someone": "a prescriber",
        "at": "at",
        "because": "because",
    },
}


def medication_list_changes(context: OperationContext) -> OperationResult:
    """The changes of the patient's medication list, newest first."""
    patient_id = patient_of(context)
    language = context.text("language") or "nb"
    if language not in WORDS:
        raise FhirError(400, error("not-supported", "language must be nb or en", "language"))
    items = [("_count", str(MAX_VERSIONS))]
    try:
        history = read.history(
            context.connection, context.base_url, items, "List", list_id(patient_id), context.guard
        )
    except FhirError as exc:
        if exc.status != 404:
            raise
        history = {"entry": []}  # no list yet: no changes
    versions = [e["resource"] for e in history.get("entry", []) if e.get("resource")]
    changes: list[dict[str, Any]] = []
    before: dict[str, int] = {}
    for version in reversed(versions):  # oldest first, to see what each save changed
        now = {uuid: ref.version for uuid, ref in entries_of(version).items()}
        news = {uuid for uuid, number in now.items() if before.get(uuid) != number}
        change = _change(context, version, news, WORDS[language])
        if change is not None:
            changes.insert(0, change)  # newest first
        before = now
    return OperationResult({"resourceType": "Parameters", "parameter": changes})


def _change(
    context: OperationContext, version: dict[str, Any], news: set[str], words: dict[str, str]
) -> dict[str, Any] | None:
    """One save that changed entries (an entry is news when its statement version is new)."""
    who = extension(version, CHANGED)
    name = part(who, "practitionerName") or part(who, "system") or words["someone"]
    organisation = _organisation_name(context, part(who, "organization"))
    actor = f"{name} {words['at']} {organisation}" if organisation else str(name)
    entries = [
        _entry_part(context, ref.uuid, ref.version, ref.record, actor, words)
        for ref in entries_of(version).values()
        if ref.uuid in news and ref.record.get("change") in ("added", "changed", "withdrawn")
    ]
    if not entries:
        return None
    when = part(who, "time") or (version.get("meta") or {}).get("lastUpdated")
    head = [{"name": "time", "valueDateTime": when}, {"name": "who", "valueString": actor}]
    return {"name": "change", "part": head + entries}


def _organisation_name(context: OperationContext, identifier: Any) -> str | None:
    """The name of the organisation an organisation number names, from the register (its
    number when the register does not have it or the caller may not read it)."""
    if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
        return None
    number = identifier["value"]
    ids = ids_by_identifier(context.connection, "Organization", ORGANISATION_NUMBER_SYSTEM, number)
    for organisation_id in ids[:1]:
        try:
            found = read.read(context.connection, "Organization", organisation_id, context.guard)
        except FhirError:
            break
        name = found.resource().get("name")
        if isinstance(name, str) and name:
            return name
    return number


def _entry_part(
    context: OperationContext,
    uuid: str,
    version: int,
    record: dict[str, str],
    actor: str,
    words: dict[str, str],
) -> dict[str, Any]:
    statement = read.vread(
        context.connection, "MedicationStatement", uuid, str(version), context.guard
    ).resource()
    medicine = entry_name(statement).rsplit(" (", 1)[0]
    change = record["change"]
    sentence = f"{actor} {words[change]} {medicine}"
    if record.get("reason"):
        sentence += f" {words['because']}: {record['reason']}"
    parts = [
        {"name": "medicine", "valueString": medicine},
        {"name": "change", "valueCode": change},
        {"name": "text", "valueString": sentence},
        {"name": "entry", "valueReference": {"reference": f"MedicationStatement/{uuid}"}},
    ]
    if record.get("reason"):
        parts.insert(2, {"name": "reason", "valueString": record["reason"]})
    return {"name": "entry", "part": parts}
