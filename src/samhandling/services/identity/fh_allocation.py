"""`POST Patient/$allocate-fh`: issue a felles hjelpenummer and create the Patient with it.

Input (Parameters): `reason` (string, required: why the patient cannot be identified, e.g.
"bevisstløs pasient uten legitimasjon"), `patient` (Patient, optional: what is known so far
— gender, an estimated birth year, a description). Output (201, Parameters): `fh-number`
(Identifier), `patient` (the created Patient), `reason`, `requested-by` (who asked, from the
access token). The number is drawn at random (first digit 8 or 9, valid check digits), is
reserved in the ledger in the same transaction that creates the Patient, and is never
issued again (see `fh_ledger`).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

from samhandling.fhir.instants import format_instant, now_us
from samhandling.fhir.outcome import FhirError, error
from samhandling.identifiers.identifier_systems import FHN_SYSTEM
from samhandling.identifiers.person_number_generation import generate_fh_number
from samhandling.interactions import crud
from samhandling.interactions.operations import Operation, OperationContext, OperationResult
from samhandling.services.identity.common import (
    identifier_key,
    requester,
)
from samhandling.store.fh_ledger import LedgerEntry, reserve
from samhandling.store.identity_queries import ids_by_identifier
from samhandling.store.records import StoredVersion
from samhandling.store.version_writer import VersionWriter

MAX_ATTEMPTS = 32
"""Draws before giving up; with ~10^8 numbers a collision is already rare on the first."""

ASSIGNER = "Felles hjelpenummer (samhandling)"
_SYSTEM_RANDOM = random.SystemRandom()


@dataclass(frozen=True)
class Allocation:
    """An issued number and the Patient created with it."""

    entry: LedgerEntry
    version: StoredVersion


def allocate_number(writer: VersionWriter, rng: random.Random, entry: LedgerEntry) -> LedgerEntry:
    """Draw numbers from `rng` until the ledger accepts one; the accepted ledger entry.

    A number already carried by a Patient written without the ledger (an import) is skipped
    too. Raises 503 when no free number was found in MAX_ATTEMPTS draws.
    """
    for _ in range(MAX_ATTEMPTS):
        number = generate_fh_number(rng)
        if ids_by_identifier(writer.connection, "Patient", FHN_SYSTEM, number):
            continue
        candidate = LedgerEntry(
            number, entry.patient_id, now_us(), entry.reason, entry.requested_by
        )
        if reserve(writer.connection, candidate):
            return candidate
    raise FhirError(503, error("transient", "No free felles hjelpenummer was found; retry"))


def allocate_patient(
    writer: VersionWriter,
    *,
    reason: str,
    requested_by: dict[str, Any],
    patient: dict[str, Any] | None = None,
    rng: random.Random | None = None,
) -> Allocation:
    """Issue a number and create the Patient carrying it, in the writer's transaction."""
    body = _new_patient(patient)
    patient_id = crud.new_id()
    wanted = LedgerEntry("", patient_id, 0, reason, requested_by)
    entry = allocate_number(writer, rng or _SYSTEM_RANDOM, wanted)
    body["identifier"] = [*body.get("identifier", []), fh_identifier(entry)]
    result = crud.create(writer, body, resource_type="Patient", resource_id=patient_id)
    return Allocation(entry, result.version)


def fh_identifier(entry: LedgerEntry) -> dict[str, Any]:
    """The Patient.identifier of an issued number."""
    return {
        "system": FHN_SYSTEM,
        "value": entry.number,
        "period": {"start": format_instant(entry.allocated_at_us)},
        "assigner": {"display": ASSIGNER},
    }


def _new_patient(patient: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(patient) if patient else {"resourceType": "Patient"}
    body.pop("id", None)
    body.pop("meta", None)
    for identifier in body.get("identifier") or []:
        key = identifier_key(identifier)
        if key is not None and key[0] == FHN_SYSTEM:
            message = "A felles hjelpenummer is issued by this operation, not sent to it"
            raise FhirError(422, error("business-rule", message, "Patient.identifier"))
    body.setdefault("active", True)
    return body


def allocate_fh(context: OperationContext) -> OperationResult:
    """The operation handler (see the module doc)."""
    reason = context.text("reason")
    if reason is None:
        message = "Parameter reason is required: why the patient cannot be identified"
        raise FhirError(400, error("required", message, "reason"))
    patient = context.resource("patient", "Patient")
    who = requester(context.guard)
    allocation = allocate_patient(context.writer, reason=reason, requested_by=who, patient=patient)
    version = allocation.version
    location = f"{context.base_url}/Patient/{version.resource_id}/_history/{version.version_id}"
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "fh-number", "valueIdentifier": fh_identifier(allocation.entry)},
            {"name": "patient", "resource": version.resource()},
            {"name": "reason", "valueString": reason},
            {"name": "requested-by", "part": _requester_parts(who)},
        ],
    }
    return OperationResult(body, 201, {"Location": location, "ETag": version.etag})


def _requester_parts(who: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": key, "valueString": str(value)} for key, value in sorted(who.items())]


OPERATION = Operation(
    "allocate-fh",
    "type",
    "Patient",
    allocate_fh,
    permission="c",
    writes=True,
    description="Allocate a felles hjelpenummer (FH-number) to a patient who cannot be identified.",
    parameters=(
        ("reason", "in", 1, "1", "string"),
        ("patient", "in", 0, "1", "Patient"),
        ("fh-number", "out", 1, "1", "Identifier"),
        ("patient", "out", 1, "1", "Patient"),
        ("reason", "out", 1, "1", "string"),
        ("requested-by", "out", 1, "1", "BackboneElement"),
    ),
)
