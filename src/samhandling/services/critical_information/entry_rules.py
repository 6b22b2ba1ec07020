"""The write rules of critical information (docs/CRITICAL_INFORMATION.md, "Rules on write").

* who may write is the policy's decision (`writers`, the service's access rule);
* an update names the current version (If-Match or `meta.versionId`), else 412 (trusted
  internal loaders, which replay their own data, are exempt);
* category and code (an implant's device type) never change; an entry stays critical
  information (its profile cannot be dropped);
* removal is `entered-in-error` with a reason; DELETE is refused (405); an entry entered in
  error is final;
* the server stamps who registered and who last updated the entry; the last confirmation
  is kept as it was, except in a write made by `$confirm` (intent "confirm"), which
  changes nothing else and moves it;
* an entry entered in error cannot be confirmed.
"""

from __future__ import annotations

from typing import Any

from samhandling.fhir.compartment import patient_compartment_ids
from samhandling.fhir.entry_status import is_entered_in_error
from samhandling.fhir.instants import format_instant, now_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.identifiers.person_number_consistency import demographic_contradictions
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.critical_information import stamps
from samhandling.services.critical_information.confirm import CONFIRM
from samhandling.services.critical_information.devices import implant_issues
from samhandling.services.critical_information.kinds import (
    KIND_BY_TYPE,
    Kind,
    identity_of,
    kind_of,
)
from samhandling.store.reader import read_current


class CriticalInformationRule:
    """`interactions.write_rules.WriteRule` for the five kinds of critical information."""

    resource_types = frozenset(KIND_BY_TYPE)  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        if context.resource_type not in KIND_BY_TYPE:
            return False
        return kind_of(context.before) is not None or kind_of(context.new) is not None

    def check(self, context: WriteContext) -> None:
        kind = kind_of(context.before) or kind_of(context.new)
        assert kind is not None
        if context.method == "delete":
            message = (
                f"Critical information is never deleted: set the {kind.status_parameter} "
                "to entered-in-error with a reason (extension kj-entered-in-error-reason)"
            )
            raise FhirError(405, error("not-supported", message))
        principal = context.writer.guard.principal
        new = context.new
        assert new is not None
        before = context.before
        if before is not None:
            if principal is not None:  # trusted loaders (demo, import) replay their own data
                _require_current_version(context, new)
            if context.intent == CONFIRM:
                _check_confirmation(before, new)
            _check_update(kind, before, new)
        _check_entry(kind, new)
        if not is_entered_in_error(new):
            _check_subject_identity(context, new)
        if principal is not None:
            _stamp_entry(context, new, before, stamps.Actor.of(principal))


def _stamp_entry(
    context: WriteContext, new: dict[str, Any], before: dict[str, Any] | None, actor: stamps.Actor
) -> None:
    """Who registered, last updated and (for `$confirm`: only that) last confirmed it."""
    at = format_instant(now_us())
    if context.intent == CONFIRM and before is not None:
        # `$confirm` writes the current content (its stamps included): only this one moves
        confirmed = stamps.stamp(stamps.LAST_CONFIRMED, actor, at)
        stamps.replace_extension(new, stamps.LAST_CONFIRMED, [confirmed])
        return
    _stamp(new, before, stamps.stamp(stamps.LAST_UPDATED, actor, at))
    if before is None:
        registered = stamps.stamp(stamps.REGISTERED, actor, at)
        stamps.replace_extension(new, stamps.REGISTERED, [registered])


def _check_confirmation(before: dict[str, Any], new: dict[str, Any]) -> None:
    """A confirmation keeps the content as it is (only the server's stamps move)."""
    if is_entered_in_error(before):
        message = "An entry entered in error cannot be confirmed"
        raise FhirError(422, error("business-rule", message))
    if _without_stamps(before) != _without_stamps(new):
        raise FhirError(422, error("business-rule", "A confirmation cannot change the entry"))


def _without_stamps(resource: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in resource.items() if k != "meta"}
    kept["extension"] = [
        e for e in resource.get("extension", []) if e.get("url") not in stamps.STAMPS
    ]
    return kept


def _check_update(kind: Kind, before: dict[str, Any], new: dict[str, Any]) -> None:
    if is_entered_in_error(before):
        raise FhirError(
            422, error("business-rule", "An entry entered in error cannot be changed again")
        )
    if kind_of(new) is not kind:
        message = f"The entry must keep its profile {kind.profile}: it stays critical information"
        raise FhirError(422, error("business-rule", message, "meta.profile"))
    old_identity, new_identity = identity_of(kind, before), identity_of(kind, new)
    for element, value in old_identity.items():
        if new_identity.get(element) != value:
            message = (
                f"{kind.resource_type}.{element} cannot change on update: register a new "
                "entry and mark this one entered-in-error instead"
            )
            raise FhirError(422, error("business-rule", message, f"{kind.resource_type}.{element}"))


def _require_current_version(context: WriteContext, new: dict[str, Any]) -> None:
    """An update must name the version it replaces (If-Match or meta.versionId).

    A patch names it by If-Match only: the patched body carries the current versionId
    whatever the client knew.
    """
    previous = context.previous
    assert previous is not None
    named = context.if_match
    if named is None and context.method == "update":
        text = (new.get("meta") or {}).get("versionId")
        named = int(text) if isinstance(text, str) and (text.isascii() and text.isdigit()) else None
    if named == previous.version_id:
        return
    current = f"the current version is {previous.version_id} ({previous.etag})"
    if named is None:
        message = f"An update of critical information must name the version it replaces: {current}"
    else:
        message = f"Version {named} is not the current version of this entry: {current}"
    raise FhirError(412, error("conflict", message), headers={"ETag": previous.etag})


def _check_entry(kind: Kind, new: dict[str, Any]) -> None:
    if is_entered_in_error(new) and not stamps.extensions(new, stamps.ENTERED_IN_ERROR_REASON):
        message = "An entry marked entered-in-error needs a reason (kj-entered-in-error-reason)"
        raise FhirError(422, error("required", message, f"{kind.resource_type}.extension"))
    if kind.resource_type == "DeviceUseStatement":
        problems = implant_issues(new)
        if problems:
            raise FhirError(422, problems)


def _check_subject_identity(context: WriteContext, new: dict[str, Any]) -> None:
    """Critical information must reach the right person: a subject Patient whose national
    number contradicts its birthDate or gender is a likely mix-up, and refused (422)."""
    for patient_id in sorted(patient_compartment_ids(new)):
        current = read_current(context.writer.connection, "Patient", patient_id)
        if current is None or current.deleted:
            continue
        problems = demographic_contradictions(current.resource())
        if problems:
            issues = [
                error("business-rule", f"Patient/{patient_id}: {p.diagnostics}", *p.expression)
                for p in problems
            ]
            raise FhirError(422, issues)


def _stamp(new: dict[str, Any], before: dict[str, Any] | None, updated: dict[str, Any]) -> None:
    """Server stamps replace whatever the client sent; earlier stamps are carried over."""
    for url in (stamps.REGISTERED, stamps.LAST_CONFIRMED):
        kept = stamps.extensions(before, url) if before is not None else []
        stamps.replace_extension(new, url, kept)
    stamps.replace_extension(new, stamps.LAST_UPDATED, [updated])
