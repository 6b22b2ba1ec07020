"""The resource rows a search condition is about (``Scope``), and the patient compartments
that bound them: the caller's restriction (``within_restriction``) and a compartment search
(``in_compartment``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from samhandling.fhir.outcome import FhirError, error
from samhandling.search.restriction import SearchRestriction
from samhandling.store.schema import compartment

Condition = ColumnElement[bool]


@dataclass(frozen=True)
class Scope:
    """The resource rows a condition is about: a ``resource`` alias and, if single, the type."""

    row: Any
    resource_type: str | None  # None: several types, use the row's column
    #: rows a driver found (search/driver.py): the other criteria are checked row by row
    probed: bool = False

    @property
    def type_expr(self) -> Any:
        return self.resource_type if self.resource_type else self.row.c.resource_type

    @property
    def id_col(self) -> Any:
        return self.row.c.resource_id


def within_restriction(scope: Scope, restriction: SearchRestriction) -> list[Condition]:
    """Conditions limiting ``scope`` to the restriction's patient compartments."""
    patients = restriction.patient_ids
    if patients is None:
        return []
    ids = sorted(patients)
    member = exists().where(
        compartment.c.patient_id.in_(ids),
        compartment.c.resource_type == scope.type_expr,
        compartment.c.resource_id == scope.id_col,
    )
    if scope.resource_type == "Patient":
        return [scope.id_col.in_(ids)]
    if scope.resource_type is not None:
        return [member]
    is_patient = scope.row.c.resource_type == "Patient"
    return [or_(and_(is_patient, scope.id_col.in_(ids)), and_(not_(is_patient), member))]


def in_compartment(scope: Scope, compartment_type: str, compartment_id: str) -> Condition:
    """The condition of a compartment search: ``scope``'s rows in that compartment."""
    if compartment_type != "Patient":
        raise FhirError(400, error("not-supported", "Only Patient compartments are searched"))
    return exists().where(
        compartment.c.patient_id == compartment_id,
        compartment.c.resource_type == scope.type_expr,
        compartment.c.resource_id == scope.id_col,
    )
