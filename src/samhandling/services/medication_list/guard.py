"""The write guard of the medication list, as pure functions (models/medication_list_guard.pml).

A prescriber's new list is accepted only when

1. it is based on the current version of the list (else 412, naming each entry that was
   added, changed or removed since the version the prescriber read), and
2. it accounts for every entry of the current version: each is kept, changed, or
   withdrawn with a reason (else 409, naming each entry left out).

The handler (`update`) runs these checks after locking the List's row, so two prescribers
saving at once are judged one after the other: the second is no longer based on the
current version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from samhandling.fhir.outcome import Issue, error
from samhandling.services.medication_list.kinds import is_withdrawn
from samhandling.services.medication_list.listing import CHANGE_REASON, LAST_CHANGED, EntryRef


@dataclass
class Refusal:
    """Why a new list is refused: the HTTP status and one issue per entry."""

    status: int
    issues: list[Issue] = field(default_factory=list)


def stale_refusal(
    based_on: int | None,
    current_version: int | None,
    based: dict[str, EntryRef],
    current: dict[str, EntryRef],
    names: dict[str, str],
) -> Refusal | None:
    """412 when the new list is not based on the current version, naming what changed."""
    if based_on == (current_version or 0):
        return None
    if current_version is None:
        message = (
            "The patient has no medication list yet: "
            f"base the first one on version 0, not {based_on}"
        )
        return Refusal(412, [error("conflict", message, "basedOn")])
    if based_on is None:
        message = (
            f"Name the version of the list you read (basedOn): the current one is {current_version}"
        )
        return Refusal(412, [error("conflict", message, "basedOn")])
    refusal = Refusal(412)
    for uuid, what in changes_between(based, current):
        name = names.get(uuid, uuid)
        message = (
            f"Entry {name} was {what} since version {based_on} "
            f"(the current version is {current_version})"
        )
        refusal.issues.append(error("conflict", message, f"entry[{uuid}]"))
    if not refusal.issues:
        message = f"Version {based_on} is not the current version ({current_version}) of the list"
        refusal.issues.append(error("conflict", message, "basedOn"))
    return refusal


def changes_between(
    based: dict[str, EntryRef], current: dict[str, EntryRef]
) -> list[tuple[str, str]]:
    """Each entry that differs between two list versions and how (added, changed, removed)."""
    found = []
    for uuid in sorted(set(based) | set(current)):
        if uuid not in based:
            found.append((uuid, "added"))
        elif uuid not in current:
            found.append((uuid, "removed"))
        elif based[uuid].version != current[uuid].version:
            found.append((uuid, "changed"))
    return found


def unaccounted_refusal(
    current: dict[str, EntryRef], submitted: Iterable[str], names: dict[str, str]
) -> Refusal | None:
    """409 when an entry of the current version is left out of the new list."""
    missing = sorted(set(current) - set(submitted))
    if not missing:
        return None
    issues = [
        error(
            "conflict",
            f"Entry {names.get(uuid, uuid)} of the current list is not accounted for: keep it, "
            "change it, or withdraw it (status stopped or entered-in-error) with a reason",
            f"entry[{uuid}]",
        )
        for uuid in missing
    ]
    return Refusal(409, issues)


def content(statement: dict[str, Any] | None) -> dict[str, Any]:
    """What makes a real change: the statement without its server-kept parts."""
    if statement is None:
        return {}
    kept = {k: v for k, v in statement.items() if k not in ("meta", "id", "text")}
    extensions = [
        e
        for e in statement.get("extension") or []
        if e.get("url") not in (LAST_CHANGED, CHANGE_REASON)
    ]
    kept.pop("extension", None)
    if extensions:
        kept["extension"] = extensions
    return kept


def change_of(before: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """added, unchanged, changed or withdrawn."""
    if before is None:
        return "added"
    if content(before) == content(new):
        return "unchanged"
    if is_withdrawn(new) and not is_withdrawn(before):
        return "withdrawn"
    return "changed"


def reason_of(statement: dict[str, Any]) -> str | None:
    """The prescriber's reason for this entry's change (extension `pll-change-reason`)."""
    for extension in statement.get("extension") or []:
        if extension.get("url") == CHANGE_REASON:
            value = extension.get("valueString")
            return value.strip() or None if isinstance(value, str) else None
    return None
