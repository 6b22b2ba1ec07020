"""E-prescriptions and dispensing (e-resept): the rules on `MedicationRequest`s and the
`MedicationDispense`s pharmacies record against them (docs/MEDICATION_LIST.md).

* A prescription (`MedicationRequest`, intent order) names its medicine (ATC coding or
  text). A renewal names the prescription it renews (`priorPrescription`): the same
  patient's, and it carries the chain's identifiers — the chain head carries its list
  entry's `urn:uuid:` identifier, so every renewal of it is known as that entry's — which
  the server copies onto a renewal that lacks them.
* Dispensing (`MedicationDispense`) is recorded against exactly one prescription
  (`authorizingPrescription`) that exists, is the same patient's and active, within its
  validity period (`dispenseRequest.validityPeriod`, a date being its whole Norwegian day,
  judged at the service's clock), with a dispensing left (`numberOfRepeatsAllowed` + 1 in
  all). Two pharmacies recording the
  last one at once take turns (a lock per prescription): one is refused (409).
* Only pharmacies record dispensing: the access rule `PharmaciesDispense` refuses any
  other person (systems, e.g. a pharmacy's integration, may). Trusted internal loaders
  (imports of history) and systems are not held to the dispensing checks: they record
  what a pharmacy dispensed, also against prescriptions this server does not hold.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from samhandling.auth.access_rules import NOTHING, AccessRequest, Refusal
from samhandling.fhir.fhir_dates import date_or_none
from samhandling.fhir.outcome import FhirError, error
from samhandling.interactions.search import search
from samhandling.interactions.write_rules import WriteContext
from samhandling.services.medication_list import clock
from samhandling.store.advisory_locks import lock_key
from samhandling.store.reader import read_current

PHARMACIST_AUTHORISATIONS = frozenset({"FA1", "FA2"})
ATC = "http://www.whocc.no/atc"
COUNTED = ("completed", "in-progress")


class PrescriptionRules:
    """`WriteRule` for e-prescriptions: a named medicine; a renewal's chain."""

    resource_types = frozenset({"MedicationRequest"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return context.resource_type == "MedicationRequest" and context.new is not None

    def check(self, context: WriteContext) -> None:
        new = context.new
        assert new is not None
        concept = new.get("medicationCodeableConcept") or {}
        named = concept.get("text") or any(
            c.get("system") == ATC and c.get("code") for c in concept.get("coding") or []
        )
        if not named and "medicationReference" not in new:
            message = "A prescription names its medicine (an ATC coding or a text)"
            raise FhirError(422, error("required", message, "MedicationRequest.medication[x]"))
        prior = _reference_id(new.get("priorPrescription"), "MedicationRequest")
        if prior is not None:
            _continue_chain(context, new, prior)


def _continue_chain(context: WriteContext, new: dict[str, Any], prior_id: str) -> None:
    prior = _current(context, "MedicationRequest", prior_id)
    where = "MedicationRequest.priorPrescription"
    if prior is None:
        raise FhirError(422, error("invalid", f"MedicationRequest/{prior_id} is not known", where))
    if _patient(prior) != _patient(new):
        message = "A renewal renews a prescription of the same patient"
        raise FhirError(422, error("business-rule", message, where))
    known = {(i.get("system"), i.get("value")) for i in new.get("identifier") or []}
    for identifier in prior.get("identifier") or []:
        if (identifier.get("system"), identifier.get("value")) not in known:
            new.setdefault("identifier", []).append(copy.deepcopy(identifier))


class DispensingRules:
    """`WriteRule` for `MedicationDispense`: against a valid prescription with one left."""

    resource_types = frozenset({"MedicationDispense"})  # `applies` accepts no other

    def applies(self, context: WriteContext) -> bool:
        return context.resource_type == "MedicationDispense" and context.new is not None

    def check(self, context: WriteContext) -> None:
        principal = context.writer.guard.principal
        if principal is None or principal.kind == "system":
            # Trusted loaders (imports, the demo) and systems (a pharmacy's integration, a
            # migration) send what was dispensed, also against prescriptions held elsewhere.
            return
        new = context.new
        assert new is not None
        where = "MedicationDispense.authorizingPrescription"
        authorising = new.get("authorizingPrescription") or []
        ids = [_reference_id(r, "MedicationRequest") for r in authorising]
        if len(ids) != 1 or ids[0] is None:
            message = "Dispensing is recorded against exactly one prescription (MedicationRequest)"
            raise FhirError(422, error("required", message, where))
        prescription_id = ids[0]
        lock_key(context.writer.connection, f"dispensing:{prescription_id}")
        prescription = _current(context, "MedicationRequest", prescription_id)
        problem = _prescription_problem(prescription, new, clock.now())
        if problem:
            raise FhirError(422, error("business-rule", problem, where))
        assert prescription is not None
        if context.method == "create" and _dispensings_left(context, prescription) <= 0:
            message = f"MedicationRequest/{prescription_id} has no dispensing left"
            raise FhirError(409, error("conflict", message, where))


def _prescription_problem(
    prescription: dict[str, Any] | None, dispense: dict[str, Any], now: datetime
) -> str | None:
    if prescription is None:
        return "the prescription is not known"
    if _patient(prescription) != _patient(dispense):
        return "the prescription is another patient's"
    if prescription.get("status") != "active":
        return f"the prescription is {prescription.get('status') or 'without status'}, not active"
    period = (prescription.get("dispenseRequest") or {}).get("validityPeriod") or {}
    start, end = date_or_none(period.get("start")), date_or_none(period.get("end"))
    if (start and now < start.low) or (end and now >= end.high):
        return "the prescription is outside its validity period"
    return None


def _dispensings_left(context: WriteContext, prescription: dict[str, Any]) -> int:
    repeats = (prescription.get("dispenseRequest") or {}).get("numberOfRepeatsAllowed", 0)
    allowed = 1 + (repeats if isinstance(repeats, int) and repeats >= 0 else 0)
    items = [
        ("prescription", f"MedicationRequest/{prescription['id']}"),
        ("status", ",".join(COUNTED)),
        ("_summary", "count"),
    ]
    found = search(context.writer.connection, "MedicationDispense", items, "")
    return allowed - int(found.get("total", 0))


class PharmaciesDispense:
    """`AccessRule`: only pharmacists (and systems) record dispensing."""

    reads = NOTHING  # judges writes only

    def refusal(self, request: AccessRequest) -> Refusal | None:
        if not request.writes or request.resource_type != "MedicationDispense":
            return None
        principal = request.principal
        if principal.kind == "system":
            return None
        attestation = principal.attestation
        if attestation and attestation.authorization_code in PHARMACIST_AUTHORISATIONS:
            return None
        return "only pharmacies record dispensing", "medication-list.dispensing"


def _current(context: WriteContext, rtype: str, rid: str) -> dict[str, Any] | None:
    found = read_current(context.writer.connection, rtype, rid)
    return found.resource() if found is not None and not found.deleted else None


def _reference_id(reference: Any, rtype: str) -> str | None:
    text = str((reference or {}).get("reference") or "") if isinstance(reference, dict) else ""
    parts = text.split("/")
    if len(parts) in (2, 4) and parts[0] == rtype and parts[1]:
        return parts[1]
    return None


def _patient(resource: dict[str, Any]) -> str | None:
    return str((resource.get("subject") or {}).get("reference") or "") or None
