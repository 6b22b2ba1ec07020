"""The medication list's write rule and access rules (docs/MEDICATION_LIST.md, "Rules").

Write rule (`ListWrites`): the list and its entries change only through the service's
operations (`$medication-list-update`, `-pause`, `-resume`, `$reconcile`), so no plain
PUT, PATCH, DELETE or transaction entry can bypass the guard. Trusted internal loaders
(no principal) and an integration system's first registration (a create by a `system`
caller: migrating lists into the service) are let through; every entry is still checked
(`kinds.entry_issues`) and its subject never changes.

Access rules, applied by the policy to every write of the List or an entry:

* `PausedList`: while the list is paused (extension `pll-paused`) only the pausing
  organisation writes it; everybody else is refused with the pause's reason and end;
* `PharmacistsReadOnly`: a pharmacist (authorisation FA1/FA2 in the attestation) reads the
  list and the drug reactions but never changes the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from samhandling.auth.access_rules import NOTHING, AccessRequest, Refusal
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.medication_list.kinds import entry_issues, entry_uuid
from samhandling.services.medication_list.listing import (
    PAUSED,
    extension,
    is_list_entry,
    is_medication_list,
    list_id,
    part,
)

INTENTS = frozenset({"medication-list-update", "medication-list-pause", "reconcile"})
PHARMACIST_AUTHORISATIONS = frozenset({"FA1", "FA2"})


def governs(resource: dict[str, Any] | None) -> bool:
    """A medication list or one of its entries."""
    return is_medication_list(resource) or is_list_entry(resource)


class ListWrites:
    """`WriteRule`: the list changes only through its operations; entries are checked."""

    resource_types = frozenset({"List", "MedicationStatement"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        if context.resource_type not in ("List", "MedicationStatement"):
            return False
        return governs(context.before) or governs(context.new)

    def check(self, context: WriteContext) -> None:
        principal = context.writer.guard.principal
        plain_create = (
            context.method == "create" and principal is not None and principal.kind == "system"
        )
        if principal is not None and context.intent not in INTENTS and not plain_create:
            message = (
                "The medication list changes only through Patient/{id}/$medication-list-update "
                "(based on the current version, accounting for every entry)"
            )
            raise FhirError(
                409 if context.method != "delete" else 405, error("business-rule", message)
            )
        if context.new is not None:
            _check_content(context, context.new)


def _check_content(context: WriteContext, new: dict[str, Any]) -> None:
    """One list per patient at its own id; an entry at its UUID, for one patient for good."""
    rtype = context.resource_type
    subject = str((new.get("subject") or {}).get("reference", ""))
    before_subject = ((context.before or {}).get("subject") or {}).get("reference")
    if context.before is not None and before_subject != subject:
        message = "The patient of the medication list or an entry never changes"
        raise FhirError(422, error("business-rule", message, f"{rtype}.subject"))
    patient_id = subject.removeprefix("Patient/")
    if rtype == "List":
        if not subject.startswith("Patient/") or context.resource_id != list_id(patient_id):
            message = f"A patient has one medication list, List/{list_id(patient_id)}"
            raise FhirError(422, error("business-rule", message, "List.id"))
        return
    issues = entry_issues(new, patient_id, "MedicationStatement")
    if not issues and entry_uuid(new) != context.resource_id:
        message = "An entry's id is its UUID (the urn:uuid: identifier)"
        issues.append(error("business-rule", message, "MedicationStatement.id"))
    if issues:
        raise FhirError(422, issues)


@dataclass(frozen=True)
class PausedList:
    """`AccessRule`: a paused list takes writes only from the organisation that paused it."""

    reads = NOTHING  # judges writes only

    def refusal(self, request: AccessRequest) -> Refusal | None:
        if not request.writes or not is_medication_list(request.resource):
            return None
        paused = extension(request.resource, PAUSED)
        if paused is None:
            return None
        organization = part(paused, "organization")
        owner = organization.get("value") if isinstance(organization, dict) else None
        if owner and owner == request.principal.organisation.legal_entity:
            return None
        reason = part(paused, "reason") or "no reason given"
        until = part(paused, "expectedEnd") or "not given"
        by = part(paused, "organizationName") or owner or "another organisation"
        message = f"the medication list is paused by {by} ({reason}; expected end {until})"
        return message, "medication-list.paused"


@dataclass(frozen=True)
class PharmacistsReadOnly:
    """`AccessRule`: pharmacists never change the medication list."""

    reads = NOTHING  # judges writes only

    def refusal(self, request: AccessRequest) -> Refusal | None:
        if not request.writes or not governs(request.resource):
            return None
        attestation = request.principal.attestation
        if attestation and attestation.authorization_code in PHARMACIST_AUTHORISATIONS:
            return (
                "pharmacists read the medication list but do not change it",
                "medication-list.pharmacist",
            )
        return None
