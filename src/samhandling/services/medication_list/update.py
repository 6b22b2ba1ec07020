"""`POST Patient/{id}/$medication-list-update`: a prescriber saves the whole new list.

Input: the List version the prescriber read, named by an `If-Match` header (`W/"5"`,
the ETag of the List), a `basedOn` parameter (valueInteger; 0 for the first list) or a
`list` resource whose `meta.versionId` says it (where several name it they must agree);
and, in the Parameters body, one
`entry` (a MedicationStatement) per entry of the new list. Each entry carries its stable
UUID (`identifier` urn:ietf:rfc:3986 `urn:uuid:…`, which is also its id); a changed or
withdrawn entry carries the reason (extension `pll-change-reason`).

Under the List's row lock (`VersionWriter.current`: FOR UPDATE on PostgreSQL, the write
lock on SQLite) the guard (`guard`) judges the new list; an accepted one writes each
changed entry and the new List version, stamped with who saved it, when, and each entry's
change record. Only entries that really changed get a new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.fhir.instants import format_http_date
from samhandling.fhir.outcome import FhirError, Issue, error
from samhandling.interactions import crud
from samhandling.interactions.conditions import parse_if_match
from samhandling.interactions.operations import OperationContext, OperationResult
from samhandling.interactions.resource_input import checked_resource
from samhandling.services.medication_list import answers, clock, guard
from samhandling.services.medication_list.kinds import (
    entry_issues,
    entry_name,
    entry_uuid,
    is_withdrawn,
)
from samhandling.services.medication_list.listing import (
    CHANGE_REASON,
    CHANGED,
    ENTRY_PROFILE,
    LAST_CHANGED,
    PROFILE,
    EntryRef,
    empty_list,
    entries_of,
    list_entry,
    list_id,
    on_list,
    stamp,
    with_extension,
)
from samhandling.services.medication_list.patients import locked_list, patient_of, resources
from samhandling.store.reader import read_version
from samhandling.store.records import StoredVersion

INTENT = "medication-list-update"


@dataclass
class Planned:
    """One submitted entry, what it is to the current list, and its stored version."""

    uuid: str
    statement: dict[str, Any]
    change: str
    before: StoredVersion | None


def update(context: OperationContext) -> OperationResult:
    """Judge the new list under the List's lock; write it when the guard accepts it."""
    patient_id = patient_of(context)
    lid = list_id(patient_id)
    stored = locked_list(context, lid)  # the lock every writer of this list takes
    current_list = stored.resource() if stored and not stored.deleted else None
    if current_list is not None:  # a paused list: the policy's pause rule may refuse
        context.guard.check_write("update", current_list, current_list)
    statements = resources(context, "entry", "MedicationStatement")
    _validate(statements, patient_id)
    now = clock.now()
    on_current = {u: r for u, r in entries_of(current_list).items() if on_list(r, now)}
    submitted = [entry_uuid(s) or "" for s in statements]
    # Every entry's current version, locked, in one statement: the names and the plan use it.
    locked = context.writer.current_many("MedicationStatement", [*on_current, *submitted])
    names = _stored_names(context, on_current, locked)
    names.update({entry_uuid(s) or "": entry_name(s) for s in statements})
    version = stored.version_id if stored is not None and current_list is not None else None
    refusal = _stale(context, _based_on(context), version, lid, on_current, names)
    refusal = refusal or guard.unaccounted_refusal(on_current, submitted, names)
    if refusal is not None:
        return answers.refused(context, refusal, stored if current_list else None)
    plans = _plan(statements, on_current, locked)
    at = now.isoformat()
    refs = [
        _write(context, plan, on_current.get(plan.uuid), at)
        for plan in plans
        if not _departed(plan, on_current)
    ]
    new_list = current_list or empty_list(patient_id)
    new_list = {**new_list, "id": lid, "date": at, "entry": [list_entry(r) for r in refs]}
    new_list["meta"] = {"profile": [PROFILE]}
    with_extension(new_list, CHANGED, stamp(CHANGED, context.guard.principal, at))
    written = crud.update(
        context.writer, "List", lid, new_list, if_match=version, intent=INTENT
    ).version
    headers = {"ETag": written.etag, "Last-Modified": format_http_date(written.last_updated_us)}
    return OperationResult(written.resource(), 201 if version is None else 200, headers)


def _validate(statements: list[dict[str, Any]], patient_id: str) -> None:
    """422 with one issue per problem of any entry (and per entry given twice)."""
    issues: list[Issue] = []
    seen: set[str] = set()
    _check_structure(statements)
    for number, statement in enumerate(statements):
        issues += entry_issues(statement, patient_id, f"entry[{number}]")
        uuid = entry_uuid(statement)
        if uuid is not None and uuid in seen:
            message = f"{entry_name(statement)} is given twice"
            issues.append(error("business-rule", message, f"entry[{number}].identifier"))
        seen.add(uuid or "")
    if issues:
        raise FhirError(422, issues)


def _check_structure(statements: list[dict[str, Any]]) -> None:
    """Each entry is a valid R4 MedicationStatement (else the validator's status, all issues)."""
    refusals = []
    for statement in statements:
        try:
            checked_resource(statement, "MedicationStatement")
        except FhirError as refusal:
            refusals.append(refusal)
    if refusals:
        status = min(r.status for r in refusals)  # 400 (structure) before 422 (profile)
        raise FhirError(status, [issue for r in refusals for issue in r.issues])


def _based_on(context: OperationContext) -> int | None:
    """The version the prescriber read: `If-Match`, `basedOn` or the `list`'s versionId.

    Where more than one names it they must agree (400 otherwise): a save whose header and
    body disagree is a confused client, not a version to guess between.
    """
    named = {
        "If-Match": parse_if_match(context.headers.get("if-match")),
        "basedOn": context.integer("basedOn", 0, 2**31 - 1),
        "list.meta.versionId": _list_version(context),
    }
    given = {where: number for where, number in named.items() if number is not None}
    if len(set(given.values())) > 1:
        said = ", ".join(f"{where} {number}" for where, number in given.items())
        raise FhirError(400, error("invalid", f"The versions named disagree: {said}", "basedOn"))
    return next(iter(given.values()), None)


def _list_version(context: OperationContext) -> int | None:
    listed = context.resource("list", "List")
    text = ((listed or {}).get("meta") or {}).get("versionId")
    return int(text) if isinstance(text, str) and text.isascii() and text.isdigit() else None


def _stale(
    context: OperationContext,
    based_on: int | None,
    version: int | None,
    lid: str,
    current: dict[str, EntryRef],
    names: dict[str, str],
) -> guard.Refusal | None:
    based: dict[str, EntryRef] = {}
    if based_on and version and based_on != version:
        old = read_version(context.connection, "List", lid, based_on)
        based = entries_of(old.resource() if old and not old.deleted else None)
        names.update({**_stored_names(context, based), **names})
    return guard.stale_refusal(based_on, version, based, current, names)


def _stored_names(
    context: OperationContext,
    refs: dict[str, EntryRef],
    current: dict[str, StoredVersion] | None = None,
) -> dict[str, str]:
    """How issues name stored entries (their medicine and UUID); from the `current`
    versions where they are the ones referenced (else each version is read)."""
    names = {}
    for uuid, ref in refs.items():
        stored = (current or {}).get(uuid)
        if stored is None or stored.version_id != ref.version:
            stored = read_version(context.connection, "MedicationStatement", uuid, ref.version)
        if stored is not None and not stored.deleted:
            resource = stored.resource()
            if context.guard.visible("vread", resource):  # else named by its UUID only
                names[uuid] = entry_name(resource)
    return names


def _plan(
    statements: list[dict[str, Any]],
    current: dict[str, EntryRef],
    locked: dict[str, StoredVersion],
) -> list[Planned]:
    """Each entry's change (`locked`: each entry's current version); 422 naming every
    changed or withdrawn entry without a reason."""
    plans, issues = [], []
    for statement in statements:
        uuid = entry_uuid(statement)
        assert uuid is not None
        before = locked.get(uuid)
        content = before.resource() if before and not before.deleted else None
        change = guard.change_of(content if uuid in current else None, statement)
        if content is not None and uuid not in current and change == "added":
            change = (
                "changed" if guard.content(content) != guard.content(statement) else "unchanged"
            )
        if change in ("changed", "withdrawn") and guard.reason_of(statement) is None:
            message = (
                f"Entry {entry_name(statement)} is {change}: give the reason (pll-change-reason)"
            )
            issues.append(error("required", message, f"entry[{uuid}].extension"))
        plans.append(Planned(uuid, statement, change, before))
    if issues:
        raise FhirError(422, issues)
    return plans


def _departed(plan: Planned, current: dict[str, EntryRef]) -> bool:
    """A withdrawn entry that has left the list, given again unchanged: it stays off it."""
    return plan.uuid not in current and plan.change == "unchanged" and is_withdrawn(plan.statement)


def _write(context: OperationContext, plan: Planned, ref: EntryRef | None, at: str) -> EntryRef:
    """Write the entry when it really changed; its reference and change record."""
    if plan.change == "unchanged" and plan.before is not None:
        record = ref.record if ref else {"change": "unchanged", "changed": at}
        return EntryRef(plan.uuid, plan.before.version_id, record)
    statement = {**plan.statement, "id": plan.uuid}
    statement["meta"] = {"profile": [ENTRY_PROFILE]}
    with_extension(statement, CHANGE_REASON, None)
    with_extension(statement, LAST_CHANGED, stamp(LAST_CHANGED, context.guard.principal, at))
    if_match = plan.before.version_id if plan.before and not plan.before.deleted else None
    written = crud.update(
        context.writer,
        "MedicationStatement",
        plan.uuid,
        statement,
        if_match=if_match,
        intent=INTENT,
    ).version
    record = {"change": plan.change, "changed": at}
    reason = guard.reason_of(plan.statement)
    if reason:
        record["reason"] = reason
    if is_withdrawn(statement):  # the grace period counts from the first withdrawal
        record["withdrawn"] = (ref.record.get("withdrawn") if ref else None) or at
    return EntryRef(plan.uuid, written.version_id, record)
