"""Create, update, patch and delete (R4 §3.1.0.4–3.1.0.7), plain and conditional."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from samhandling.access_guard import WriteNote
from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError, Issue, error
from samhandling.interactions.conditions import check_version, find_matches
from samhandling.interactions.resource_ids import new_resource_id
from samhandling.interactions.resource_input import checked_resource, require_resource
from samhandling.interactions.write_rules import (
    WriteContext,
    apply_write_rules,
    governing_rules,
)
from samhandling.store.reader import read_live_before
from samhandling.store.records import StoredVersion
from samhandling.store.version_writer import VersionWriter


@dataclass(frozen=True)
class WriteResult:
    """The outcome of a write: the stored version, the HTTP status it answers with, and the
    warnings of the input (issues that did not stop the write, e.g. a display that is not
    the code's, or what a service's write rule added to `WriteContext.warnings`)."""

    version: StoredVersion
    status: int  # 200 updated / found, 201 created, 204 deleted
    warnings: tuple[Issue, ...] = ()


def new_id() -> str:
    """The id of a resource the server creates: time-ordered (`resource_ids`)."""
    return new_resource_id()


def create(
    writer: VersionWriter,
    body: Any,
    *,
    resource_type: str | None = None,
    if_none_exist: str | None = None,
    resource_id: str | None = None,
    intent: str | None = None,
    note: WriteNote | None = None,
    assigned: bool = False,
) -> WriteResult:
    """Create with a server-assigned id; with If-None-Exist, return the match instead.
    `intent` names the operation making the write, for the write rules (`WriteContext`);
    `note` what its audit record says the write was made for, and why. `assigned`: the
    server has just assigned `resource_id` (a Bundle's POST entry), it is no client's."""
    resource, warnings = checked_resource(body, resource_type)
    rtype = resource["resourceType"]
    if if_none_exist:
        matches = find_matches(
            writer.connection, rtype, if_none_exist, guard=writer.guard, interaction="create"
        )
        if len(matches) > 1:
            raise FhirError(
                412, error("duplicate", f"If-None-Exist matched several {rtype}: {if_none_exist}")
            )
        if matches:
            existing = writer.current(rtype, matches[0])
            assert existing is not None
            return WriteResult(existing, 200)
    rid = resource_id or new_id()
    context = WriteContext(
        writer, "create", rtype, rid, None, resource, warnings=warnings, intent=intent
    )
    resource, decided = _checked(context)
    fresh = assigned or resource_id is None
    version = writer.write(
        rtype, rid, resource, method="create", previous=None, note=note, new_id=fresh,
        decided=decided,
    )  # fmt: skip
    return WriteResult(version, 201, tuple(context.warnings))


def update(
    writer: VersionWriter,
    resource_type: str,
    resource_id: str,
    body: Any,
    *,
    if_match: int | None = None,
    intent: str | None = None,
    note: WriteNote | None = None,
) -> WriteResult:
    """Update, or create with the client's id when it does not exist (update-as-create).
    `intent` names the operation making the write, for the write rules (`WriteContext`);
    `note` what its audit record says the write was made for, and why."""
    resource, warnings = checked_resource(body, resource_type)
    if resource.get("id") != resource_id:
        message = (
            f"The resource id ({resource.get('id')!r}) must equal the id in the URL ({resource_id})"
        )
        raise FhirError(400, error("invalid", message, f"{resource_type}.id"))
    current = writer.current(resource_type, resource_id)
    check_version(current, if_match)
    method = "create" if current is None or current.deleted else "update"
    context = WriteContext(
        writer, method, resource_type, resource_id, current, resource, if_match, warnings, intent
    )
    resource, decided = _checked(context)
    version = writer.write(
        resource_type, resource_id, resource, method=method, previous=current, note=note,
        before=lambda: context.before, decided=decided,
    )  # fmt: skip
    return WriteResult(version, 201 if method == "create" else 200, tuple(context.warnings))


def conditional_update(
    writer: VersionWriter,
    resource_type: str,
    criteria: str,
    body: Any,
    *,
    if_match: int | None = None,
) -> WriteResult:
    """PUT Type?criteria: no match creates, one match updates, several is 412 (R4 §3.1.0.4.3)."""
    resource = require_resource(body, resource_type)
    matches = find_matches(
        writer.connection, resource_type, criteria, guard=writer.guard, interaction="update"
    )
    if len(matches) > 1:
        raise FhirError(
            412, error("multiple-matches", f"Conditional update matched several: {criteria}")
        )
    if not matches:
        resource_id = resource.get("id") or new_id()
        return update(
            writer, resource_type, resource_id, {**resource, "id": resource_id}, if_match=if_match
        )
    if resource.get("id") not in (None, matches[0]):
        raise FhirError(400, error("invalid", "The resource id does not match the resource found"))
    return update(
        writer, resource_type, matches[0], {**resource, "id": matches[0]}, if_match=if_match
    )


def patch(
    writer: VersionWriter,
    resource_type: str,
    resource_id: str,
    apply: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    if_match: int | None = None,
) -> WriteResult:
    """Apply a patch function to the current version and store the result as the next one."""
    current = writer.current(resource_type, resource_id)
    _require_live(writer, current, resource_type, resource_id)
    assert current is not None
    check_version(current, if_match)
    patched = apply(current.resource())
    resource, warnings = checked_resource(patched, resource_type)
    if resource.get("id") != resource_id:
        raise FhirError(422, error("processing", "A patch may not change the resource id"))
    context = WriteContext(
        writer, "patch", resource_type, resource_id, current, resource, if_match, warnings
    )
    resource, decided = _checked(context)
    version = writer.write(
        resource_type, resource_id, resource, method="patch", previous=current,
        before=lambda: context.before, decided=decided,
    )  # fmt: skip
    return WriteResult(version, 200, tuple(context.warnings))


def delete(
    writer: VersionWriter, resource_type: str, resource_id: str, *, if_match: int | None = None
) -> WriteResult | None:
    """Logical delete: a new version marks the resource deleted; None if already deleted."""
    current = writer.current(resource_type, resource_id)
    if current is None:
        raise FhirError(404, error("not-found", f"{resource_type}/{resource_id} is not known"))
    check_version(current, if_match)
    if current.deleted:
        _check_gone(writer, current, "delete")
        return None
    context = WriteContext(writer, "delete", resource_type, resource_id, current, None)
    apply_write_rules(context)
    version = writer.write(
        resource_type, resource_id, None, method="delete", previous=current,
        before=lambda: context.before,
    )  # fmt: skip
    return WriteResult(version, 204)


def conditional_delete(
    writer: VersionWriter, resource_type: str, criteria: str
) -> WriteResult | None:
    """DELETE Type?criteria: one match is deleted; several is 412 (single-delete server)."""
    matches = find_matches(
        writer.connection, resource_type, criteria, guard=writer.guard, interaction="delete"
    )
    if len(matches) > 1:
        raise FhirError(
            412, error("multiple-matches", f"Conditional delete matched several: {criteria}")
        )
    if not matches:
        return None
    return delete(writer, resource_type, matches[0])


def _checked(context: WriteContext) -> tuple[dict[str, Any], bool]:
    """The resource to store once the services' write rules have checked (and amended) it,
    and whether the guard has decided on this write as it will be stored (the store then
    does not ask again: `VersionWriter.write(decided=…)`).

    When a rule governs the write, the guard is asked first, so a caller the policy refuses
    hears 403 and never a rule's verdict on content it may not write. A rule that amended
    the resource (a new dict, or other JSON) has the guard decide on the amended one again;
    one that did not leaves the first decisions standing. Without a rule only the store asks.
    """
    rules = governing_rules(context)
    guard = context.writer.guard
    if not rules or not guard.inspects_resources:
        apply_write_rules(context, rules)
        assert context.new is not None
        return context.new, False
    given = context.new
    guard.check_write(context.method, context.before, given)
    as_decided = json_codec.dump(given)
    apply_write_rules(context, rules)
    new = context.new
    assert new is not None
    if new is not given or json_codec.dump(new) != as_decided:
        guard.check_write(context.method, None, new)  # amended: its content decided again
    return new, True


def _check_gone(writer: VersionWriter, deletion: StoredVersion, method: str) -> None:
    """A write on a deleted resource is judged on the content it deleted: the caller gets
    the answer it would have had while the resource was there (so 403, not 204 or 410, for
    a resource it may not write)."""
    if not writer.guard.inspects_resources:
        return
    rtype, rid = deletion.resource_type, deletion.resource_id
    deleted = read_live_before(writer.connection, rtype, rid, deletion.version_id)
    if deleted is None:
        raise FhirError(404, error("not-found", f"{rtype}/{rid} is not known"))
    writer.guard.check_write(method, deleted.resource(), None)


def _require_live(
    writer: VersionWriter, current: StoredVersion | None, resource_type: str, resource_id: str
) -> None:
    if current is None:
        raise FhirError(404, error("not-found", f"{resource_type}/{resource_id} is not known"))
    if current.deleted:
        _check_gone(writer, current, "patch")
        raise FhirError(410, error("deleted", f"{resource_type}/{resource_id} was deleted"))
