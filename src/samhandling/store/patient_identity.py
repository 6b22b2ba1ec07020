"""The claims of Patients on national identity numbers (table `patient_identity`).

Maintained by the version writer in the transaction of every Patient version: a number
added to a Patient is claimed (a second active Patient with it is refused with 409 naming
the holder), a number removed, a Patient deleted or replaced by a merge releases its
claims. The primary key decides races between transactions: on PostgreSQL the second
insert of a number waits for the first transaction and then finds the row.

A number carried by several Patients before the table existed is *disputed* (row with no
holder): nobody may newly claim it, the Patients that carry it may still be written, and
once only one of them carries it (after `$merge`, a deletion or a correction) it is theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from samhandling.fhir import json_codec
from samhandling.fhir.outcome import FhirError, Issue
from samhandling.identifiers.patient_claims import Claim, identity_claims, mask_number
from samhandling.store.database import is_sqlite
from samhandling.store.schema import index_token, patient_identity, resource

PI = patient_identity.c


@dataclass(frozen=True)
class DuplicateNumber:
    """A number several active Patients carry."""

    system: str
    value: str
    patient_ids: tuple[str, ...]

    @property
    def masked(self) -> str:
        return mask_number(self.value)


def maintain_claims(
    connection: Connection,
    patient_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Bring the claims of `patient_id` in step with its new version `after` (None: deleted)."""
    wanted, carried = identity_claims(after), identity_claims(before)
    if wanted == carried:
        return  # the common case costs no statement (and no flush of the index buffer)
    held = set(claims_of(connection, patient_id)) if before is not None else set()
    for claim in sorted(held - wanted):
        _delete_claim(connection, claim)
    for claim in sorted(carried - wanted - held):
        _settle_disputed(connection, claim)
    for claim in sorted(wanted - held):
        _claim(connection, claim, patient_id, carried_before=claim in carried)


def claims_of(connection: Connection, patient_id: str) -> list[Claim]:
    """The numbers `patient_id` holds."""
    rows = connection.execute(select(PI.system, PI.value).where(PI.resource_id == patient_id)).all()
    return [(row.system, row.value) for row in rows]


def holders(connection: Connection, systems: Iterable[str], values: Iterable[str]) -> list[Any]:
    """Rows (system, value, resource_id) for these numbers under these systems."""
    wanted = sorted(set(values))
    if not wanted:
        return []
    stmt = select(PI.system, PI.value, PI.resource_id).where(
        PI.system.in_(sorted(set(systems))), PI.value.in_(wanted)
    )
    return list(connection.execute(stmt).all())


def duplicate_numbers(connection: Connection) -> list[DuplicateNumber]:
    """The disputed numbers (carried by several active Patients) and who carries them."""
    rows = connection.execute(
        select(PI.system, PI.value).where(PI.resource_id.is_(None)).order_by(PI.system, PI.value)
    ).all()
    found = []
    for row in rows:
        carriers = active_carriers(connection, (row.system, row.value))
        found.append(DuplicateNumber(row.system, row.value, tuple(carriers)))
    return found


def _claim(connection: Connection, claim: Claim, patient_id: str, *, carried_before: bool) -> None:
    if _insert_if_free(connection, claim, patient_id):
        return
    holder = _holder(connection, claim)
    if holder is not None and holder[0] == patient_id:
        return
    if holder is None:  # released meanwhile by a transaction that committed
        if _insert_if_free(connection, claim, patient_id):
            return
        holder = _holder(connection, claim)
    if holder is not None and holder[0] is None:
        others = [p for p in active_carriers(connection, claim) if p != patient_id]
        if not others:
            _set_holder(connection, claim, patient_id)
            return
        if carried_before:
            return  # a duplicate from before the table: its Patients stay writable
        raise _conflict(claim, others)
    raise _conflict(claim, [holder[0]] if holder and holder[0] else [])


def _insert_if_free(connection: Connection, claim: Claim, patient_id: str) -> bool:
    """Insert the claim; False when the number already has a row (nothing written)."""
    dialect_insert = sqlite.insert if is_sqlite(connection) else postgresql.insert
    stmt = (
        dialect_insert(patient_identity)
        .values(system=claim[0], value=claim[1], resource_id=patient_id)
        .on_conflict_do_nothing(index_elements=["system", "value"])
        .returning(PI.resource_id)
    )
    return connection.execute(stmt).first() is not None


def _holder(connection: Connection, claim: Claim) -> tuple[str | None] | None:
    row = connection.execute(
        select(PI.resource_id).where(PI.system == claim[0], PI.value == claim[1])
    ).first()
    return None if row is None else (row.resource_id,)


def _set_holder(connection: Connection, claim: Claim, patient_id: str | None) -> None:
    connection.execute(
        update(patient_identity)
        .where(PI.system == claim[0], PI.value == claim[1])
        .values(resource_id=patient_id)
    )


def _delete_claim(connection: Connection, claim: Claim) -> None:
    connection.execute(delete(patient_identity).where(PI.system == claim[0], PI.value == claim[1]))


def _settle_disputed(connection: Connection, claim: Claim) -> None:
    """A disputed number one of its carriers gave up: the last carrier left holds it."""
    holder = _holder(connection, claim)
    if holder is None or holder[0] is not None:
        return
    carriers = active_carriers(connection, claim)
    if len(carriers) == 1:
        _set_holder(connection, claim, carriers[0])
    elif not carriers:
        _delete_claim(connection, claim)


def active_carriers(connection: Connection, claim: Claim) -> list[str]:
    """Ids of the current, active (not deleted, not replaced) Patients carrying a number."""
    t = index_token.c
    rows = connection.execute(
        select(resource.c.resource_id, resource.c.content)
        .join(
            index_token,
            (t.resource_type == resource.c.resource_type)
            & (t.resource_id == resource.c.resource_id),
        )
        .where(
            t.resource_type == "Patient",
            t.param == "identifier",
            t.system == claim[0],
            t.code == claim[1],
            resource.c.deleted.is_(False),
        )
        .order_by(resource.c.resource_id)
    ).all()
    found = {
        row.resource_id
        for row in rows
        if claim in identity_claims(json_codec.parse(row.content) if row.content else None)
    }
    return sorted(found)


def _conflict(claim: Claim, holders_: list[str]) -> FhirError:
    named = ", ".join(f"Patient/{p}" for p in holders_) or "another Patient"
    message = (
        f"The identifier {claim[0]}|{mask_number(claim[1])} already belongs to {named}: "
        "one person has one record (use that Patient, a conditional create "
        "If-None-Exist: identifier=system|value, or Patient/$merge)"
    )
    return FhirError(409, Issue("error", "duplicate", message, ("Patient.identifier",)))
