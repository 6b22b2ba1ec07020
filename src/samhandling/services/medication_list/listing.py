"""The medication list as stored: one `List` per patient and its entry records.

The List has the deterministic id `list_id(patient)` so that exactly one exists per
patient and every writer locks the same row. Each `List.entry` references one version of
a `MedicationStatement` (`MedicationStatement/<uuid>/_history/<n>`) and carries the
entry's change record (extension `pll-entry-change`: what happened in the version that
last changed it, why, when, and when it was withdrawn). Withdrawn entries stay on the
current list for `GRACE` after their withdrawal, then leave it (`on_list`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from samhandling.auth.principal import Principal
from samhandling.identifiers.identifier_systems import HPR_SYSTEM, ORGANISATION_NUMBER_SYSTEM
from samhandling.profiles import PROFILE_BASE

LOINC = "http://loinc.org"
MEDICATION_LIST_CODE = "10160-0"  # History of medication use (the IPS medication section)
PROFILE = PROFILE_BASE + "pll-medication-list"
ENTRY_PROFILE = PROFILE_BASE + "pll-medication-statement"
CHANGED = PROFILE_BASE + "pll-changed"  # on the List: who saved this version, when
ENTRY_CHANGE = PROFILE_BASE + "pll-entry-change"  # on List.entry: the entry's change record
LAST_CHANGED = PROFILE_BASE + "pll-last-changed"  # on the statement: its last real change
CHANGE_REASON = PROFILE_BASE + "pll-change-reason"  # on a submitted statement: why
PAUSED = PROFILE_BASE + "pll-paused"
RECONCILED = PROFILE_BASE + "pll-reconciled"
GRACE = timedelta(days=90)
TITLE = "Pasientens legemiddelliste"


def list_id(patient_id: str) -> str:
    """The id of the patient's one medication list (a FHIR id of at most 64 characters)."""
    if len(patient_id) <= 60:
        return f"pll-{patient_id}"
    return "pll-" + hashlib.sha256(patient_id.encode()).hexdigest()[:40]


def is_medication_list(resource: dict[str, Any] | None) -> bool:
    """A List coded as the medication list."""
    if not resource or resource.get("resourceType") != "List":
        return False
    codings = (resource.get("code") or {}).get("coding") or []
    return any(
        isinstance(c, dict) and c.get("system") == LOINC and c.get("code") == MEDICATION_LIST_CODE
        for c in codings
    )


def is_list_entry(resource: dict[str, Any] | None) -> bool:
    """A MedicationStatement that claims the medication-list entry profile."""
    if not resource or resource.get("resourceType") != "MedicationStatement":
        return False
    return ENTRY_PROFILE in ((resource.get("meta") or {}).get("profile") or [])


@dataclass(frozen=True)
class EntryRef:
    """One entry of a List version: the statement's UUID and version, and its record."""

    uuid: str
    version: int
    record: dict[str, str]

    @property
    def reference(self) -> str:
        return f"MedicationStatement/{self.uuid}/_history/{self.version}"


def entries_of(medication_list: dict[str, Any] | None) -> dict[str, EntryRef]:
    """The entries of a List version by UUID."""
    found: dict[str, EntryRef] = {}
    for entry in (medication_list or {}).get("entry") or []:
        reference = str((entry.get("item") or {}).get("reference") or "")
        parts = reference.split("/")
        if len(parts) != 4 or parts[0] != "MedicationStatement" or not parts[3].isdigit():
            continue
        found[parts[1]] = EntryRef(parts[1], int(parts[3]), record_of(entry))
    return found


def record_of(entry: dict[str, Any]) -> dict[str, str]:
    """The parts of a `List.entry`'s change record as a dict (name -> value)."""
    found = extension(entry, ENTRY_CHANGE)
    parts = (found or {}).get("extension") or []
    return {
        str(p.get("url")): value
        for p in parts
        if isinstance(value := part(found, p.get("url")), str)
    }


def list_entry(ref: EntryRef) -> dict[str, Any]:
    """The `List.entry` of an entry reference with its change record."""
    value_key = {"change": "valueCode", "reason": "valueString"}
    parts = [
        {"url": name, value_key.get(name, "valueDateTime"): value}
        for name, value in ref.record.items()
    ]
    return {
        "extension": [{"url": ENTRY_CHANGE, "extension": parts}],
        "item": {"reference": ref.reference},
    }


def on_list(ref: EntryRef, now: datetime) -> bool:
    """Whether the entry is still on the current list at `now`: withdrawn entries stay
    `GRACE` after their withdrawal, then leave it (their history remains)."""
    withdrawn = ref.record.get("withdrawn")
    if not withdrawn:
        return True
    try:
        since = datetime.fromisoformat(withdrawn)
    except ValueError:  # not a time the service wrote: the entry stays (nothing is dropped)
        return True
    if since.tzinfo is None:
        since = since.replace(tzinfo=now.tzinfo)
    return now < since + GRACE


def stamp(url: str, principal: Principal | None, at: str, **more: str) -> dict[str, Any]:
    """An extension saying who acted (HPR, organisation, system) and when."""
    parts: list[dict[str, Any]] = [{"url": "time", "valueDateTime": at}]
    if principal is not None:
        org = principal.organisation.legal_entity
        client = principal.client.client_name or principal.client.client_id
        if principal.hpr_number:
            parts.append(
                {"url": "practitioner", "valueIdentifier": _id(HPR_SYSTEM, principal.hpr_number)}
            )
        if principal.name:
            parts.append({"url": "practitionerName", "valueString": principal.name})
        if org:
            parts.append(
                {"url": "organization", "valueIdentifier": _id(ORGANISATION_NUMBER_SYSTEM, org)}
            )
        if client:
            parts.append({"url": "system", "valueString": client})
    parts += [{"url": name, "valueString": value} for name, value in more.items()]
    return {"url": url, "extension": parts}


def _id(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


def extension(resource: dict[str, Any] | None, url: str) -> dict[str, Any] | None:
    """The resource's first extension with this URL."""
    found = [e for e in (resource or {}).get("extension") or [] if e.get("url") == url]
    return found[0] if found else None


def part(ext: dict[str, Any] | None, name: str) -> Any:
    """The value of one part of a complex extension."""
    for item in (ext or {}).get("extension") or []:
        if item.get("url") == name:
            return next((v for k, v in item.items() if k.startswith("value")), None)
    return None


def with_extension(resource: dict[str, Any], url: str, new: dict[str, Any] | None) -> None:
    """Replace the resource's extensions with this URL by `new` (or remove them)."""
    kept = [e for e in resource.get("extension") or [] if e.get("url") != url]
    resource["extension"] = kept + ([new] if new else [])
    if not resource["extension"]:
        del resource["extension"]


def empty_list(patient_id: str) -> dict[str, Any]:
    """A patient's medication list before its first version."""
    return {
        "resourceType": "List",
        "id": list_id(patient_id),
        "meta": {"profile": [PROFILE]},
        "status": "current",
        "mode": "working",
        "title": TITLE,
        "code": {"coding": [{"system": LOINC, "code": MEDICATION_LIST_CODE}], "text": TITLE},
        "subject": {"reference": f"Patient/{patient_id}"},
    }
